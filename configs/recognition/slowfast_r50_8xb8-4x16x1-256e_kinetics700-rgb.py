# SlowFast-R50 on Kinetics-700: the base recognizer M of the paper's Table 8.
# mmaction2 ships no Kinetics-700 SlowFast config; this one inherits its
# Kinetics-400 recipe and changes the data and the number of classes only.
# The test pipeline samples the paper's 30 candidate clips per video.
_base_ = [
    'mmaction::recognition/slowfast/'
    'slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb.py'
]
custom_imports = dict(imports=['mmddl'], allow_failed_imports=False)

dataset_type = 'VideoDataset'
data_root = 'data/kinetics700/videos_train'
data_root_val = 'data/kinetics700/videos_val'
ann_file_train = 'data/kinetics700/kinetics700_train_list_videos.txt'
ann_file_val = 'data/kinetics700/kinetics700_val_list_videos.txt'
clip_len, frame_interval, num_candidates = 32, 2, 30

model = dict(cls_head=dict(num_classes=700))

test_pipeline = [
    dict(type='CheckedDecordInit'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=num_candidates,
         test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='ThreeCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(dataset=dict(
    type=dataset_type, ann_file=ann_file_train,
    data_prefix=dict(video=data_root)))
val_dataloader = dict(dataset=dict(
    type=dataset_type, ann_file=ann_file_val,
    data_prefix=dict(video=data_root_val)))
test_dataloader = dict(dataset=dict(
    type=dataset_type, ann_file=ann_file_val,
    data_prefix=dict(video=data_root_val), pipeline=test_pipeline))
