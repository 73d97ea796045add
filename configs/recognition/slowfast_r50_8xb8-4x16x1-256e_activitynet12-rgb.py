# The same base recognizer on ActivityNet-1.2 (untrimmed; video-level labels
# from activity_net.v1-2.min.json, 100 leaf classes; videos v_<id>.mp4).
# 60 candidate clips per video at test time (the paper's Table 9).
_base_ = ['./slowfast_r50_8xb8-4x16x1-256e_kinetics700-rgb.py']

dataset_type = 'ActivityNetVideoDataset'
data_root = 'data/ActivityNet/videos'
ann_file = 'data/ActivityNet/activity_net.v1-2.min.json'

model = dict(cls_head=dict(num_classes=100))
train_dataloader = dict(dataset=dict(
    type=dataset_type, ann_file=ann_file, subset='training',
    data_prefix=dict(video=data_root)))
val_dataloader = dict(dataset=dict(
    type=dataset_type, ann_file=ann_file, subset='validation',
    data_prefix=dict(video=data_root)))
test_dataloader = dict(dataset=dict(
    type=dataset_type, ann_file=ann_file, subset='validation',
    data_prefix=dict(video=data_root), pipeline=[
        dict(type='CheckedDecordInit'),
        dict(type='SampleFrames', clip_len=32, frame_interval=2,
             num_clips=60, test_mode=True),
        dict(type='CheckedDecordDecode'),
        dict(type='Resize', scale=(-1, 256)),
        dict(type='ThreeCrop', crop_size=256),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs')
    ]))
