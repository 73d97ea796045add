"""Blocked hardest-negative search == mmddl.core.discriminability."""
import numpy as np
import pytest
import torch

import mmddl  # noqa: F401
from mmddl.core import class_centroids, discriminability
from mmddl.engine.fast_similarity import (HardestNegativeSearch,
                                          blocked_discriminability,
                                          resolve_sim_dtype)


def _data(n=150, k=13, d=16, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, k, (n, ), generator=g)
    means = torch.randn(k, d, generator=g, dtype=dtype)
    f = means[y] + 0.7 * torch.randn(n, d, generator=g, dtype=dtype)
    return f, y, class_centroids(f, y, k)


def _numpy_reference(f, y, c, metric):
    """Eq. 2-3 row by row in float64 numpy (independent of both codes)."""
    f, c = f.double().numpy(), c.double().numpy()
    valid = ~np.isnan(c).any(1)
    out = []
    for x, t in zip(f, y.tolist()):
        others = [j for j in range(len(c)) if valid[j] and j != t]
        if metric == 'cosine':
            nx = np.linalg.norm(x)
            cos = [0.0 if nx == 0 else x @ c[j] / nx / np.linalg.norm(c[j])
                   for j in range(len(c))]
            out.append(cos[t] / max(max(cos[j] for j in others), 1e-2))
        else:
            dist = [np.linalg.norm(x - c[j]) for j in range(len(c))]
            out.append(min(dist[j] for j in others) / max(dist[t], 1e-6))
    return np.array(out)


@pytest.mark.parametrize('metric', ['cosine', 'euclidean'])
@pytest.mark.parametrize('row_chunk,col_chunk', [(4096, 16384), (37, 1),
                                                 (11, 5)])
def test_matches_core_and_numpy(metric, row_chunk, col_chunk):
    f, y, c = _data()
    ref = _numpy_reference(f, y, c, metric)
    core = discriminability(f, y, c, metric)
    for sim in (None, 'float32'):
        out = blocked_discriminability(f, y, c, metric, row_chunk, col_chunk,
                                       sim_dtype=sim)
        assert out.dtype == torch.float64
        np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10)
        np.testing.assert_allclose(out.numpy(), core.numpy(), rtol=1e-10)


@pytest.mark.parametrize('metric', ['cosine', 'euclidean'])
def test_float32_input_and_memmap(tmp_path, metric):
    f, y, c = _data(dtype=torch.float32)
    path = str(tmp_path / 'f.npy')
    np.save(path, f.numpy())
    mm = np.load(path, mmap_mode='r')
    out = blocked_discriminability(mm, y, c, metric, row_chunk=33,
                                   col_chunk=4)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(),
                               discriminability(f, y, c, metric).numpy(),
                               rtol=2e-5)


def test_edge_cases_like_core():
    f, y, c = _data(n=50, k=5, d=4)
    c[3] = float('nan')  # excluded class: never a negative
    keep = y != 3
    f, y = f[keep], y[keep]
    f[0] = 0  # zero feature: cosine D = 0
    f[1] = -c[y[1]] * 3  # opposite its own centroid: stays negative
    for metric in ('cosine', 'euclidean'):
        out = blocked_discriminability(f, y, c, metric, col_chunk=2)
        ref = _numpy_reference(f, y, c, metric)
        np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10)
    out = blocked_discriminability(f, y, c, 'cosine')
    assert out[0] == 0 and out[1] < 0
    # a lone far-away element: hardest-negative cosine floored at 0.01
    c2 = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]],
                      dtype=torch.float64)
    d = blocked_discriminability(torch.tensor([[1.0, 0.0]]), [0], c2)
    assert d.item() == pytest.approx(1 / 1e-2)


def test_low_precision_search_deviation():
    """bf16 / fp16 search + float64 refinement: small, bounded deviation."""
    f, y, c = _data(n=300, k=40, d=32)
    exact = blocked_discriminability(f, y, c)
    for sim, bound in (('float16', 1e-2), ('bfloat16', 5e-2)):
        fine = blocked_discriminability(f, y, c, sim_dtype=sim)
        raw = blocked_discriminability(f, y, c, sim_dtype=sim, refine=False)
        rel = ((fine - exact).abs() / exact.abs()).max().item()
        rel_raw = ((raw - exact).abs() / exact.abs()).max().item()
        assert rel < bound and rel <= rel_raw
        # refined: wherever the same negative is chosen, exact agreement
        same = (fine - exact).abs() < 1e-12
        assert same.float().mean() > 0.9


def test_errors():
    f, y, c = _data(n=10, k=3, d=4)
    with pytest.raises(ValueError, match='metric'):
        blocked_discriminability(f, y, c, 'dot')
    with pytest.raises(ValueError, match='sim_dtype'):
        resolve_sim_dtype('int8', torch.float32)
    with pytest.raises(ValueError, match=r'centroids must be \(K, 5\)'):
        blocked_discriminability(torch.zeros(10, 5), y, c)
    with pytest.raises(ValueError, match='label 7'):
        blocked_discriminability(f, torch.full((10, ), 7), c)
    with pytest.raises(ValueError, match='at least 2'):
        HardestNegativeSearch(c[:1])
    bad = f.clone()
    bad[2, 1] = float('inf')
    with pytest.raises(ValueError, match='NaN or inf'):
        blocked_discriminability(bad, y, c)
    c_nan = c.clone()
    c_nan[int(y[0])] = float('nan')
    with pytest.raises(ValueError, match='excluded'):
        blocked_discriminability(f, y, c_nan)
    with pytest.raises(ValueError, match='row_chunk'):
        blocked_discriminability(f, y, c, row_chunk=0)


@pytest.mark.parametrize('metric', ['cosine', 'euclidean'])
def test_sliced_refinement_single_thread(metric):
    """One intra-op thread: the refinement runs in cache-sized row slices."""
    f, y, c = _data(n=100, k=7, d=2048)  # slices of 65536 // d = 32 rows
    f[3] = 0
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = blocked_discriminability(f, y, c, metric, sim_dtype='float32')
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_allclose(out.numpy(), _numpy_reference(f, y, c, metric),
                               rtol=1e-10)
