# 3D-ResNet-50 (I3D-style inflated ResNet-50) on Kinetics-700: a base
# recognizer M of the paper's Table 8. Inherits mmaction2's I3D Kinetics-400
# recipe; Kinetics-700 data, 700 classes, 30 candidate clips at test time.
_base_ = [
    'mmaction::recognition/i3d/'
    'i3d_imagenet-pretrained-r50_8xb8-32x2x1-100e_kinetics400-rgb.py'
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
