# Demo DDNet: the SlowFast Kinetics-700 DDNet config made small. The hook
# scores 30 candidate clips (16 frames, 64x64) per training video with the
# demo base; the DDNet sees them at 4 frames (stride 4) and 32x32.
_base_ = ['../ddnet_r18cd3d_slowfast-r50-dscore-30e_kinetics700-rgb.py']

data_root = 'work_dirs/demo/data'
base_config = ('{{ fileDirname }}/'
               'slowfast_r18-tiny_1xb8-16x1x1-15e_synthetic-rgb.py')
base_checkpoint = 'work_dirs/demo/base_slowfast/epoch_15.pth'

model = dict(cls_head=dict(dropout_ratio=0.0))

train_pipeline = [
    dict(type='SampleScoredClips', clip_len=4, frame_interval=4,
         on_skipped='refetch'),
    dict(type='CheckedDecordDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', algorithm_keys=('gt_dscore', ))
]
# every scored clip of a held-out video as the DDNet sees it at test time
val_pipeline = [
    dict(type='SampleScoredClips', clip_len=4, frame_interval=4,
         sampling='all'),
    dict(type='CheckedDecordDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', algorithm_keys=('gt_dscore', ))
]
candidate_pipeline = [
    dict(type='CheckedDecordInit'),
    dict(type='SampleFrames', clip_len=16, frame_interval=1, num_clips=30,
         test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='CenterCrop', crop_size=64),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=False,
    dataset=dict(ann_file=f'{data_root}/train_list.txt',
                 data_prefix=dict(video=data_root), pipeline=train_pipeline))

val_dataloader = dict(batch_size=4, num_workers=2,
                      dataset=dict(pipeline=val_pipeline))
custom_hooks = [
    dict(
        _base_.discriminability_hook,
        base=dict(config=base_config, checkpoint=base_checkpoint),
        candidates=dict(
            _base_.discriminability_hook.candidates,
            pipeline=candidate_pipeline,
            batch_size=4,
            num_workers=2))
]

train_cfg = dict(max_epochs=20)
optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(type='AdamW', lr=3e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=20, eta_min=0, by_epoch=True,
         begin=0, end=20)
]
default_hooks = dict(checkpoint=dict(interval=20, max_keep_ckpts=1),
                     logger=dict(interval=20))
