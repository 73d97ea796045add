"""Eq. 2-4 against straightforward numpy re-implementations."""
import numpy as np
import pytest
import torch

from mmddl.core import (centroid_sums, class_centroids, discriminability,
                        discriminability_stats, normalize_discriminability,
                        normalize_discriminability_per_class)
from mmddl.core.discriminability import (NEG_COS_FLOOR,
                                         HardestNegativeSearch,
                                         check_normalization,
                                         resolve_search_dtype)

SEARCH_DTYPES = ('float64', 'float32', 'float16', 'bfloat16')


def naive_centroids(f, y, k):
    return np.stack([f[y == m].mean(0) for m in range(k)])


def naive_d(f, y, c, metric):
    """Eq. 2-3 row by row in float64 numpy; NaN centroids are skipped."""
    f, c = np.asarray(f, np.float64), np.asarray(c, np.float64)
    valid = ~np.isnan(c).any(1)
    out = np.empty(len(f))
    for i in range(len(f)):
        others = [m for m in range(len(c)) if valid[m] and m != y[i]]
        if metric == 'cosine':
            nf = np.linalg.norm(f[i])
            sims = [0.0 if nf == 0 else np.dot(f[i], c[m]) / nf /
                    np.linalg.norm(c[m]) for m in range(len(c))]
            neg = max(sims[m] for m in others)
            out[i] = sims[y[i]] / max(neg, NEG_COS_FLOOR)
        else:
            dists = [np.linalg.norm(f[i] - c[m]) for m in range(len(c))]
            neg = min(dists[m] for m in others)
            out[i] = neg / max(dists[y[i]], 1e-6)
    return out


def make_data(n, k, d, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d))
    y = rng.integers(0, k, size=n)
    y[:k] = np.arange(k)  # every class present
    f = centers[y] + rng.normal(scale=1.5, size=(n, d))
    return f, y


@pytest.mark.parametrize('metric', ['cosine', 'euclidean'])
def test_matches_naive_small(metric):
    f, y = make_data(300, 7, 16)
    c = class_centroids(f, y)
    np.testing.assert_allclose(c.numpy(), naive_centroids(f, y, 7), atol=1e-10)
    d = discriminability(f, y, c, metric=metric, chunk_size=37)
    np.testing.assert_allclose(d.numpy(), naive_d(f, y, c.numpy(), metric),
                               rtol=1e-8, atol=1e-10)
    s = normalize_discriminability(d)
    z = (d.numpy() - d.numpy().mean()) / d.numpy().std()
    np.testing.assert_allclose(s.numpy(), 1 / (1 + np.exp(-z)), atol=1e-12)


@pytest.mark.parametrize('metric', ['cosine', 'euclidean'])
def test_large_and_chunk_invariant(metric):
    """N >= 10,000 and K >= 1,000, checked against a dense numpy version."""
    n, k, dim = 12000, 1000, 32
    f, y = make_data(n, k, dim, seed=1)
    f32 = torch.from_numpy(f).float()
    c = class_centroids(f32, y)
    np.testing.assert_allclose(
        c.numpy(), naive_centroids(f, y, k), rtol=1e-4, atol=1e-4)
    cd = c.double().numpy()
    fd = f32.double().numpy()
    if metric == 'cosine':
        sim = (fd / np.linalg.norm(fd, axis=1, keepdims=True)) @ (
            cd / np.linalg.norm(cd, axis=1, keepdims=True)).T
        pos = sim[np.arange(n), y].copy()
        sim[np.arange(n), y] = -np.inf
        ref = pos / np.maximum(sim.max(1), NEG_COS_FLOOR)
    else:
        dist = np.concatenate([  # direct differences, 500 rows at a time
            np.sqrt(((fd[i:i + 500, None, :] - cd[None]) ** 2).sum(-1))
            for i in range(0, n, 500)
        ])
        pos = dist[np.arange(n), y].copy()
        dist[np.arange(n), y] = np.inf
        ref = dist.min(1) / pos
    a = discriminability(f32, y, c, metric=metric, chunk_size=1024)
    b = discriminability(f32, y, c, metric=metric, chunk_size=777)
    assert a.dtype == torch.float32 and a.shape == (n, )
    np.testing.assert_allclose(a.numpy(), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-6)


