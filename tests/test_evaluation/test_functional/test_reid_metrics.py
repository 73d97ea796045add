"""reid_evaluate vs. a straightforward re-implementation of the standard protocol."""
import mmddl  # noqa: F401  (compat first)

# isort: split
import numpy as np
import pytest
import torch

from mmddl.evaluation.functional import cmc_at, pairwise_l2, reid_evaluate


def _naive_reid(dist, q_pids, g_pids, q_cams, g_cams, max_rank):
    """Plain-python Market-1501 evaluation (one query at a time, lists
    only); at equal distance the non-matches rank first (a tie is no hit)."""
    cmcs, aps = [], []
    for q in range(len(q_pids)):
        ranked = sorted(
            range(len(g_pids)),
            key=lambda g: (dist[q][g], g_pids[g] == q_pids[q], g))
        ranked = [g for g in ranked
                  if not (g_pids[g] == q_pids[q] and g_cams[g] == q_cams[q])]
        matches = [1 if g_pids[g] == q_pids[q] else 0 for g in ranked]
        if sum(matches) == 0:
            continue
        first = matches.index(1)
        cmcs.append([1.0 if r >= first else 0.0 for r in range(max_rank)])
        hits, precisions = 0, []
        for rank, m in enumerate(matches, start=1):
            if m:
                hits += 1
                precisions.append(hits / rank)
        aps.append(sum(precisions) / len(precisions))
    return np.mean(cmcs, axis=0), float(np.mean(aps))


def _random_problem(rng, nq=25, ng=120, npid=15, ncam=4, ties=False):
    q_pids = rng.integers(1, npid, nq)
    g_pids = np.r_[rng.integers(0, npid, ng - 10), q_pids[:10]]  # 0 = distractor
    q_cams, g_cams = rng.integers(0, ncam, nq), rng.integers(0, ncam, ng)
    dist = rng.random((nq, ng))
    if ties:
        dist = np.round(dist, 1)
    return dist, q_pids, g_pids, q_cams, g_cams


@pytest.mark.parametrize('ties', [False, True])
@pytest.mark.parametrize('max_rank', [1, 5, 20])
def test_reid_evaluate_vs_naive(ties, max_rank):
    dist, qp, gp, qc, gc = _random_problem(np.random.default_rng(0), ties=ties)
    cmc, m_ap = reid_evaluate(dist, qp, gp, qc, gc, max_rank=max_rank)
    ref_cmc, ref_ap = _naive_reid(dist.tolist(), qp.tolist(), gp.tolist(),
                                  qc.tolist(), gc.tolist(), max_rank)
    np.testing.assert_allclose(cmc, ref_cmc)
    assert m_ap == pytest.approx(ref_ap)
    assert cmc.shape == (max_rank,)


def test_reid_hand_example_and_same_camera_removal():
    # gallery order by distance: g0 (pid 1, cam 0 -> removed: same pid+cam),
    # g1 (pid 2), g2 (pid 1, cam 1), g3 (pid 1, cam 2)
    dist = np.array([[0.1, 0.2, 0.3, 0.4]])
    cmc, m_ap, det = reid_evaluate(dist, [1], [1, 2, 1, 1], [0], [0, 0, 1, 2],
                                   max_rank=3, return_details=True)
    # ranking after removal: g1 (miss), g2 (hit), g3 (hit)
    np.testing.assert_allclose(cmc, [0.0, 1.0, 1.0])
    assert m_ap == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert det['num_valid_queries'] == 1 and det['num_skipped_queries'] == 0


def test_reid_skips_queries_without_match_and_pads():
    dist = np.array([[0.1, 0.2], [0.3, 0.1]])
    # query 1 (pid 9) has no gallery match -> skipped; gallery shorter than rank
    cmc, m_ap, det = reid_evaluate(dist, [1, 9], [2, 1], [0, 0], [1, 1],
                                   max_rank=5, return_details=True)
    np.testing.assert_allclose(cmc, [0, 1, 1, 1, 1])
    assert m_ap == pytest.approx(0.5)
    assert det['valid_query'].tolist() == [True, False]
    with pytest.raises(ValueError, match='No query'):
        reid_evaluate(dist, [7, 9], [2, 1], [0, 0], [1, 1])


def test_reid_bad_shapes():
    with pytest.raises(ValueError, match='Length mismatch'):
        reid_evaluate(np.zeros((2, 3)), [1, 2], [1, 2], [0, 0], [0, 0])
    with pytest.raises(ValueError, match='2-D'):
        reid_evaluate(np.zeros(3), [1], [1, 2, 3], [0], [0, 0, 0])


def test_pairwise_l2_and_cmc_at():
    rng = np.random.default_rng(1)
    q, g = rng.normal(size=(4, 8)), rng.normal(size=(6, 8))
    ref = np.array([[np.linalg.norm(a - b) for b in g] for a in q])
    np.testing.assert_allclose(pairwise_l2(torch.from_numpy(q), g), ref, atol=1e-9)
    np.testing.assert_allclose(pairwise_l2(q, g, squared=True), ref ** 2, atol=1e-9)
    assert cmc_at(np.array([0.5, 0.6, 0.7]), (1, 3)) == {'rank1': 0.5, 'rank3': 0.7}
    with pytest.raises(ValueError, match='rank 5'):
        cmc_at(np.array([0.5, 0.6]), (5,))
