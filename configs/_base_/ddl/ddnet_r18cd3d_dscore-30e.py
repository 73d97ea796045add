# Training recipe of the 3D DDNet (paper Sec. 3.2, Eq. 5-6): MSE regression of
# the D-scores the hook writes, 30 epochs of SGD; a config adds data and hook.
_base_ = [
    'mmaction::_base_/default_runtime.py',
    '../models/ddnet_r18cd3d.py',
    './clip_views.py',
    './discriminability_hook.py',
]
custom_imports = dict(imports=['mmddl'], allow_failed_imports=False)

model = _base_.ddnet_model

train_pipeline = [
    dict(type='SampleScoredClips', clip_len=_base_.ddnet_clip_len,
         frame_interval=_base_.ddnet_frame_interval, on_skipped='refetch'),
    dict(type='CheckedDecordDecode'),
    dict(type='Resize', scale=(-1, 128)),
    dict(type='RandomResizedCrop', area_range=(0.6, 1.0)),
    dict(type='Resize', scale=(_base_.ddnet_input['size'], ) * 2,
         keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', algorithm_keys=('gt_dscore', ))
]
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline))

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=30, eta_min=0, by_epoch=True,
         begin=0, end=30)
]
# EpochSeedHook re-seeds the RNGs from (seed, epoch) at every epoch: a run
# resumed after a kill ends with the uninterrupted run's weights, bit for
# bit (it needs a fixed seed and non-persistent loader workers).
default_hooks = dict(
    checkpoint=dict(interval=5, max_keep_ckpts=2), logger=dict(interval=100),
    epoch_seed=dict(type='EpochSeedHook'))
# a fixed seed: with seed=None every start (a resume too) draws a new one,
# and the data order and worker seeds follow it
randomness = dict(seed=0, deterministic=False)
