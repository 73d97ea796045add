"""DDLAggregator: selection/weights/fusion per mode vs independent numpy."""
import numpy as np
import pytest
import torch

import mmddl  # noqa: F401  (compat fixes + registration)
from mmddl.core import select_elements
from mmddl.models.aggregators import MODES, DDLAggregator


def _scores(n=9, seed=0):
    return torch.from_numpy(
        np.random.default_rng(seed).uniform(0.05, 0.95, n)).float()


def _np_minmax_fuse(outputs, kept):
    """Eq. 8-11 in numpy: min-max weights, weighted mean."""
    outputs, kept = np.asarray(outputs, np.float64), np.asarray(kept,
                                                                np.float64)
    if kept.max() == kept.min():
        w = np.ones_like(kept)
    else:
        w = (kept - kept.min()) / (kept.max() - kept.min())
    return (w[:, None] * outputs).sum(0) / w.sum()


@pytest.mark.parametrize('threshold,topk', [(0.5, None), (None, 3),
                                            (0.4, 2), (0.99, None)])
def test_ddl_selection_matches_core(threshold, topk):
    s = _scores()
    for mode in ('ddl', 'ddl_norescale'):
        agg = DDLAggregator(mode, topk=topk, threshold=threshold)
        assert agg.needs_scores
        idx = agg.select(s)
        assert torch.equal(idx, select_elements(s, threshold, topk))
    # independent check of one case: threshold 0.5 keeps scores > 0.5
    if threshold == 0.5 and topk is None:
        expect = sorted(np.flatnonzero(s.numpy() > 0.5).tolist())
        assert sorted(idx.tolist()) == expect
    if threshold == 0.99:  # nothing passes: the best one is kept
        assert idx.tolist() == [int(np.argmax(s.numpy()))]


def test_ddl_fuse_vs_numpy():
    s = _scores(7, seed=1)
    outputs = torch.randn(7, 5, generator=torch.Generator().manual_seed(0))
    agg = DDLAggregator('ddl', topk=4)
    idx = agg.select(s)
    fused = agg.fuse(outputs[idx], s[idx])
    order = np.argsort(-s.numpy(), kind='stable')[:4]
    expect = _np_minmax_fuse(outputs.numpy()[order], s.numpy()[order])
    np.testing.assert_allclose(fused.numpy(), expect, rtol=1e-5, atol=1e-6)


def test_norescale_and_equal_weights_vs_numpy():
    s = _scores(6, seed=2)
    outputs = torch.randn(6, 3, generator=torch.Generator().manual_seed(1))
    nr = DDLAggregator('ddl_norescale', threshold=0.3)
    idx = nr.select(s)
    kept = s[idx].numpy().astype(np.float64)
    out = outputs[idx].numpy().astype(np.float64)
    np.testing.assert_allclose(nr.weights(s[idx]).numpy(), kept, rtol=1e-6)
    np.testing.assert_allclose(
        nr.fuse(outputs[idx], s[idx]).numpy(),
        (kept[:, None] * out).sum(0) / kept.sum(), rtol=1e-5, atol=1e-6)
    for agg in (DDLAggregator('dense'), DDLAggregator('uniform', topk=3),
                DDLAggregator('random', topk=2)):
        assert not agg.needs_scores
        np.testing.assert_array_equal(agg.weights(s[:4]).numpy(), np.ones(4))
        np.testing.assert_allclose(
            agg.fuse(outputs[:4]).numpy(),
            outputs[:4].numpy().mean(0), rtol=1e-5, atol=1e-6)


def test_blind_and_top1_modes():
    s = _scores(10, seed=3)
    # settings a mode does not use are ignored (with a warning), so a ddl
    # config can be switched to another mode by --cfg-options
    dense = DDLAggregator('dense', topk=5, threshold=0.5)
    assert dense.topk is None and dense.threshold is None
    assert dense.select(num_elements=8).tolist() == list(range(8))
    assert DDLAggregator('top1', topk=5).select(s).tolist() == [
        int(np.argmax(s.numpy()))
    ]
    assert DDLAggregator('dense').select(num_elements=4).tolist() == [
        0, 1, 2, 3
    ]
    # centres of 5 equal segments of 30 clips
    assert DDLAggregator('uniform', topk=5).select(
        num_elements=30).tolist() == [3, 9, 15, 21, 27]
    assert DDLAggregator('uniform', topk=4).select(
        num_elements=10).tolist() == [1, 3, 6, 8]
    # at most topk elements in the group: all of them (documented fallback)
    assert DDLAggregator('uniform', topk=8).select(
        num_elements=5).tolist() == [0, 1, 2, 3, 4]
    assert DDLAggregator('random', topk=8).select(
        num_elements=3).tolist() == [0, 1, 2]
    top1 = DDLAggregator('top1')
    assert top1.needs_scores
    assert top1.select(s).tolist() == [int(np.argmax(s.numpy()))]
    # uniform also accepts scores (ignored) with a consistent count
    assert DDLAggregator('uniform', topk=2).select(s).tolist() == [2, 7]


