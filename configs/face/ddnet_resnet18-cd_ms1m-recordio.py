# DDNet-2D training (paper Sec. 3.2, Eq. 5-6) on the face base model's own
# training set (MS1M RecordIO): before training, DiscriminabilityHook runs the
# frozen ArcFace ResNet-101 over every training image, computes its
# discriminability (Eq. 2-3) and D-score (Eq. 4) and writes the score table;
# LoadDScore then attaches one `gt_dscore` per image and DDNetHead regresses it
# with an MSE loss. Pass the base checkpoint with
#   --cfg-options custom_hooks.0.base_checkpoint=PATH/TO/arcface_r101.pth
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    './_base_/ddnet_resnet18-cd.py',
]
custom_imports = dict(imports=['mmddl'], allow_failed_imports=False)

data_root = 'data/ms1m-retinaface-t1'
base_config = 'configs/face/arcface_resnet101_ms1m-recordio.py'
base_checkpoint = 'work_dirs/arcface_resnet101_ms1m-recordio/epoch_24.pth'

model = _base_.ddnet_model

train_pipeline = [
    dict(type='LoadDScore', key='img_path'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=('gt_dscore', )),
]
train_dataloader = dict(
    batch_size=256,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='MXFaceDataset',
        data_root=data_root,
        ann_file='train.idx',
        rec_file='train.rec',
        pipeline=train_pipeline))
val_dataloader = None
val_evaluator = None
val_cfg = None

custom_hooks = [
    dict(
        type='DiscriminabilityHook',
        base_config=base_config,
        base_checkpoint=base_checkpoint,
        # one element per image: the decoded face, packed as the base sees it
        candidate_pipeline=[dict(type='PackInputs')],
        stage='pre_logits',  # the 512-d face embedding
        metric='cosine',
        batch_size=256,
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
