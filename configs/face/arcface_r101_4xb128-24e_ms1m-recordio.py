# ArcFace ResNet-101 on MS1M (insightface RecordIO, 112x112 aligned faces), the
# face base model M of the paper: ResNet-101, 512-d BN embedding (LinearNeck),
# ArcFace head (s=64, m=0.5); 4 GPUs x 128 faces, 24 epochs.
_base_ = ['mmpretrain::_base_/default_runtime.py']
custom_imports = dict(imports=['mmddl'], allow_failed_imports=False)

data_root = 'data/ms1m-retinaface-t1'  # train.rec / train.idx / property
num_classes = 93431  # MS1M-RetinaFace (MS1M-ArcFace "emore": 85742)
embedding_dim = 512

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=101,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch'),
    # pooled 2048-d -> 512-d face embedding followed by BatchNorm1d
    neck=dict(
        type='LinearNeck',
        in_channels=2048,
        out_channels=embedding_dim,
        gap_dim=2,
        norm_cfg=dict(type='BN1d')),
    head=dict(
        type='ArcFaceClsHead',
        num_classes=num_classes,
        in_channels=embedding_dim,
        scale=64.,
        margins=0.5,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        init_cfg=None),
    # MXFaceDataset decodes BGR; faces are normalised to [-1, 1] as in
    # insightface
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        to_rgb=True))

# MXFaceDataset reads and decodes the records itself: no LoadImageFromFile.
train_pipeline = [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='MXFaceDataset',
        data_root=data_root,
        ann_file='train.idx',
        rec_file='train.rec',
        pipeline=train_pipeline))
# Faces are evaluated on groups (YTF / IJB) with the ddl_* configs.
val_dataloader = None
val_evaluator = None
val_cfg = None

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', by_epoch=True, milestones=[10, 18, 22],
         gamma=0.1),
]
train_cfg = dict(by_epoch=True, max_epochs=24)
auto_scale_lr = dict(base_batch_size=512)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1,
                                     max_keep_ckpts=3))
