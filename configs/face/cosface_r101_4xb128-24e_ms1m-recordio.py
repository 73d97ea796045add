# CosFace (large margin cosine loss, s=64, m=0.35) variant of the ResNet-101
# face base model; everything else as the ArcFace config.
_base_ = ['./arcface_r101_4xb128-24e_ms1m-recordio.py']

model = dict(
    head=dict(
        _delete_=True,
        type='CosFaceClsHead',
        num_classes=_base_.num_classes,
        in_channels=_base_.embedding_dim,
        scale=64.,
        margins=0.35,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        init_cfg=None))
