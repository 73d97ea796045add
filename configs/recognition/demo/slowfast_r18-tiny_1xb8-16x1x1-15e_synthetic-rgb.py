# Demo base recognizer: the Kinetics-700 SlowFast config made small (ResNet-18
# pathways with 24 + 3 base channels, 16-frame clips at 64x64), trained on the
# generated benchmark in work_dirs/demo/data.
_base_ = ['../slowfast_r50_8xb8-4x16x1-256e_kinetics700-rgb.py']

data_root = 'work_dirs/demo/data'
num_classes = 6
clip_len, frame_interval, num_candidates = 16, 1, 30

model = dict(
    backbone=dict(
        resample_rate=4, speed_ratio=4,
        slow_pathway=dict(depth=18, base_channels=24),
        fast_pathway=dict(depth=18, base_channels=3)),
    cls_head=dict(in_channels=24 * 8 + 3 * 8, num_classes=num_classes))

train_pipeline = [
    dict(type='CheckedDecordInit'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1),
    dict(type='CheckedDecordDecode'),
    # no Flip: the classes differ by motion direction
    dict(type='RandomResizedCrop', area_range=(0.7, 1.0)),
    dict(type='Resize', scale=(64, 64), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='CheckedDecordInit'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1, test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='CenterCrop', crop_size=64),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='CheckedDecordInit'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=num_candidates,
         test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='CenterCrop', crop_size=64),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    dataset=dict(ann_file=f'{data_root}/train_list.txt',
                 data_prefix=dict(video=data_root), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    dataset=dict(ann_file=f'{data_root}/val_list.txt',
                 data_prefix=dict(video=data_root), pipeline=val_pipeline))
test_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    dataset=dict(ann_file=f'{data_root}/val_list.txt',
                 data_prefix=dict(video=data_root), pipeline=test_pipeline))

train_cfg = dict(max_epochs=15, val_begin=1, val_interval=5)
optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=15, eta_min=0, by_epoch=True,
         begin=0, end=15)
]
default_hooks = dict(checkpoint=dict(interval=15, max_keep_ckpts=1),
                     logger=dict(interval=20))
auto_scale_lr = dict(enable=False)
