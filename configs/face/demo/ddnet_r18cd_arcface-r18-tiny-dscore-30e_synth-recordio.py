# Face demo DDNet training: the MS1M DDNet config with the demo's data
# (synthetic identities in RecordIO), 32x32 faces and a short schedule. The
# demo passes the base model's config / checkpoint to the hook with
#   --cfg-options custom_hooks.0.base.config=...
#                 custom_hooks.0.base.checkpoint=...
_base_ = [
    '../ddnet_r18cd_arcface-r101-dscore-10e_ms1m-recordio.py',
    '../../_base_/demo/face_settings.py',
]

# the MS1M config's pipeline at 32x32 (shifts of up to 2 px = 1/16)
train_pipeline = [
    dict(type='LoadDScore', key='img_path'),
    dict(type='RandomCrop', crop_size=_base_.demo_img_size, padding=2,
         padding_mode='reflect'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=('gt_dscore', )),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=_base_.demo_root + '/data/ms1m',
                 pipeline=train_pipeline))

val_dataloader = dict(batch_size=64, num_workers=0)
custom_hooks = [
    dict(
        _base_.custom_hooks[0],
        base=dict(
            _base_.custom_hooks[0].base,
            config=('{{ fileDirname }}/'
                    'arcface_r18-tiny_1xb64-8e_synth-recordio.py'),
            checkpoint=_base_.demo_root + '/base/epoch_8.pth'),
        candidates=dict(
            _base_.custom_hooks[0].candidates, batch_size=128,
            num_workers=0))
]

# Adam converges in the few hundred iterations of the demo (the real config
# trains much longer with SGD); 30 epochs rank the validation templates
# better than 15 for two DDNet seeds (docs/face_reid.md)
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='Adam', lr=1e-3, weight_decay=1e-4))
# warm-up over the first iterations, cosine over the epochs (the demo's
# --base-epochs / --ddnet-epochs override T_max and end with max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=30, T_max=30,
         eta_min=1e-5, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=30)
auto_scale_lr = dict(enable=False, base_batch_size=64)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=30, max_keep_ckpts=1))
randomness = dict(seed=0)
