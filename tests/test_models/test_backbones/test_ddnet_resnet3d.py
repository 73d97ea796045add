"""Tests of the 3D DDNet backbone (DDNetResNet3d)."""
import pytest
import torch

import mmddl  # noqa: F401  (applies compat, registers modules)
from mmddl.models.backbones import DDNetResNet3d


def test_default_shapes_all_stages():
    model = DDNetResNet3d(out_indices=(0, 1, 2, 3)).eval()
    outs = model(torch.rand(1, 3, 16, 112, 112))
    assert [tuple(o.shape) for o in outs] == [(1, 8, 16, 28, 28),
                                              (1, 16, 8, 14, 14),
                                              (1, 32, 4, 7, 7),
                                              (1, 48, 2, 4, 4)]


def test_blocks_are_3d_with_temporal_kernels():
    model = DDNetResNet3d(depth=34, temporal_kernels=(1, 1, 3, 3))
    assert len(model.layer3) == 6
    assert model.layer1[0].conv1.conv.kernel_size == (1, 3, 3)
    assert model.layer4[0].conv1.conv.kernel_size == (3, 3, 3)
    assert model.layer4[0].conv2.conv.kernel_size == (1, 3, 3)
    assert model.layer2[0].conv1.conv.stride == (2, 2, 2)


def test_every_parameter_learns(params_learn):
    params_learn(DDNetResNet3d(), torch.rand(2, 3, 8, 32, 32))


def test_flops_within_ddl_budget(flops, conv_macs):
    model = DDNetResNet3d().eval()
    measured = {}
    for t in (8, 16):
        x = torch.rand(1, 3, t, 112, 112)
        measured[t] = flops(model, x)
        assert measured[t] == pytest.approx(conv_macs(model, x), rel=1e-6)
    assert measured[16] <= 0.25e9
    # cost is linear in the clip length with these strides
    assert measured[8] == pytest.approx(measured[16] / 2, rel=1e-6)


def test_built_from_mmaction_scope():
    from mmaction.registry import MODELS
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(
            dict(type='DDNetResNet3d', stage_widths=(4, 8, 8, 16)))
    assert isinstance(model, DDNetResNet3d) and model.feat_dim == 16


@pytest.mark.parametrize('kwargs,match', [
    (dict(temporal_strides=(1, 2, 2)), 'temporal_strides'),
    (dict(stem_stride=(1, 2)), 'stem_stride'),
    (dict(temporal_kernels=(2, 3, 3, 3)), 'odd'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DDNetResNet3d(**kwargs)


def test_wrong_input_rank():
    with pytest.raises(ValueError, match='5D input'):
        DDNetResNet3d()(torch.rand(1, 3, 32, 32))


def test_channels_last_same_outputs_and_gradients():
    """channels_last (the default) only changes the memory layout: outputs
    and gradients equal the contiguous model's up to float summation order
    (compared with frozen norm statistics: train-mode batch norm over the
    few values of the last stages would amplify that rounding; train mode
    itself is covered by test_every_parameter_learns)."""
    torch.manual_seed(0)
    cl = DDNetResNet3d(out_indices=(2, 3)).eval()
    assert cl.memory_format == torch.channels_last_3d
    plain = DDNetResNet3d(out_indices=(2, 3), channels_last=False).eval()
    assert plain.memory_format is None
    plain.load_state_dict(cl.state_dict())
    x = torch.rand(2, 3, 8, 32, 32)
    grads = []
    outs = []
    for model in (cl, plain):
        out = model(x)
        outs.append(out)
        sum(o.square().mean() for o in out).backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
    assert outs[0][-1].is_contiguous(memory_format=torch.channels_last_3d)
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    assert grads[0].keys() == grads[1].keys()
    for name, g in grads[0].items():
        ref = grads[1][name]
        assert ref.norm() > 0, name
        assert (g - ref).norm() <= 1e-4 * ref.norm(), name
