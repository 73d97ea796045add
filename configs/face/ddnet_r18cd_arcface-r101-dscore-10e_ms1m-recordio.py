# Train the 2D DDNet (paper Sec. 3.2, Eq. 5-6) on the D-scores the frozen
# ArcFace ResNet-101 gives every MS1M training image (written by the hook):
#   --cfg-options custom_hooks.0.base_checkpoint=PATH/TO/arcface_r101.pth
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/models/ddnet_r18cd_face.py',
    '../_base_/ddl/discriminability_hook.py',
    '../_base_/ddl/ddnet_r18cd_dscore-10e.py',
]
custom_imports = dict(imports=['mmddl'], allow_failed_imports=False)

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
        normalization=_base_.dscore_normalization,
        base_config=base_config,
        base_checkpoint=base_checkpoint,
        # one element per image: the decoded face, packed as the base sees it
        candidate_pipeline=[dict(type='PackInputs')],
        stage='pre_logits',  # the 512-d face embedding
        batch_size=256)
]
# EpochSeedHook re-seeds the RNGs from (seed, epoch) at every epoch: a run
# resumed after a kill ends with the uninterrupted run's weights, bit for
# bit (it needs a fixed seed and non-persistent loader workers).
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2),
    epoch_seed=dict(type='EpochSeedHook'))
# a fixed seed: with seed=None every start (a resume too) draws a new one,
# and the data order and worker seeds follow it
randomness = dict(seed=0, deterministic=False)
