# Demo DDNet: configs/ddnet_slowfast_k700.py made small by overrides. The
# hook scores the 30 candidate clips (16 frames at 64x64) of every untrimmed
# training video with the demo base recognizer; the DDNet learns those
# D-scores from the same clips seen at 4 frames (stride 4) and 32x32, as
# DDLRecognizer feeds it at test time (ddnet_input below in the DDL config).
_base_ = ['../ddnet_slowfast_k700.py']

data_root = 'work_dirs/demo/data'
base_config = 'configs/demo/slowfast_tiny_synthetic-rgb.py'
base_checkpoint = 'work_dirs/demo/base_slowfast/epoch_15.pth'
base_clip_len, base_frame_interval, num_candidates = 16, 1, 30
ddnet_clip_len, ddnet_frame_interval, ddnet_size = 4, 4, 32

model = dict(cls_head=dict(dropout_ratio=0.0))

train_pipeline = [
    dict(type='CheckedDecordInit'),
    dict(type='SampleScoredClips', clip_len=ddnet_clip_len,
         frame_interval=ddnet_frame_interval),
    dict(type='CheckedDecordDecode'),
    dict(type='Resize', scale=(ddnet_size, ddnet_size), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', algorithm_keys=('gt_dscore', ))
]
candidate_pipeline = [
    dict(type='CheckedDecordInit'),
    dict(type='SampleFrames', clip_len=base_clip_len,
         frame_interval=base_frame_interval, num_clips=num_candidates,
         test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='CenterCrop', crop_size=64),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=True,
    dataset=dict(ann_file=f'{data_root}/train_list.txt',
                 data_prefix=dict(video=data_root), pipeline=train_pipeline))

custom_hooks = [
    dict(type='DiscriminabilityHook', base_config=base_config,
         base_checkpoint=base_checkpoint,
         candidate_pipeline=candidate_pipeline, batch_size=4,
         num_workers=2, metric='cosine')
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
