# Re-ID base model M of the paper's MARS experiments (Table 7): ResNet-50 (last
# stride 1) + BN-neck ReIDHead, label-smoothed CE + batch-hard triplet loss on
# P x K = 16 x 4 batches, 120 epochs; retrieval by L2 on BN-neck features.
_base_ = ['mmpretrain::_base_/default_runtime.py']
custom_imports = dict(imports=['mmddl'], allow_failed_imports=False)

data_root = 'data/mars'
num_classes = 625  # MARS training identities
img_scale = (128, 256)  # (w, h)
feature_dim = 2048
# ImageNet initialisation: add to the backbone
#   init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        strides=(1, 2, 2, 1),  # last stride 1: 16x8 feature maps
        out_indices=(3, ),
        style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='ReIDHead',
        num_classes=num_classes,
        in_channels=feature_dim,
        loss_cls=dict(
            type='LabelSmoothLoss',
            label_smooth_val=0.1,
            mode='original',
            loss_weight=1.0),
        loss_triplet=dict(
            type='BatchHardTripletLoss', margin=0.3, loss_weight=1.0)),
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomCrop', crop_size=(img_scale[1], img_scale[0]),
         padding=10),
    dict(type='RandomErasing', erase_prob=0.5, mode='const',
         fill_color=(124, 116, 104)),
    dict(type='PackInputs'),
]
# P = 16 identities x K = 4 frames per batch for the triplet loss
train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='PKSampler', batch_size=64, num_instances=4),
    dataset=dict(
        type='MARSDataset',
        data_root=data_root,
        split='train',
        item='image',
        pipeline=train_pipeline))
# Tracklets are evaluated with the DDL group encoder (ddl_* configs).
val_dataloader = None
val_evaluator = None
val_cfg = None

optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=3.5e-4, weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', by_epoch=True, milestones=[40, 70], gamma=0.1),
]
train_cfg = dict(by_epoch=True, max_epochs=120)
auto_scale_lr = dict(base_batch_size=64)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10,
                                     max_keep_ckpts=2))
