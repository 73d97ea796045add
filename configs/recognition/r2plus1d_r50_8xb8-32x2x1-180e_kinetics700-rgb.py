# R(2+1)D-R50 on Kinetics-700: a base recognizer M of the paper's Table 8.
# Inherits mmaction2's R(2+1)D-R34 Kinetics-400 recipe; depth 50 and the
# Kinetics-700 data are the only changes. 30 candidate clips at test time.
_base_ = [
    'mmaction::recognition/r2plus1d/'
    'r2plus1d_r34_8xb8-32x2x1-180e_kinetics400-rgb.py'
]
custom_imports = dict(imports=['mmddl'], allow_failed_imports=False)

dataset_type = 'VideoDataset'
data_root = 'data/kinetics700/videos_train'
data_root_val = 'data/kinetics700/videos_val'
ann_file_train = 'data/kinetics700/kinetics700_train_list_videos.txt'
ann_file_val = 'data/kinetics700/kinetics700_val_list_videos.txt'
clip_len, frame_interval, num_candidates = 32, 2, 30

model = dict(
    backbone=dict(depth=50),
    cls_head=dict(num_classes=700, in_channels=2048))

test_pipeline = [
    dict(type='CheckedDecordInit'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=num_candidates,
         test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='Resize', scale=(-1, 128)),
    dict(type='ThreeCrop', crop_size=128),
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
