# Face demo base model: the ArcFace ResNet-101 MS1M config made small by
# overrides (CIFAR-style ResNet-18 with 16 channels, 32x32 faces, a few
# epochs) and trained on the demo's synthetic identities written as an
# insightface RecordIO (train.rec / train.idx / property).
_base_ = [
    '../arcface_r101_4xb128-24e_ms1m-recordio.py',
    '../../_base_/demo/face_settings.py',
]

model = _base_.demo_base_model

train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=_base_.demo_root + '/data/ms1m'))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
# warm-up over the first iterations, cosine over the epochs (the demo's
# --base-epochs / --ddnet-epochs override T_max and end with max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=8, T_max=8,
         eta_min=1e-3, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=8)
auto_scale_lr = dict(enable=False, base_batch_size=64)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=8, max_keep_ckpts=1))
randomness = dict(seed=0)
