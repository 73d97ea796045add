# DDL with mmpretrain's stock ResNet-50 (ImageNet) as the feature extractor
# of MARS tracklets, step 1: the DDNet learns the D-scores the frozen
# classifier gives every training frame. See docs/plugin_guide.md.
#   python tools/train.py configs/examples/ddnet_resnet50-in1k_mars.py
_base_ = ['mmddl::reid/ddnet_r18cd_reid-r50-dscore-10e_mars.py']

custom_hooks = [
    dict(
        _base_.custom_hooks[0],
        base=dict(
            _base_.custom_hooks[0].base,
            config='mmpretrain::resnet/resnet50_8xb32_in1k.py',
            checkpoint='checkpoints/resnet50_in1k.pth'))
]
