# Train the 2D DDNet (paper Sec. 3.2, Eq. 5-6) on the D-scores the frozen
# ArcFace ResNet-101 gives every MS1M training image (written by the hook):
#   --cfg-options custom_hooks.0.base.checkpoint=PATH/TO/arcface_r101.pth
_base_ = [
    '../_base_/ddl/ddnet_r18cd_dscore-10e.py',
    '../_base_/models/ddnet_r18cd_face.py',
]

data_root = 'data/ms1m-retinaface-t1'
base_config = '{{ fileDirname }}/arcface_r101_4xb128-24e_ms1m-recordio.py'
base_checkpoint = ('work_dirs/arcface_r101_4xb128-24e_ms1m-recordio/'
                   'epoch_24.pth')

model = _base_.ddnet_model

# shifts of up to 1/16 of the side (reflect padding) and flips: neither
# changes how discriminative a face is (measured in docs/face_reid.md)
train_pipeline = [
    dict(type='LoadDScore', key='img_path'),
    dict(type='RandomCrop', crop_size=_base_.ddnet_input_size, padding=7,
         padding_mode='reflect'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=('gt_dscore', )),
]
train_dataloader = dict(
    dataset=dict(
        type='MXFaceDataset',
        data_root=data_root,
        ann_file='train.idx',
        rec_file='train.rec',
        pipeline=train_pipeline))
# held-out identities: each image as is (no flip), with its table D-score
val_pipeline = [
    dict(type='LoadDScore', key='img_path'),
    dict(type='PackInputs', algorithm_keys=('gt_dscore', )),
]
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
custom_hooks = [
    dict(
        _base_.discriminability_hook,
        base=dict(
            config=base_config,
            checkpoint=base_checkpoint,
            stage='pre_logits'),  # the 512-d face embedding
        # one element per image: the decoded face, packed as the base sees it
        candidates=dict(
            _base_.discriminability_hook.candidates,
            pipeline=[dict(type='PackInputs')],
            batch_size=256),
        dscore=dict(
            _base_.discriminability_hook.dscore,
            normalization=_base_.dscore_normalization))
]