def test_nonpositive_negative_and_zero_norm():
    c = torch.tensor([[1., 0.], [-1., 0.]])
    f = torch.tensor([[1., 0.], [0., 0.], [-1., 0.], [0., 1.]])
    y = torch.tensor([0, 0, 1, 0])
    d = discriminability(f, y, c)
    assert torch.isfinite(d).all()
    # hardest negative cos = -1 -> clamped to the floor
    assert d[0] == pytest.approx(1 / NEG_COS_FLOOR)
    assert d[1] == 0  # zero-norm feature: cos 0 to everything
    assert d[2] == pytest.approx(1 / NEG_COS_FLOOR)
    assert d[3] == 0  # orthogonal to both
    e = discriminability(torch.tensor([[1., 0.]]), [0], c, metric='euclidean')
    assert torch.isfinite(e).all() and e[0] > 1e5  # own distance floored


def test_empty_class_error_and_exclude():
    f = np.random.default_rng(0).normal(size=(10, 4))
    y = np.array([0] * 5 + [2] * 5)
    with pytest.raises(ValueError, match='no samples: \\[1\\]'):
        class_centroids(f, y)
    c = class_centroids(f, y, on_empty='exclude')
    assert torch.isnan(c[1]).all() and not torch.isnan(c[[0, 2]]).any()
    d = discriminability(f, y, c)
    ref = discriminability(f, np.where(y == 2, 1, 0), c[[0, 2]])
    torch.testing.assert_close(d, ref)
    with pytest.raises(ValueError, match='excluded'):
        discriminability(f, np.ones(10, dtype=int), c)


def test_bad_inputs():
    f = torch.randn(6, 3)
    with pytest.raises(ValueError, match='length 6'):
        class_centroids(f, [0, 1])
    with pytest.raises(ValueError, match='at least 2'):
        discriminability(f, [0] * 6, class_centroids(f, [0] * 6))
    with pytest.raises(ValueError, match='metric'):
        discriminability(f, [0, 1] * 3, torch.randn(2, 3), metric='l1')
    with pytest.raises(ValueError, match='NaN'):
        class_centroids(torch.full((2, 3), float('nan')), [0, 1])
    with pytest.raises(ValueError, match='num_classes'):
        centroid_sums(f, [0, 1, 2, 0, 1, 2], num_classes=2)


def test_centroid_sums_add_across_shards():
    f, y = make_data(500, 5, 8)
    s1, n1 = centroid_sums(f[:200], y[:200], 5)
    s2, n2 = centroid_sums(f[200:], y[200:], 5)
    np.testing.assert_allclose(((s1 + s2) / (n1 + n2)[:, None]).numpy(),
                               naive_centroids(f, y, 5), atol=1e-10)


def test_normalize_with_given_stats_and_zero_std():
    d = torch.tensor([1., 2., 3.])
    mean, std = discriminability_stats(d)
    assert (mean, std) == pytest.approx((2.0, np.std([1, 2, 3])))
    other = normalize_discriminability(torch.tensor([2., 5.]), mean, std)
    np.testing.assert_allclose(
        other.numpy(), 1 / (1 + np.exp(-(np.array([2., 5.]) - 2) / std)),
        rtol=1e-6)
    const = normalize_discriminability(torch.ones(4))
    assert torch.equal(const, torch.full((4, ), 0.5))
    with pytest.raises(ValueError, match='both'):
        normalize_discriminability(d, mean=1.0)


