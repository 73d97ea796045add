# Train the 3D DDNet on the D-scores the frozen SlowFast-R50 Kinetics-700
# recognizer gives the 30 candidate clips of every training video (written by
# the hook).
#
#   python tools/train.py configs/ddnet_slowfast_k700.py \
#       --cfg-options custom_hooks.0.base.checkpoint=PATH/TO/slowfast.pth
_base_ = [
    '../_base_/ddl/ddnet_r18cd3d_dscore-30e.py',
    '../_base_/ddl/candidates_k700.py',
]

base_config = ('{{ fileDirname }}/'
               'slowfast_r50_8xb8-4x16x1-256e_kinetics700-rgb.py')
base_checkpoint = 'checkpoints/slowfast_r50_kinetics700.pth'

train_dataloader = dict(dataset=_base_.k700_train)
custom_hooks = [
    dict(
        _base_.discriminability_hook,
        base=dict(config=base_config, checkpoint=base_checkpoint),
        candidates=dict(
            _base_.discriminability_hook.candidates,
            pipeline=_base_.k700_sampling + _base_.center_crop_256))
]