def test_random_is_seeded_per_call():
    a, b = DDLAggregator('random', topk=4, seed=7), DDLAggregator(
        'random', topk=4, seed=7)
    draws_a = [a.select(num_elements=20).tolist() for _ in range(5)]
    draws_b = [b.select(num_elements=20).tolist() for _ in range(5)]
    assert draws_a == draws_b
    assert len({tuple(d) for d in draws_a}) > 1  # calls differ
    for d in draws_a:
        assert d == sorted(set(d)) and len(d) == 4
        assert all(0 <= i < 20 for i in d)
    a.reset()
    assert a.select(num_elements=20).tolist() == draws_a[0]
    other = DDLAggregator('random', topk=4, seed=8)
    assert [other.select(num_elements=20).tolist()
            for _ in range(5)] != draws_a


def test_bad_inputs():
    with pytest.raises(ValueError, match='mode'):
        DDLAggregator('best')
    with pytest.raises(ValueError, match='topk'):
        DDLAggregator('uniform')
    with pytest.raises(ValueError, match='topk and/or threshold'):
        DDLAggregator('ddl')
    with pytest.raises(ValueError, match='topk'):
        DDLAggregator('ddl', topk=0)
    agg = DDLAggregator('random', topk=2, threshold=0.5)
    assert agg.threshold is None and agg.topk == 2
    agg = DDLAggregator('ddl', topk=2)
    with pytest.raises(ValueError, match='needs the D-scores'):
        agg.select(num_elements=5)
    with pytest.raises(ValueError, match='1-D'):
        agg.select(torch.rand(2, 3))
    with pytest.raises(ValueError, match='NaN'):
        agg.select(torch.tensor([0.1, float('nan')]))
    with pytest.raises(ValueError, match='needs kept_scores'):
        agg.fuse(torch.rand(2, 3))
    with pytest.raises(ValueError, match='one per output'):
        agg.fuse(torch.rand(2, 3), torch.rand(3))
    with pytest.raises(ValueError, match='>= 0'):
        DDLAggregator('ddl_norescale', topk=2).weights(torch.tensor([-.1,
                                                                     .5]))
    with pytest.raises(ValueError, match='at least one'):
        DDLAggregator('dense').select(num_elements=0)
    with pytest.raises(ValueError, match='num_elements'):
        DDLAggregator('dense').select(torch.rand(3), num_elements=4)


@pytest.mark.parametrize('scope', ['mmaction', 'mmpretrain'])
def test_build_from_registries(scope):
    from mmengine.registry import MODELS as ROOT
    if scope == 'mmaction':
        from mmaction.registry import MODELS
    else:
        from mmpretrain.registry import MODELS
    for registry in (ROOT, MODELS):
        agg = registry.build(dict(type='DDLAggregator', mode='uniform',
                                  topk=3))
        assert isinstance(agg, DDLAggregator) and agg.topk == 3
    assert set(MODES) == {
        'ddl', 'ddl_norescale', 'dense', 'uniform', 'random', 'top1'
    }


@pytest.mark.parametrize('mode,topk,threshold',
                         [('ddl', 3, 0.4), ('ddl_norescale', None, 0.5),
                          ('top1', None, None), ('uniform', 2, None),
                          ('random', 2, None), ('dense', None, None)])
def test_batched_equals_per_group(mode, topk, threshold):
    lengths = [5, 1, 8, 3]
    s = _scores(sum(lengths), seed=9)
    outputs = torch.randn(sum(lengths), 4,
                          generator=torch.Generator().manual_seed(2))
    batched = DDLAggregator(mode, topk=topk, threshold=threshold, seed=3)
    single = DDLAggregator(mode, topk=topk, threshold=threshold, seed=3)
    sel = batched.select_groups(s, lengths)
    starts = np.cumsum([0] + lengths[:-1])
    kept_out, kept_s, expect = [], [], []
    for a, n, idx in zip(starts, lengths, sel):
        ref = single.select(s[a:a + n]) if single.needs_scores else \
            single.select(num_elements=n)
        assert idx.tolist() == ref.tolist()
        kept_out.append(outputs[a:a + n][idx])
        kept_s.append(s[a:a + n][idx])
        expect.append(single.fuse(kept_out[-1], kept_s[-1]))
    fused = batched.fuse_groups(torch.cat(kept_out), torch.cat(kept_s),
                                [len(i) for i in sel])
    torch.testing.assert_close(fused, torch.stack(expect))


def test_fusion_level():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 3.0, 1.0]])
    feat = DDLAggregator('dense')
    assert feat.fusion_level == 'feature'
    fused = feat.fuse(feat.class_scores_to_fuse(logits))
    np_logits = logits.double().numpy().mean(0)
    expect = np.exp(np_logits) / np.exp(np_logits).sum()
    np.testing.assert_allclose(feat.fused_class_probs(fused).numpy(), expect,
                               rtol=1e-6)
    prob = DDLAggregator('dense', fusion_level='prob')
    fused = prob.fuse(prob.class_scores_to_fuse(logits))
    p = np.exp(logits.double().numpy())
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(prob.fused_class_probs(fused).numpy(),
                               p.mean(0), rtol=1e-6)
    with pytest.raises(ValueError, match='fusion_level'):
        DDLAggregator('dense', fusion_level='logit')