def test_normalize_per_class_against_numpy():
    rng = np.random.default_rng(0)
    d = rng.normal(1.5, 0.3, 40)
    y = rng.integers(0, 4, 40)
    y[-1] = 7  # a class of one element
    got = normalize_discriminability_per_class(torch.from_numpy(d), y)
    want = np.empty_like(d)
    for c in np.unique(y):
        m = y == c
        sd = d[m].std()
        want[m] = 0.5 if sd == 0 else 1 / (1 + np.exp(-(d[m] - d[m].mean()) /
                                                  sd))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    assert got[-1] == 0.5
    # a shift of one class's raw D leaves every score unchanged
    shifted = d + np.where(y == 2, 10.0, 0.0)
    torch.testing.assert_close(
        normalize_discriminability_per_class(torch.from_numpy(shifted), y),
        got)
    with pytest.raises(ValueError, match='length 40'):
        normalize_discriminability_per_class(torch.from_numpy(d), y[:-1])
    with pytest.raises(ValueError, match='normalization'):
        check_normalization('identity')


def _data(n=150, k=13, d=16, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, k, (n, ), generator=g)
    means = torch.randn(k, d, generator=g, dtype=dtype)
    f = means[y] + 0.7 * torch.randn(n, d, generator=g, dtype=dtype)
    return f, y, class_centroids(f, y, k)


@pytest.mark.parametrize('search_dtype', SEARCH_DTYPES)
def test_euclidean_hardest_negative_is_exact(search_dtype):
    """Three centroids 0.02 apart at |c| = 1000: a float32 score
    f.c - |c|^2/2 cannot rank them; D must still be the float64 one."""
    f = torch.tensor([[1000., 0.012]], dtype=torch.float64)
    c = torch.tensor([[1000., 0], [1000, -.02], [1000, .02]],
                     dtype=torch.float64)
    d = discriminability(f, torch.tensor([0]), c, 'euclidean',
                         search_dtype=search_dtype)
    ref = naive_d(f.numpy(), [0], c.numpy(), 'euclidean')
    assert ref[0] == pytest.approx(0.008 / 0.012)
    assert d.item() == pytest.approx(ref[0], rel=1e-12)


