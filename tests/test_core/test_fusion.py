"""Eq. 7-11 against a straightforward per-element re-implementation."""
import numpy as np
import pytest
import torch

from mmddl.core import (fuse, fuse_groups, rescale_groups, rescale_weights,
                        select_elements, select_groups, weighted_mean,
                        weighted_mean_groups)


def naive_fuse(f, s, threshold=None, topk=None, rescale=True):
    idx = list(range(len(s)))
    # stable descending order: ties by lower index
    idx.sort(key=lambda i: (-s[i], i))
    if threshold is not None:
        passed = [i for i in idx if s[i] > threshold]
        idx = passed if passed else idx[:1]
    if topk is not None:
        idx = idx[:topk]
    ks = np.array([s[i] for i in idx], dtype=np.float64)
    if rescale:
        if ks.max() == ks.min():
            w = np.ones_like(ks)
        else:
            k = 1 / (ks.max() - ks.min())
            w = k * ks + (1 - k * ks.max())
    else:
        w = ks if ks.sum() > 0 else np.ones_like(ks)
    return (w[:, None] * f[idx]).sum(0) / w.sum(), idx


CASES = [dict(), dict(threshold=0.15), dict(topk=5),
         dict(threshold=0.5, topk=3), dict(threshold=0.99),
         dict(rescale=False), dict(topk=4, rescale=False)]


@pytest.mark.parametrize('kw', CASES)
def test_fuse_matches_naive(kw):
    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 30):
        f = rng.normal(size=(n, 5))
        s = rng.uniform(size=n)
        ref, idx = naive_fuse(f, s, **kw)
        sel = select_elements(s, kw.get('threshold'), kw.get('topk'))
        assert sel.tolist() == idx
        np.testing.assert_allclose(fuse(f, s, **kw).numpy(), ref, atol=1e-12)


def test_rescale_weights_eq_9_11():
    s = torch.tensor([0.2, 0.8, 0.5])
    w = rescale_weights(s)
    torch.testing.assert_close(w, torch.tensor([0.0, 1.0, 0.5]))
    assert torch.equal(rescale_weights(torch.tensor([0.3, 0.3])),
                       torch.ones(2))


def test_open_cases():
    f = torch.tensor([[1., 0.], [0., 1.], [5., 5.]])
    s = torch.tensor([0.1, 0.05, 0.12])
    # nothing above threshold: the best element is kept alone
    torch.testing.assert_close(fuse(f, s, threshold=0.5), f[2])
    # two kept -> the lower gets weight 0: the result is the better one
    torch.testing.assert_close(fuse(f, s, topk=2), f[2])
    # equal scores -> equal weights
    torch.testing.assert_close(
        fuse(f, torch.full((3, ), 0.4)), f.mean(0))
    # ties in top-K: lower index first
    assert select_elements([0.5, 0.9, 0.5, 0.5], topk=2).tolist() == [1, 0]


def test_bad_inputs():
    with pytest.raises(ValueError, match='at least one'):
        fuse(torch.zeros(0, 3), torch.zeros(0))
    with pytest.raises(ValueError, match='one per element'):
        fuse(torch.zeros(3, 2), torch.zeros(2))
    with pytest.raises(ValueError, match='topk'):
        select_elements([0.1], topk=0)
    with pytest.raises(ValueError, match='NaN'):
        select_elements([0.1, float('nan')])
    with pytest.raises(ValueError, match='>= 0'):
        fuse(torch.ones(2, 2), torch.tensor([0.5, -0.1]), rescale=False)
    with pytest.raises(ValueError, match='sum\\(lengths\\)'):
        fuse_groups(torch.zeros(5, 2), torch.zeros(5), [2, 2])
    with pytest.raises(ValueError, match='lengths'):
        fuse_groups(torch.zeros(5, 2), torch.zeros(5), [5, 0])


@pytest.mark.parametrize('kw', CASES)
def test_fuse_groups_equals_per_group(kw):
    rng = np.random.default_rng(4)
    lengths = rng.integers(1, 40, size=300)
    lengths[:3] = [1, 2, 1]
    m = int(lengths.sum())
    f = rng.normal(size=(m, 6))
    s = rng.uniform(size=m)
    s[:4] = 0.3  # ties and a constant 2-group
    out = fuse_groups(f, s, lengths, **kw)
    assert out.shape == (300, 6)
    starts = np.cumsum(lengths) - lengths
    ref = np.stack([
        naive_fuse(f[a:a + n], s[a:a + n], **kw)[0]
        for a, n in zip(starts, lengths)
    ])
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-10)


def test_fuse_groups_large():
    """10,000+ elements in groups of up to 1,000, float32."""
    rng = np.random.default_rng(5)
    lengths = rng.integers(1, 1000, size=25)
    m = int(lengths.sum())
    assert m >= 10000
    f = torch.from_numpy(rng.normal(size=(m, 16))).float()
    s = torch.from_numpy(rng.uniform(size=m)).float()
    out = fuse_groups(f, s, lengths, threshold=0.15, topk=50)
    starts = np.cumsum(lengths) - lengths
    ref = torch.stack([
        fuse(f[a:a + n], s[a:a + n], threshold=0.15, topk=50)
        for a, n in zip(starts, lengths)
    ])
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def test_batched_and_one_group_views_agree():
    """Each step's batched form equals its one-group view group by group."""
    rng = np.random.default_rng(6)
    lengths = [1, 4, 2, 9, 3]
    s = torch.from_numpy(rng.uniform(size=sum(lengths)))
    s[5:7] = 0.5  # ties
    f = torch.from_numpy(rng.normal(size=(sum(lengths), 3)))
    idx, kept = select_groups(s, lengths, threshold=0.3, topk=3)
    starts = np.cumsum([0] + lengths[:-1])
    parts = idx.split(kept.tolist())
    for a, n, part in zip(starts, lengths, parts):
        local = select_elements(s[a:a + n], threshold=0.3, topk=3)
        assert (part - a).tolist() == local.tolist()
    w = rescale_groups(s[idx], kept)
    for part, wg in zip(parts, w.split(kept.tolist())):
        torch.testing.assert_close(wg, rescale_weights(s[part]))
    means = weighted_mean_groups(f[idx], w, kept)
    for part, wg, m in zip(parts, w.split(kept.tolist()), means):
        torch.testing.assert_close(m, weighted_mean(f[part], wg))
    out = fuse_groups(f, s, lengths, threshold=0.3, topk=3)
    torch.testing.assert_close(out, means)
    for a, n, o in zip(starts, lengths, out):
        torch.testing.assert_close(
            fuse(f[a:a + n], s[a:a + n], threshold=0.3, topk=3), o)
