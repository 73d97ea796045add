"""Cross-camera re-ID of predicted tracks: a track's identity is the
ground-truth identity it overlaps most; queries of one camera are ranked
against the tracks of the other cameras (mAP, CMC)."""
from typing import Dict, Sequence

import numpy as np

from .reid_metrics import normalize_rows, pairwise_l2, reid_evaluate

#: identity of a track that overlaps no ground-truth box (a false track)
NO_IDENTITY = -1


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of ``(n, 4)`` and ``(m, 4)`` boxes given as ``x, y, w, h``.

    Args:
        a (np.ndarray): ``(n, 4)`` boxes.
        b (np.ndarray): ``(m, 4)`` boxes.

    Returns:
        np.ndarray: ``(n, m)`` IoU.
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 0] + a[:, None, 2], (b[:, 0] + b[:, 2])[None])
    y1 = np.minimum(a[:, None, 1] + a[:, None, 3], (b[:, 1] + b[:, 3])[None])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return inter / np.maximum(union, 1e-12)


def track_identities(pred_frames: Sequence[int],
                     pred_ids: Sequence[int],
                     pred_boxes: np.ndarray,
                     gt_frames: Sequence[int],
                     gt_ids: Sequence[int],
                     gt_boxes: np.ndarray,
                     iou_threshold: float = 0.5) -> Dict[int, dict]:
    """The ground-truth identity of every predicted track.

    In each frame, a predicted box overlaps the ground-truth box of
    highest IoU when that IoU is at least ``iou_threshold``; a track's
    identity is the ground-truth id it overlaps in most of its frames
    (the smaller id on a tie), :data:`NO_IDENTITY` when it overlaps none.

    Args:
        pred_frames (Sequence[int]): Frame of each predicted box.
        pred_ids (Sequence[int]): Track id of each predicted box.
        pred_boxes (np.ndarray): ``(n, 4)`` ``x, y, w, h``.
        gt_frames (Sequence[int]): Frame of each ground-truth box.
        gt_ids (Sequence[int]): Identity of each ground-truth box.
        gt_boxes (np.ndarray): ``(m, 4)`` ``x, y, w, h``.
        iou_threshold (float): Least IoU of an overlap.

    Returns:
        dict: ``{track id: dict(identity, frames, overlap)}``: ``frames``
        the track's boxes, ``overlap`` the share of them on its identity.
    """
    pf, pi = np.asarray(pred_frames), np.asarray(pred_ids)
    gf, gi = np.asarray(gt_frames), np.asarray(gt_ids)
    pb = np.asarray(pred_boxes, np.float64).reshape(-1, 4)
    gb = np.asarray(gt_boxes, np.float64).reshape(-1, 4)
    if not len(pf) == len(pi) == len(pb):
        raise ValueError(f'{len(pf)} frames, {len(pi)} ids and {len(pb)} '
                         'predicted boxes')
    if not len(gf) == len(gi) == len(gb):
        raise ValueError(f'{len(gf)} frames, {len(gi)} ids and {len(gb)} '
                         'ground-truth boxes')
    votes: Dict[int, Dict[int, int]] = {int(t): {} for t in np.unique(pi)}
    for frame in np.unique(pf):
        p = np.nonzero(pf == frame)[0]
        g = np.nonzero(gf == frame)[0]
        if not len(g):
            continue
        iou = box_iou(pb[p], gb[g])
        best = iou.argmax(1)
        for r, (k, j) in enumerate(zip(p, best)):
            if iou[r, j] >= iou_threshold:
                tv = votes[int(pi[k])]
                gid = int(gi[g[j]])
                tv[gid] = tv.get(gid, 0) + 1
    out = {}
    for t, tv in votes.items():
        n = int((pi == t).sum())
        if tv:
            gid = min(tv, key=lambda i: (-tv[i], i))
            out[t] = dict(identity=gid, frames=n, overlap=tv[gid] / n)
        else:
            out[t] = dict(identity=NO_IDENTITY, frames=n, overlap=0.0)
    return out


def cross_camera_queries(identities: Sequence[int],
                         cameras: Sequence[int]) -> np.ndarray:
    """Which tracks are queries of :func:`cross_camera_reid`: a track of a
    walker whom some track of another camera shows too (never a track of
    :data:`NO_IDENTITY`).

    Args:
        identities (Sequence[int]): Each track's identity.
        cameras (Sequence[int]): Each track's camera.

    Returns:
        np.ndarray: (T,) bool.
    """
    ids, cams = np.asarray(identities), np.asarray(cameras)
    if len(ids) != len(cams):
        raise ValueError(f'{len(ids)} identities and {len(cams)} cameras')
    out = np.zeros(len(ids), bool)
    for cam in np.unique(cams):
        q = (cams == cam) & (ids != NO_IDENTITY)
        out[q] = np.isin(ids[q], ids[cams != cam])
    return out


def cross_camera_reid(embeddings: np.ndarray,
                      identities: Sequence[int],
                      cameras: Sequence[int],
                      max_rank: int = 5) -> Dict[str, float]:
    """mAP and CMC of tracks across cameras.

    Each camera's tracks in turn are the queries and the tracks of every
    other camera the gallery; the average precision and the CMC of all
    queries are pooled. Distances are Euclidean between L2-normalised
    embeddings. A track of :data:`NO_IDENTITY` is never a query (in a
    gallery it never matches); a query whose identity no other camera
    has is skipped and counted.

    Args:
        embeddings (np.ndarray): ``(T, d)`` one embedding per track.
        identities (Sequence[int]): Each track's identity.
        cameras (Sequence[int]): Each track's camera.
        max_rank (int): Length of the CMC curve.

    Returns:
        dict: ``mAP``, ``rank1`` ... ``rank<max_rank>`` (percent),
        ``queries`` (scored), ``skipped_queries`` and ``no_identity``.
    """
    emb = np.asarray(embeddings, np.float64)
    ids, cams = np.asarray(identities), np.asarray(cameras)
    if not len(emb) == len(ids) == len(cams):
        raise ValueError(f'{len(emb)} embeddings, {len(ids)} identities and '
                         f'{len(cams)} cameras')
    if not np.isfinite(emb).all():
        raise ValueError('non-finite track embeddings')
    emb = normalize_rows(emb)
    is_query = cross_camera_queries(ids, cams)
    skipped = int(((ids != NO_IDENTITY) & ~is_query).sum())
    aps, cmcs = [], []
    for cam in np.unique(cams):
        q = np.nonzero((cams == cam) & is_query)[0]
        g = np.nonzero(cams != cam)[0]
        if not len(q):
            continue
        dist = pairwise_l2(emb[q], emb[g])
        cmc, _, det = reid_evaluate(
            dist,
            ids[q],
            ids[g],
            cams[q],
            cams[g],
            max_rank=max_rank,
            return_details=True)
        aps.append(det['ap'])
        cmcs.append(np.repeat(cmc[None], det['num_valid_queries'], 0))
    if not aps:
        raise ValueError('no track has its identity in another camera: '
                         'nothing to match across cameras')
    cmc = np.concatenate(cmcs).mean(0)
    out = dict(mAP=round(100 * float(np.concatenate(aps).mean()), 3))
    out.update({f'rank{r}': round(100 * float(cmc[r - 1]), 3)
                for r in range(1, max_rank + 1)})
    out.update(
        queries=int(sum(len(a) for a in aps)),
        skipped_queries=skipped,
        no_identity=int((ids == NO_IDENTITY).sum()))
    return out
