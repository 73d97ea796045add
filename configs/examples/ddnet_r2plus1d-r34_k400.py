# DDL for mmaction2's stock R(2+1)D-R34 (Kinetics-400), step 1: train the DDNet
# on the D-scores the frozen base gives every candidate clip (written by the
# hook). Its bases come from the installed packages (docs/plugin_guide.md).
#   python tools/train.py configs/examples/ddnet_r2plus1d-r34_k400.py \
#       --cfg-options custom_hooks.0.base.checkpoint=PATH/TO/base.pth
_base_ = [
    'mmddl::_base_/ddl/ddnet_r18cd3d_dscore-30e.py',
    'mmddl::examples/_base_/k400_ddl.py',
]

train_dataloader = dict(dataset=_base_.k400_train)
custom_hooks = [
    dict(
        _base_.discriminability_hook,
        base=dict(
            config='mmaction::recognition/r2plus1d/'
            'r2plus1d_r34_8xb8-32x2x1-180e_kinetics400-rgb.py',
            checkpoint='checkpoints/r2plus1d-r34_k400.pth'),
        candidates=dict(
            _base_.discriminability_hook.candidates,
            pipeline=_base_.k400_candidates))
]
