"""Tests of the 2D DDNet backbone (DDNetResNet)."""
import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

import mmddl  # noqa: F401  (applies compat, registers modules)
from mmddl.models.backbones import DDNetResNet


def test_default_shapes_all_stages():
    model = DDNetResNet(out_indices=(0, 1, 2, 3)).eval()
    outs = model(torch.rand(2, 3, 112, 112))
    assert [tuple(o.shape) for o in outs] == [
        (2, 8, 112, 112), (2, 16, 56, 56), (2, 32, 28, 28), (2, 48, 14, 14)]
    assert model.feat_dim == 48


@pytest.mark.parametrize('depth,blocks', [(18, [2, 2, 2, 2]), (34, [3, 4, 6, 3])])
def test_depth_sets_blocks(depth, blocks):
    model = DDNetResNet(depth=depth)
    assert [len(getattr(model, f'layer{i}')) for i in range(1, 5)] == blocks


def test_plain_resnet18_widths_and_imagenet_stem():
    model = DDNetResNet(stage_widths=(64, 128, 256, 512), stem_kernel_size=7,
                        stem_stride=2, stem_pool=True).eval()
    out = model(torch.rand(1, 3, 64, 64))[0]
    assert tuple(out.shape) == (1, 512, 2, 2)


def test_every_parameter_learns(params_learn):
    params_learn(DDNetResNet(), torch.rand(2, 3, 32, 32))


def test_flops_default_and_table5_variants(flops, conv_macs):
    default = DDNetResNet().eval()
    x = torch.rand(1, 3, 112, 112)
    measured = flops(default, x)
    # mmengine counts the convs and norms of this net: it must equal the
    # cost derived from the real output shapes.
    assert measured == pytest.approx(conv_macs(default, x), rel=1e-6)
    assert 60e6 <= measured <= 110e6  # paper: 81.9 MFLOPs

    small = torch.rand(1, 3, 16, 16)  # variants at 16x16 to keep the test fast
    base = flops(default, small)
    assert base == pytest.approx(measured * (16 / 112)**2, rel=0.01)
    r34cd = flops(DDNetResNet(depth=34).eval(), small)
    r18 = flops(DDNetResNet(stage_widths=(64, 128, 256, 512)).eval(), small)
    assert 1.5 * base < r34cd < 3 * base
    assert r18 > 40 * base


def test_frozen_stages_and_norm_eval():
    model = DDNetResNet(frozen_stages=1, norm_eval=True)
    model.train()
    for p in list(model.stem.parameters()) + list(model.layer1.parameters()):
        assert not p.requires_grad
    assert all(p.requires_grad for p in model.layer2.parameters())
    assert not model.stem.training and not model.layer1.training
    assert model.layer2.training
    assert all(not m.training for m in model.modules() if isinstance(m, _BatchNorm))


def test_zero_init_residual():
    model = DDNetResNet(zero_init_residual=True)
    model.init_weights()
    for layer in (model.layer1, model.layer4):
        for block in layer:
            assert torch.all(block.conv2.norm.weight == 0)
            assert torch.any(block.conv1.norm.weight != 0)


def test_built_from_every_scope():
    from mmaction.registry import MODELS as ACTION_MODELS
    from mmengine.registry import MODELS, DefaultScope
    from mmpretrain.registry import MODELS as PRETRAIN_MODELS
    cfg = dict(type='DDNetResNet', depth=18)
    assert isinstance(MODELS.build(cfg), DDNetResNet)
    with DefaultScope.overwrite_default_scope('mmaction'):
        assert isinstance(ACTION_MODELS.build(cfg), DDNetResNet)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        assert isinstance(PRETRAIN_MODELS.build(cfg), DDNetResNet)


@pytest.mark.parametrize('kwargs,match', [
    (dict(depth=50), 'depth'),
    (dict(stage_widths=(8, 16, 32)), 'stage_widths'),
    (dict(out_indices=(4, )), 'out_indices'),
    (dict(frozen_stages=5), 'frozen_stages'),
    (dict(stem_kernel_size=4), 'odd'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DDNetResNet(**kwargs)


def test_wrong_input_rank():
    with pytest.raises(ValueError, match='4D input'):
        DDNetResNet()(torch.rand(1, 3, 4, 32, 32))
