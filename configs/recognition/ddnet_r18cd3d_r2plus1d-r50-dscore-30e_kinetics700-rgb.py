# Train the 3D DDNet on the D-scores the frozen R(2+1)D-R50 Kinetics-700
# recognizer gives the 30 candidate clips of every training video (written by
# the hook).
_base_ = [
    '../_base_/ddl/ddnet_r18cd3d_dscore-30e.py',
    '../_base_/ddl/candidates_k700.py',
]

base_config = ('{{ fileDirname }}/'
               'r2plus1d_r50_8xb8-32x2x1-180e_kinetics700-rgb.py')
base_checkpoint = 'checkpoints/r2plus1d_r50_kinetics700.pth'

train_dataloader = dict(dataset=_base_.k700_train)
custom_hooks = [
    dict(
        _base_.discriminability_hook,
        base=dict(config=base_config, checkpoint=base_checkpoint),
        candidates=dict(
            _base_.discriminability_hook.candidates,
            pipeline=_base_.k700_sampling + _base_.center_crop_128))
]
