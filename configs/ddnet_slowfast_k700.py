# Train a 3D DDNet (channel-reduced ResNet-18, widths 8-16-32-48) that
# regresses the D-scores of a frozen SlowFast-R50 Kinetics-700 recognizer.
#
#   python tools/train.py configs/ddnet_slowfast_k700.py \
#       --cfg-options custom_hooks.0.base_checkpoint=PATH/TO/slowfast.pth
#
# Before training, DiscriminabilityHook scores the 30 candidate clips of every
# training video with the base model (Eq. 2-4) and writes
# <work_dir>/dscore_table.npz; SampleScoredClips then trains on those clips.
# The DDNet sees each base clip (32 frames, interval 2) at 16 frames
# (interval 4, same span) and 112x112, as DDLRecognizer feeds it at test time.
_base_ = ['./recognition/slowfast_r50_8xb8-4x16x1-256e_kinetics700-rgb.py']
custom_imports = dict(imports=['mmddl'], allow_failed_imports=False)

base_config = '{{ fileDirname }}/recognition/' \
    'slowfast_r50_8xb8-4x16x1-256e_kinetics700-rgb.py'
base_checkpoint = 'checkpoints/slowfast_r50_kinetics700.pth'
base_clip_len, base_frame_interval, num_candidates = 32, 2, 30
ddnet_clip_len, ddnet_frame_interval, ddnet_size = 16, 4, 112

model = dict(
    _delete_=True,
    type='Recognizer3D',
    backbone=dict(type='DDNetResNet3d'),
    cls_head=dict(type='DDNetHead', in_channels=48, dropout_ratio=0.2),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW'))

train_pipeline = [
    dict(type='CheckedDecordInit'),
    dict(type='SampleScoredClips', clip_len=ddnet_clip_len,
         frame_interval=ddnet_frame_interval),
    dict(type='CheckedDecordDecode'),
    dict(type='Resize', scale=(-1, 128)),
    dict(type='RandomResizedCrop', area_range=(0.6, 1.0)),
    dict(type='Resize', scale=(ddnet_size, ddnet_size), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', algorithm_keys=('gt_dscore', ))
]
candidate_pipeline = [
    dict(type='CheckedDecordInit'),
    dict(type='SampleFrames', clip_len=base_clip_len,
         frame_interval=base_frame_interval, num_clips=num_candidates,
         test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(
    batch_size=32, dataset=dict(pipeline=train_pipeline))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None

custom_hooks = [
    dict(type='DiscriminabilityHook', base_config=base_config,
         base_checkpoint=base_checkpoint,
         candidate_pipeline=candidate_pipeline, batch_size=1,
         num_workers=4, metric='cosine')
]

train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=30)
optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=30, eta_min=0, by_epoch=True,
         begin=0, end=30)
]
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=2))
