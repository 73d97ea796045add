# DDNet-2D training on the re-ID base model's training set (MARS training
# frames): DiscriminabilityHook runs the frozen ResNet-50 re-ID model over
# every training frame, computes its discriminability (Eq. 2-3, cosine, on the
# BN-neck feature) and D-score (Eq. 4); LoadDScore attaches one `gt_dscore` per
# frame and DDNetHead regresses it (MSE). Pass the base checkpoint with
#   --cfg-options custom_hooks.0.base_checkpoint=PATH/TO/reid_r50.pth
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    './_base_/ddnet_resnet18-cd_reid.py',
]
custom_imports = dict(imports=['mmddl'], allow_failed_imports=False)

data_root = 'data/mars'
base_config = 'configs/reid/reid_resnet50_ce-triplet_mars.py'
base_checkpoint = 'work_dirs/reid_resnet50_ce-triplet_mars/epoch_120.pth'
base_img_scale = (128, 256)  # (w, h) the base model's input

model = _base_.ddnet_model

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDScore', key='img_path'),
    dict(type='Resize', scale=(_base_.ddnet_input_size[1],
                               _base_.ddnet_input_size[0])),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=('gt_dscore', )),
]
train_dataloader = dict(
    batch_size=256,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='MARSDataset',
        data_root=data_root,
        split='train',
        item='image',
        pipeline=train_pipeline))
val_dataloader = None
val_evaluator = None
val_cfg = None

custom_hooks = [
    dict(
        type='DiscriminabilityHook',
        base_config=base_config,
        base_checkpoint=base_checkpoint,
        # one element per frame, as the base model sees it at test time
        candidate_pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=base_img_scale),
            dict(type='PackInputs'),
        ],
        stage='pre_logits',  # the BN-neck retrieval feature
        metric='cosine',
        batch_size=128,
        num_workers=4),
]

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, T_max=9),
]
train_cfg = dict(by_epoch=True, max_epochs=10)
auto_scale_lr = dict(base_batch_size=256)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1,
                                     max_keep_ckpts=2))
