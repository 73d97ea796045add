"""Helpers of BaseDDLModel's loop: layout-keeping concatenation, indexing
without copies."""
import torch

from mmddl.models.recognizers.base import (BaseDDLModel, cat_keep_layout,
                                           take_elements)


def channels_last(n, seed):
    """(n, 1, C, T, H, W) with C innermost (FormatShape's layout)."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 4, 5, 6, 3, generator=g).permute(0, 1, 5, 2, 3, 4)


def test_cat_keep_layout_values_and_layout():
    a, b = channels_last(2, 0), channels_last(3, 1)
    out = cat_keep_layout([a, b])
    assert torch.equal(out, torch.cat([a, b]))
    assert out.stride(2) == 1  # channels still innermost
    # crop-major groups (a transposed view): dim 0 is put outermost
    crop_major = torch.rand(3, 2, 4, 5).transpose(0, 1)
    out = cat_keep_layout([crop_major, crop_major])
    assert torch.equal(out, torch.cat([crop_major, crop_major]))
    assert out.stride(0) == out[0].numel()
    # contiguous tensors: plain torch.cat
    x = torch.rand(2, 3)
    assert cat_keep_layout([x, x]).is_contiguous()


def test_take_elements_copies_only_a_selection():
    g = torch.rand(5, 2, 3)
    assert take_elements(g, torch.arange(5)) is g
    for idx in ([4, 0, 1], [1, 0, 2, 3, 4], [0, 1, 2, 3]):
        out = take_elements(g, torch.tensor(idx))
        assert torch.equal(out, g[torch.tensor(idx)])
        assert out.data_ptr() != g.data_ptr()


def test_map_groups_one_call_and_split():
    calls = []

    def fn(x):
        calls.append(x.shape[0])
        return x.sum(dim=(1, 2, 3, 4, 5))

    a, b = channels_last(2, 0), channels_last(3, 1)
    out = BaseDDLModel.map_groups(fn, [a, b])
    assert calls == [5]
    assert torch.equal(out[0], fn(a)) and torch.equal(out[1], fn(b))
    calls.clear()
    single = BaseDDLModel.map_groups(lambda x: x, [a])
    assert single[0] is a  # one group: no concatenating copy
