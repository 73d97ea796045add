# Re-ID demo DDNet training: the MARS DDNet config with the demo's data
# (synthetic pedestrians in MARS format), 64x32 crops and a short schedule.
# The demo passes the base model's config / checkpoint to the hook with
#   --cfg-options custom_hooks.0.base.config=...
#                 custom_hooks.0.base.checkpoint=...
_base_ = [
    '../ddnet_r18cd_reid-r50-dscore-10e_mars.py',
    '../../_base_/demo/reid_settings.py',
]

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDScore', key='img_path'),
    dict(type='Resize', scale=_base_.demo_img_scale),
    # shifts of up to 1/16 of each side, as the MARS config
    dict(type='RandomCrop', crop_size=(_base_.demo_img_scale[1],
                                       _base_.demo_img_scale[0]),
         padding=(2, 4), padding_mode='reflect'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=('gt_dscore', )),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=_base_.demo_root + '/data/mars',
                 pipeline=train_pipeline))

val_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDScore', key='img_path'),
    dict(type='Resize', scale=_base_.demo_img_scale),
    dict(type='PackInputs', algorithm_keys=('gt_dscore', )),
]
val_dataloader = dict(
    batch_size=64, num_workers=0, dataset=dict(pipeline=val_pipeline))
custom_hooks = [
    dict(
        _base_.custom_hooks[0],
        base=dict(
            _base_.custom_hooks[0].base,
            config=('{{ fileDirname }}/'
                    'reid_r18-tiny_1xb64-ce-triplet-10e_synth-mars.py'),
            checkpoint=_base_.demo_root + '/base/epoch_10.pth'),
        candidates=dict(
            _base_.custom_hooks[0].candidates,
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='Resize', scale=_base_.demo_img_scale),
                dict(type='PackInputs'),
            ],
            num_workers=0))
]

# Adam converges in the few hundred iterations of the demo (the real config
# trains much longer with SGD)
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='Adam', lr=1e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=15, T_max=15,
         eta_min=1e-5, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=15)
auto_scale_lr = dict(enable=False, base_batch_size=64)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=15, max_keep_ckpts=1))
randomness = dict(seed=0)
