# ByteTrack on the generated street footage: mmdet's ByteTrack config (its
# ByteTracker with the MOT17 settings, TrackDataPreprocessor, MOTChallenge
# evaluation) with a YOLOX-nano detector at 320x320 for one class,
# `pedestrian`, trained from scratch on the footage's frames (nothing can be
# downloaded: no COCO / CrowdHuman weights). Data layout (written by
# mmddl.testing.synthetic_footage: generate_footage + write_coco_annotations):
#   <data_root>/train/SYNTH-01/img1/000001.jpg ...  training footage
#   <data_root>/val/SYNTH-01/...                    evaluation footage
#   <data_root>/annotations/{train,val}_cocoformat.json  (COCO-VID)
# Train:  python tools/train.py <this config> --work-dir work_dirs/det
# Track a video / frame folder and encode the tracks with DDL:
#   python tools/track_ddl.py configs/tracks/ddl_reid-r18-tiny_...py base.pth
#       --ddnet-checkpoint ddnet.pth --inputs cam1.mp4 cam2.mp4
#       --det-config <this config> --det-checkpoint work_dirs/det/epoch_20.pth
_base_ = [
    'mmdet::bytetrack/'
    'bytetrack_yolox_x_8xb4-80e_crowdhuman-mot17halftrain_test-mot17halfval.py'
]
custom_imports = dict(imports=['mmddl'], allow_failed_imports=False)

data_root = 'data/synth_footage/'
classes = ('pedestrian', )
img_scale = (320, 320)  # (w, h)
batch_size = 8
max_epochs = 20
num_last_epochs = 3  # affine off, L1 loss on (YOLOX recipe)

# YOLOX-nano (mmdet's yolox_nano_8xb8-300e_coco.py sizes: depth 0.33, width
# 0.25, depthwise convolutions) in place of ByteTrack's YOLOX-X; no
# pretrained weights (the base config's init_cfg names a download)
model = dict(
    data_preprocessor=dict(batch_augments=[
        dict(
            type='BatchSyncRandomResize',
            random_size_range=(256, 384),
            size_divisor=32,
            interval=10)
    ]),
    detector=dict(
        init_cfg=None,
        backbone=dict(
            deepen_factor=0.33, widen_factor=0.25, use_depthwise=True),
        neck=dict(
            in_channels=[64, 128, 256],
            out_channels=64,
            num_csp_blocks=1,
            use_depthwise=True),
        bbox_head=dict(
            num_classes=len(classes),
            in_channels=64,
            feat_channels=64,
            use_depthwise=True)))

# mmdet's YOLOX pipeline without Mosaic and MixUp (dropped for a 20-epoch
# schedule from scratch; not compared with them), a mild random affine
# (scale 0.75-1.25, no rotation or shear), boxes not clipped at the border as
# in ByteTrack's pipeline. Measured on the tracks demo's validation sets
# (3 x 3 cameras x 80 frames, docs/tracks.md): HOTA 35.7, MOTA 26.0, IDF1
# 46.9 with mmdet's ByteTrack thresholds after 20 epochs on 450 frames.
train_pipeline = [
    dict(
        type='RandomAffine',
        scaling_ratio_range=(0.75, 1.25),
        max_rotate_degree=0.,
        max_shear_degree=0.,
        border=(0, 0),
        bbox_clip_border=False),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='Resize',
        scale=img_scale,
        keep_ratio=True,
        clip_object_border=False),
    dict(type='Pad', size_divisor=32, pad_val=dict(img=(114.0, 114.0, 114.0))),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1), keep_empty=False),
    dict(type='PackDetInputs')
]
train_dataloader = dict(
    _delete_=True,
    batch_size=batch_size,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='MultiImageMixDataset',
        dataset=dict(
            type='CocoDataset',
            data_root=data_root,
            ann_file='annotations/train_cocoformat.json',
            data_prefix=dict(img='train/'),
            filter_cfg=dict(filter_empty_gt=True, min_size=8),
            metainfo=dict(classes=classes),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True),
            ]),
        pipeline=train_pipeline))

test_pipeline = [
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=img_scale, keep_ratio=True),
            dict(
                type='Pad',
                size_divisor=32,
                pad_val=dict(img=(114.0, 114.0, 114.0))),
            dict(type='LoadTrackAnnotations'),
        ]),
    dict(type='PackTrackInputs')
]
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/val_cocoformat.json',
        data_prefix=dict(img_path='val/'),
        metainfo=dict(classes=classes),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# HOTA / CLEAR / Identity of the tracker's own output, as tools/track_ddl.py
# writes it: no tracklet interpolation (mmdet 3.3's InterpolateTracklets also
# raises IndexError on a video without any track)
val_evaluator = dict(postprocess_tracklet_cfg=[])
test_evaluator = val_evaluator

# a short from-scratch schedule for 2 CPU cores: AdamW instead of the
# 8-GPU SGD recipe (which needs hundreds of epochs from scratch)
base_lr = 4e-3
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=base_lr, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
param_scheduler = [
    dict(
        type='mmdet.QuadraticWarmupLR',
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        eta_min=base_lr * 0.05,
        begin=1,
        T_max=max_epochs - num_last_epochs,
        end=max_epochs - num_last_epochs,
        by_epoch=True,
        convert_to_iter_based=True),
    dict(
        type='ConstantLR',
        by_epoch=True,
        factor=1,
        begin=max_epochs - num_last_epochs,
        end=max_epochs),
]
train_cfg = dict(
    type='EpochBasedTrainLoop',
    max_epochs=max_epochs,
    val_begin=max_epochs,
    val_interval=max_epochs)
custom_hooks = [
    dict(
        type='YOLOXModeSwitchHook',
        num_last_epochs=num_last_epochs,
        priority=48),
    dict(type='SyncNormHook', priority=48),
    dict(
        type='EMAHook',
        ema_type='ExpMomentumEMA',
        momentum=0.0002,
        update_buffers=True,
        priority=49)
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(
        _delete_=True, type='CheckpointHook', interval=max_epochs,
        max_keep_ckpts=1))
auto_scale_lr = dict(enable=False, base_batch_size=batch_size)
randomness = dict(seed=0)
