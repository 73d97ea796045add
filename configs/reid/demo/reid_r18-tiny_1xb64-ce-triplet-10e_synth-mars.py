# Re-ID demo base model: the MARS ResNet-50 CE + triplet config made small by
# overrides (CIFAR-style ResNet-18 with 16 channels, 64x32 crops, a few
# epochs), trained on the demo's synthetic pedestrians written as MARS.
_base_ = [
    '../reid_r50_1xb64-ce-triplet-120e_mars.py',
    '../../_base_/demo/reid_settings.py',
]

model = _base_.demo_base_model

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=_base_.demo_img_scale),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomCrop',
         crop_size=(_base_.demo_img_scale[1], _base_.demo_img_scale[0]),
         padding=3),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='PKSampler', batch_size=64, num_instances=4),
    dataset=dict(data_root=_base_.demo_root + '/data/mars',
                 pipeline=train_pipeline))

optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='SGD', lr=0.05, momentum=0.9,
                   weight_decay=5e-4))
# warm-up over the first iterations, cosine over the epochs (the demo's
# --base-epochs overrides T_max and end with max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=10, T_max=10,
         eta_min=1e-3, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=10)
auto_scale_lr = dict(enable=False, base_batch_size=64)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=1))
randomness = dict(seed=0)
