"""Re-identification retrieval metrics: CMC and mAP (Market-1501 / MARS)."""
from typing import Tuple

import numpy as np

from ._utils import check_finite, check_same_length, to_numpy


def reid_evaluate(distmat,
                  q_pids,
                  g_pids,
                  q_camids,
                  g_camids,
                  max_rank: int = 50,
                  return_details: bool = False):
    """CMC curve and mAP of a query-gallery distance matrix.

    Args:
        distmat (np.ndarray): (Q, G) distances (smaller = more similar).
        q_pids (np.ndarray): (Q,) query identity ids.
        g_pids (np.ndarray): (G,) gallery identity ids (distractors, e.g.
            MARS pid 0, simply never match).
        q_camids (np.ndarray): (Q,) query camera ids.
        g_camids (np.ndarray): (G,) gallery camera ids.
        max_rank (int): Length of the returned CMC curve.
            Gallery entries at equal distance are ranked non-matches first
            (a tie is not a hit; torchreid's unstable sort may rank either
            first).
        return_details (bool): Also return a dict with per-query AP and the
            number of valid / skipped queries.

    Returns:
        tuple: ``(cmc (max_rank,), mAP)`` and, if requested, the details dict.
        ``cmc[r-1]`` is the rank-r accuracy.

    Raises:
        ValueError: On shape mismatches, non-finite distances or when no query
            has a valid match in the gallery.
    """
    dist = to_numpy(distmat, 'distmat', ndim=2, dtype=np.float64)
    q_pids, g_pids = to_numpy(q_pids, 'q_pids'), to_numpy(g_pids, 'g_pids')
    q_cam, g_cam = to_numpy(q_camids,
                            'q_camids'), to_numpy(g_camids, 'g_camids')
    check_same_length(distmat_rows=dist, q_pids=q_pids, q_camids=q_cam)
    check_same_length(distmat_cols=dist.T, g_pids=g_pids, g_camids=g_cam)
    check_finite(dist, 'distmat')
    if max_rank < 1:
        raise ValueError(f'max_rank must be >= 1, got {max_rank}.')

    all_cmc, all_ap, valid = [], [], np.zeros(len(q_pids), dtype=bool)
    for q in range(len(q_pids)):
        # equal distances: the non-matches first (a tie is no hit)
        order = np.lexsort((g_pids == q_pids[q], dist[q]))
        keep = ~((g_pids[order] == q_pids[q]) & (g_cam[order] == q_cam[q]))
        hits = (g_pids[order][keep] == q_pids[q]).astype(np.float64)
        if not hits.any():
            continue
        valid[q] = True
        cmc = np.minimum(np.cumsum(hits), 1.0)
        if cmc.size < max_rank:
            cmc = np.r_[cmc, np.full(max_rank - cmc.size, cmc[-1])]
        all_cmc.append(cmc[:max_rank])
        precision = np.cumsum(hits) / np.arange(1, hits.size + 1)
        all_ap.append(float((precision * hits).sum() / hits.sum()))
    if not all_cmc:
        raise ValueError('No query has a correct match in the gallery '
                         '(after removing same-pid same-camera entries).')
    cmc = np.mean(all_cmc, axis=0)
    m_ap = float(np.mean(all_ap))
    if not return_details:
        return cmc, m_ap
    details = dict(
        ap=np.asarray(all_ap),
        valid_query=valid,
        num_valid_queries=int(valid.sum()),
        num_skipped_queries=int((~valid).sum()))
    return cmc, m_ap, details


def normalize_rows(feats) -> np.ndarray:
    """L2-normalised rows as float64 (a zero row stays zero).

    Args:
        feats (np.ndarray | torch.Tensor): (T, d) features.
    """
    feats = to_numpy(feats, 'feats', ndim=2, dtype=np.float64)
    norm = np.linalg.norm(feats, axis=1, keepdims=True)
    return feats / np.where(norm > 0, norm, 1.0)


def pairwise_l2(query, gallery, squared: bool = False) -> np.ndarray:
    """Euclidean distance matrix between two feature sets.

    Args:
        query (np.ndarray | torch.Tensor): (Q, d) features.
        gallery (np.ndarray | torch.Tensor): (G, d) features.
        squared (bool): Return squared distances (same ranking, cheaper).

    Returns:
        np.ndarray: (Q, G) distances.
    """
    q = to_numpy(query, 'query', ndim=2, dtype=np.float64)
    g = to_numpy(gallery, 'gallery', ndim=2, dtype=np.float64)
    if q.shape[1] != g.shape[1]:
        raise ValueError(f'Feature dims differ: {q.shape[1]} vs {g.shape[1]}.')
    d2 = (q**2).sum(1)[:, None] + (g**2).sum(1)[None, :] - 2.0 * q @ g.T
    d2 = np.maximum(d2, 0.0)
    return d2 if squared else np.sqrt(d2)


def cmc_at(cmc: np.ndarray, ranks: Tuple[int, ...] = (1, 5, 20)) -> dict:
    """Pick ``{f'rank{r}': cmc[r-1]}`` entries from a CMC curve.

    Args:
        cmc (np.ndarray): CMC curve from :func:`reid_evaluate`.
        ranks (Tuple[int, ...]): 1-based ranks.

    Returns:
        dict: ``rank -> accuracy``.
    """
    out = {}
    for r in ranks:
        if not 1 <= r <= len(cmc):
            raise ValueError(
                f'rank {r} outside the CMC curve (length {len(cmc)}).')
        out[f'rank{r}'] = float(cmc[r - 1])
    return out
