# SphereFace (A-Softmax, multiplicative angular margin m=4 with the paper's
# lambda annealing) variant of the ResNet-101 face base model.
_base_ = ['./arcface_r101_4xb128-24e_ms1m-recordio.py']

model = dict(
    head=dict(
        _delete_=True,
        type='SphereFaceClsHead',
        num_classes=_base_.num_classes,
        in_channels=_base_.embedding_dim,
        margin=4,
        scale=None,
        anneal=dict(base=1000., gamma=0.12, power=1., lambda_min=5.),
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        init_cfg=None))
