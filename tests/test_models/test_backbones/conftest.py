"""Shared helpers for the DDNet backbone tests."""
import math

import pytest
import torch
import torch.nn as nn


def count_conv_macs(model: nn.Module, x: torch.Tensor) -> int:
    """Expected FLOPs of one forward from the real output shapes.

    fvcore/mmengine convention: a conv costs one multiply-add per output element
    and kernel tap; an eval-mode batch norm costs 2 per element (scale, shift).
    """
    total = [0]

    def conv_hook(mod, inp, out):
        k = math.prod(mod.kernel_size)
        total[0] += out.numel() * (mod.in_channels // mod.groups) * k

    def bn_hook(mod, inp, out):
        total[0] += 2 * out.numel()

    handles = [m.register_forward_hook(conv_hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Conv3d))]
    handles += [m.register_forward_hook(bn_hook) for m in model.modules()
                if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return total[0]


def mmengine_flops(model: nn.Module, x: torch.Tensor) -> float:
    """FLOPs from mmengine's counter (convention: one multiply-add = 1 FLOP).

    ``FlopAnalyzer`` is what ``get_model_complexity_info`` uses for its ``flops``;
    calling it directly saves the second trace that counts activations.
    """
    from mmengine.analysis import FlopAnalyzer
    return float(FlopAnalyzer(model, (x, )).total())


def assert_all_params_learn(model: nn.Module, x: torch.Tensor) -> None:
    """timm-style check: finite outputs and a non-zero gradient on every parameter."""
    model.train()
    outs = model(x)
    assert all(torch.isfinite(o).all() for o in outs)
    sum(o.mean() for o in outs).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f'{name} got no gradient'
        assert torch.isfinite(p.grad).all(), f'{name} has a non-finite gradient'
        assert p.grad.abs().sum() > 0, f'{name} got an all-zero gradient'


@pytest.fixture
def conv_macs():
    return count_conv_macs


@pytest.fixture
def flops():
    return mmengine_flops


@pytest.fixture
def params_learn():
    return assert_all_params_learn