def _near_tie_data(metric, n=64, k=40, d=24, seed=3):
    """Every row's two hardest negatives differ by less than float32's
    round-off of their scores (features of norm ~30, offset centroids)."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(k, d))
    y = rng.integers(0, k, size=n)
    f = c[y] + 0.3 * rng.normal(size=(n, d))
    if metric == 'euclidean':
        c, f = c + 30.0, f + 30.0  # a large common offset
    for i in range(n):  # twin of the nearest negative, 1e-9 further
        nearest = [m for m in np.argsort(((f[i] - c) ** 2).sum(1))
                   if m != y[i]][0]
        twin = (y[i] + 1 + (nearest == (y[i] + 1) % k)) % k
        direction = c[nearest] - f[i]
        c[twin] = c[nearest] + 1e-9 * direction / np.linalg.norm(direction)
        if metric == 'cosine':
            c[twin] = c[nearest] * (1 + 1e-9) + 1e-9 * rng.normal(size=d)
    return f, y, c


@pytest.mark.parametrize('metric', ['cosine', 'euclidean'])
@pytest.mark.parametrize('search_dtype', SEARCH_DTYPES)
def test_near_ties_match_float64_numpy(metric, search_dtype):
    f, y, c = _near_tie_data(metric)
    ref = naive_d(f, y, c, metric)
    out = discriminability(torch.from_numpy(f), y, torch.from_numpy(c),
                           metric, chunk_size=17, block_size=7,
                           search_dtype=search_dtype)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12)


@pytest.mark.parametrize('metric', ['cosine', 'euclidean'])
def test_chunk_block_and_dtype_invariance(metric):
    f, y, c = _data()
    ref = naive_d(f.numpy(), y.numpy(), c.numpy(), metric)
    for chunk, block in ((4096, 16384), (37, 1), (11, 5)):
        for sd in SEARCH_DTYPES:
            out = discriminability(f, y, c, metric, chunk, block,
                                   search_dtype=sd)
            assert out.dtype == torch.float64
            np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12)


@pytest.mark.parametrize('metric', ['cosine', 'euclidean'])
def test_float32_input_and_memmap(tmp_path, metric):
    f, y, c = _data(dtype=torch.float32)
    path = str(tmp_path / 'f.npy')
    np.save(path, f.numpy())
    out = discriminability(np.load(path, mmap_mode='r'), y, c, metric,
                           chunk_size=33, block_size=4)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(),
                               naive_d(f.numpy(), y.numpy(), c.numpy(),
                                       metric), rtol=1e-6)


def test_edge_cases_blocked():
    f, y, c = _data(n=50, k=5, d=4)
    c[3] = float('nan')  # excluded class: never a negative
    keep = y != 3
    f, y = f[keep], y[keep]
    f[0] = 0  # zero feature: cosine D = 0
    f[1] = -c[y[1]] * 3  # opposite its own centroid: stays negative
    for metric in ('cosine', 'euclidean'):
        out = discriminability(f, y, c, metric, block_size=2)
        np.testing.assert_allclose(
            out.numpy(), naive_d(f.numpy(), y.numpy(), c.numpy(), metric),
            rtol=1e-12)
    out = discriminability(f, y, c, 'cosine')
    assert out[0] == 0 and out[1] < 0


def test_search_errors():
    f, y, c = _data(n=10, k=3, d=4)
    with pytest.raises(ValueError, match='search_dtype'):
        resolve_search_dtype('int8')
    with pytest.raises(ValueError, match=r'centroids must be \(K, 5\)'):
        discriminability(torch.zeros(10, 5), y, c)
    with pytest.raises(ValueError, match='label 7'):
        discriminability(f, torch.full((10, ), 7), c)
    with pytest.raises(ValueError, match='at least 2'):
        HardestNegativeSearch(c[:1])
    with pytest.raises(ValueError, match='block_size'):
        HardestNegativeSearch(c, block_size=0)
    with pytest.raises(ValueError, match='metric'):
        HardestNegativeSearch(c, metric='dot')
    bad = f.clone()
    bad[2, 1] = float('inf')
    with pytest.raises(ValueError, match='NaN or inf'):
        discriminability(bad, y, c)
    with pytest.raises(ValueError, match='chunk_size'):
        discriminability(f, y, c, chunk_size=0)


@pytest.mark.parametrize('metric', ['cosine', 'euclidean'])
def test_exact_recheck_batches_and_both_paths(monkeypatch, metric):
    """The float64 re-check in batches of a few rows: rows with one
    candidate (one pass for both terms) and near ties (several candidates
    per row) both give the float64 D."""
    import sys
    module = sys.modules[HardestNegativeSearch.__module__]
    monkeypatch.setattr(module, '_EXACT_BATCH', 50)
    exact, widths = HardestNegativeSearch._exact, []

    def spy(self, x, rows, cols):
        widths.append(cols.shape[1])  # 2: both terms in one pass
        return exact(self, x, rows, cols)

    monkeypatch.setattr(HardestNegativeSearch, '_exact', spy)
    f, y, c = _data()  # well separated: one candidate per row
    ref = naive_d(f.numpy(), y.numpy(), c.numpy(), metric)
    out = discriminability(f, y, c, metric, search_dtype='float32')
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12)
    assert set(widths) == {2}
    f, y, c = _near_tie_data(metric)
    ref = naive_d(f, y, c, metric)
    for block in (7, 1000):
        widths.clear()
        out = discriminability(
            torch.from_numpy(f),
            y,
            torch.from_numpy(c),
            metric,
            block_size=block,
            search_dtype='float32')
        np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12)
        assert 1 in widths  # several candidates: pairs gathered
