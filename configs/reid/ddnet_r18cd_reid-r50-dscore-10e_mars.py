# Train the 2D DDNet on the D-scores the frozen ResNet-50 re-ID model gives
# every MARS training frame (cosine on the BN-neck feature; the hook writes
# them):
#   --cfg-options custom_hooks.0.base.checkpoint=PATH/TO/reid_r50.pth
_base_ = [
    '../_base_/ddl/ddnet_r18cd_dscore-10e.py',
    '../_base_/models/ddnet_r18cd_reid.py',
]

data_root = 'data/mars'
base_config = '{{ fileDirname }}/reid_r50_1xb64-ce-triplet-120e_mars.py'
base_checkpoint = 'work_dirs/reid_r50_1xb64-ce-triplet-120e_mars/epoch_120.pth'
base_img_scale = (128, 256)  # (w, h) the base model's input

model = _base_.ddnet_model

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDScore', key='img_path'),
    dict(type='Resize', scale=(_base_.ddnet_input_size[1],
                               _base_.ddnet_input_size[0])),
    # shifts of up to 1/16 of each side (reflect padding) and flips
    dict(type='RandomCrop', crop_size=_base_.ddnet_input_size,
         padding=(4, 8), padding_mode='reflect'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=('gt_dscore', )),
]
train_dataloader = dict(
    dataset=dict(
        type='MARSDataset',
        data_root=data_root,
        split='train',
        item='image',
        pipeline=train_pipeline))
# held-out identities: each frame at the DDNet's size (no flip), with its
# table D-score
val_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDScore', key='img_path'),
    dict(type='Resize', scale=(_base_.ddnet_input_size[1],
                               _base_.ddnet_input_size[0])),
    dict(type='PackInputs', algorithm_keys=('gt_dscore', )),
]
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
custom_hooks = [
    dict(
        _base_.discriminability_hook,
        base=dict(
            config=base_config,
            checkpoint=base_checkpoint,
            stage='pre_logits'),  # the BN-neck retrieval feature
        # one element per frame, as the base model sees it at test time
        candidates=dict(
            _base_.discriminability_hook.candidates,
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='Resize', scale=base_img_scale),
                dict(type='PackInputs'),
            ],
            batch_size=128),
        dscore=dict(
            _base_.discriminability_hook.dscore,
            normalization=_base_.dscore_normalization))
]
