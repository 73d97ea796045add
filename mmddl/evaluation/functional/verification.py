"""Verification protocols: k-fold accuracy, TAR@FAR and TPR@FPR.

Scores are similarities; a pair is *same* when ``score >= threshold``.
"""
import warnings
from typing import NamedTuple, Sequence, Tuple, Union

import numpy as np

from ._utils import check_finite, check_same_length, to_binary_labels, to_numpy

#: Rules for reading TAR at a target FAR (see :func:`roc_tar_at_far`).
TAR_MODES = ('le', 'nearest', 'interp')


class KFoldResult(NamedTuple):
    """Result of :func:`kfold_accuracy`.

    Attributes:
        mean: Mean test accuracy over folds.
        std: Population std (``ddof=0``, as facenet/insightface report it).
        accuracies: (K,) test accuracy of each fold, in ``fold_ids`` order.
        thresholds: (K,) threshold chosen on the other folds for each fold.
        fold_ids: (K,) the sorted distinct fold ids.
    """
    mean: float
    std: float
    accuracies: np.ndarray
    thresholds: np.ndarray
    fold_ids: np.ndarray


def best_threshold(scores: np.ndarray,
                   is_same: np.ndarray) -> Tuple[float, float]:
    """Exact accuracy-maximising threshold on a set of scored pairs.

    Candidate thresholds are ``-inf``, ``+inf`` and the midpoints between
    consecutive distinct scores, i.e. every distinct way to split the pairs.
    Ties in accuracy are broken toward the strictest (largest) threshold, the
    same choice as facenet/insightface's ``argmax`` over an ascending distance
    grid.

    Args:
        scores (np.ndarray): (N,) similarities.
        is_same (np.ndarray): (N,) bool ground truth.

    Returns:
        tuple: ``(threshold, accuracy)`` on these pairs.
    """
    n = scores.size
    if n == 0:
        raise ValueError('best_threshold needs at least one pair.')
    order = np.argsort(scores, kind='mergesort')
    s, y = scores[order], is_same[order]
    # k = number of pairs predicted "different" (the k lowest scores).
    neg_below = np.r_[0, np.cumsum(~y)]  # negatives among first k
    pos_above = y.sum() - np.r_[0, np.cumsum(y)]  # positives among the rest
    correct = neg_below + pos_above
    valid = np.ones(n + 1, dtype=bool)
    valid[1:n] = s[:-1] < s[1:]  # split only between distinct
    correct = np.where(valid, correct, -1)
    k = int(np.flatnonzero(correct == correct.max())[-1])
    if k == 0:
        thr = -np.inf
    elif k == n:
        thr = np.inf
    else:
        thr = float((s[k - 1] + s[k]) / 2.0)
    return thr, float(correct[k]) / n


def kfold_accuracy(scores, is_same, folds) -> KFoldResult:
    """K-fold verification accuracy (LFW / YTF protocol).

    For every fold, the threshold maximising accuracy on the *other* folds is
    applied to that fold; mean and std of the per-fold accuracies are returned.

    Args:
        scores (np.ndarray): (N,) pair similarities.
        is_same (np.ndarray): (N,) 0/1 or bool ground truth.
        folds (np.ndarray): (N,) fold id of each pair (e.g. YTF split
            numbers 1..10).

    Returns:
        KFoldResult: ``(mean, std, accuracies, thresholds, fold_ids)``.
    """
    s = to_numpy(scores, 'scores', dtype=np.float64)
    y = to_binary_labels(is_same, 'is_same')
    f = to_numpy(folds, 'folds')
    check_same_length(scores=s, is_same=y, folds=f)
    check_finite(s, 'scores')
    fold_ids = np.unique(f)
    if fold_ids.size < 2:
        raise ValueError(
            f'kfold_accuracy needs >= 2 folds, got {fold_ids.tolist()}.')
    accs, thrs = [], []
    for fid in fold_ids:
        test = f == fid
        thr, _ = best_threshold(s[~test], y[~test])
        accs.append(float(np.mean((s[test] >= thr) == y[test])))
        thrs.append(thr)
    accs = np.asarray(accs)
    return KFoldResult(
        float(accs.mean()), float(accs.std()), accs, np.asarray(thrs),
        fold_ids)


def roc_points(scores, labels, drop_intermediate: bool = False):
    """ROC curve at every distinct score (sklearn ``roc_curve`` semantics).

    Args:
        scores (np.ndarray): (N,) similarities.
        labels (np.ndarray): (N,) 0/1 ground truth (1 = same identity /
            genuine).
        drop_intermediate (bool): Drop collinear points as sklearn does by
            default.

    Returns:
        tuple: ``(fpr, tpr, thresholds)``; ``thresholds[0] = +inf``.
    """
    s = to_numpy(scores, 'scores', dtype=np.float64)
    y = to_binary_labels(labels, 'labels')
    check_same_length(scores=s, labels=y)
    check_finite(s, 'scores')
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f'ROC needs both classes; got {n_pos} genuine and '
                         f'{n_neg} impostor pairs.')
    order = np.argsort(-s, kind='mergesort')
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tps = np.cumsum(y)[last]
    fps = 1 + last - tps
    if drop_intermediate and fps.size > 2:
        keep = np.flatnonzero(
            np.r_[True,
                  np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
        tps, fps, last = tps[keep], fps[keep], last[keep]
    tps, fps = np.r_[0, tps], np.r_[0, fps]
    thresholds = np.r_[np.inf, s[last]]
    return fps / n_neg, tps / n_pos, thresholds


def _read_tar(fpr: np.ndarray, tpr: np.ndarray, far: float,
              mode: str) -> float:
    """Read one TAR off an ROC curve (``mode``: see :func:`roc_tar_at_far`)."""
    if mode == 'nearest':
        diff = np.abs(fpr - far)
        return float(tpr[np.flatnonzero(diff == diff.min())[-1]])
    j = int(np.flatnonzero(fpr <= far)[-1])  # fpr[0] == 0 <= far always
    if mode == 'le' or fpr[j] == far or j == fpr.size - 1:
        return float(tpr[j])
    w = (far - fpr[j]) / (fpr[j + 1] - fpr[j])
    return float(tpr[j] + w * (tpr[j + 1] - tpr[j]))


def roc_tar_at_far(scores,
                   labels,
                   fars: Union[float, Sequence[float]] = (1e-6, 1e-5, 1e-4,
                                                          1e-3, 1e-2, 1e-1),
                   mode: str = 'le') -> np.ndarray:
    """True accept rate at target false accept rates (IJB-A/B/C protocols).

    Args:
        scores (np.ndarray): (N,) pair similarities.
        labels (np.ndarray): (N,) 0/1 ground truth.
        fars (float | Sequence[float]): Target FAR value(s) in (0, 1].
        mode (str): How TAR is read at a target FAR. ``'le'``: the largest TAR
            among ROC points whose FAR is ``<= target`` (never a FAR above
            the target). ``'nearest'``: insightface's IJB-B/C rule
            (``ijb_11.py``): the point of ``roc_curve(...,
            drop_intermediate=True)`` whose FAR is closest to the target
            (ties: the later point); its FAR may exceed the target.
            ``'interp'``: linear interpolation at the target. All three
            agree when an ROC point lies exactly at the target.

    Returns:
        np.ndarray: (len(fars),) TAR for each target, in the given order.

    Warns:
        UserWarning: When a target FAR is below ``1 / num_impostor_pairs``:
            the value is then read at FAR = 0 and is not meaningful.
    """
    if mode not in TAR_MODES:
        raise ValueError(f'mode must be one of {TAR_MODES}, got {mode!r}.')
    fars = np.atleast_1d(np.asarray(fars, dtype=np.float64))
    if ((fars <= 0) | (fars > 1)).any():
        raise ValueError(f'fars must lie in (0, 1], got {fars.tolist()}.')
    fpr, tpr, _ = roc_points(
        scores, labels, drop_intermediate=mode == 'nearest')
    n_neg = int((~to_binary_labels(labels)).sum())
    too_small = fars < 1.0 / n_neg
    if too_small.any():
        warnings.warn(f'FAR targets {fars[too_small].tolist()} are below '
                      f'1/{n_neg} impostor pairs; their TAR is not resolved.')
    return np.array([_read_tar(fpr, tpr, far, mode) for far in fars])


def tpr_at_fpr(scores, labels, fpr: float = 1e-4, mode: str = 'le') -> float:
    """TPR at one target FPR (same semantics as :func:`roc_tar_at_far`).

    Args:
        scores (np.ndarray): (N,) pair similarities.
        labels (np.ndarray): (N,) 0/1 ground truth.
        fpr (float): Target false positive rate.
        mode (str): ``'le'`` | ``'nearest'`` | ``'interp'``.

    Returns:
        float: The TPR.
    """
    return float(roc_tar_at_far(scores, labels, [fpr], mode=mode)[0])


def roc_tar_at_far_folds(scores,
                         labels,
                         folds,
                         fars=(1e-3, 1e-2, 1e-1),
                         mode: str = 'le'):
    """TAR@FAR computed separately on each fold/split, then mean and std.

    This is the IJB-A 1:1 protocol (10 splits, mean +- std over splits).

    Args:
        scores (np.ndarray): (N,) pair similarities.
        labels (np.ndarray): (N,) 0/1 ground truth.
        folds (np.ndarray): (N,) split id of each pair.
        fars (Sequence[float]): Target FARs.
        mode (str): ``'le'`` | ``'nearest'`` | ``'interp'``.

    Returns:
        tuple: ``(mean (F,), std (F,) with ddof=0, per_fold (K, F),
        fold_ids (K,))``.
    """
    s = to_numpy(scores, 'scores', dtype=np.float64)
    y = to_binary_labels(labels, 'labels')
    f = to_numpy(folds, 'folds')
    check_same_length(scores=s, labels=y, folds=f)
    fold_ids = np.unique(f)
    per_fold = np.stack(
        [roc_tar_at_far(s[f == k], y[f == k], fars, mode) for k in fold_ids])
    return per_fold.mean(0), per_fold.std(0), per_fold, fold_ids


def _max_false_accepts(far: float, n_neg: int) -> int:
    """Largest k with ``k / n_neg <= far`` (same float test as ``'le'``)."""
    k = int(np.floor(far * n_neg))
    while k + 1 <= n_neg and (k + 1) / n_neg <= far:
        k += 1
    while k > 0 and k / n_neg > far:
        k -= 1
    return k


def tpr_at_fpr_all_pairs(feats,
                         labels,
                         fpr: float = 1e-4,
                         chunk_size: int = 1024,
                         normalize: bool = True,
                         dtype=None) -> float:
    """TPR at FPR over *all* unordered pairs of a set (iQIYI-VID-FACE style).

    Equals ``tpr_at_fpr(all_pair_scores, all_pair_labels, fpr, mode='le')``
    but never materialises the N(N-1)/2 scores: it keeps every genuine score
    and only the ``k + 1`` highest impostor scores (``k`` = largest number of
    false accepts allowed), computing similarities block by block.

    Args:
        feats (np.ndarray | torch.Tensor): (N, d) features.
        labels (np.ndarray): (N,) integer identity labels.
        fpr (float): Target false positive rate.
        chunk_size (int): Rows per similarity block.
        normalize (bool): L2-normalise features first (cosine similarity).
        dtype (torch.dtype, optional): dtype of the products (default
            float32; float64 reproduces a float64 reference bit-for-bit).

    Returns:
        float: The TPR.
    """
    import torch
    x = feats if isinstance(feats, torch.Tensor) else torch.as_tensor(
        np.asarray(feats))
    x = x.detach().to(dtype or torch.float32)
    if x.ndim != 2:
        raise ValueError(f'`feats` must be 2-D, got shape {tuple(x.shape)}.')
    lab = torch.as_tensor(to_numpy(labels, 'labels')).to(x.device)
    if lab.numel() != x.shape[0]:
        raise ValueError(f'{x.shape[0]} features but {lab.numel()} labels.')
    if normalize:
        x = torch.nn.functional.normalize(x, dim=1)
    n = x.shape[0]
    counts = torch.unique(lab, return_counts=True)[1].to(torch.float64)
    n_pos = int((counts * (counts - 1) / 2).sum().item())
    n_neg = n * (n - 1) // 2 - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError(
            f'Need genuine and impostor pairs; got {n_pos} and {n_neg}.')
    keep = _max_false_accepts(fpr, n_neg) + 1  # the (k+1)-th impostor decides
    pos_scores, top_neg = [], x.new_empty(0)
    for a in range(0, n, chunk_size):
        b = min(a + chunk_size, n)
        sim = x[a:b] @ x[a:].T
        rows = torch.arange(a, b, device=x.device)[:, None]
        cols = torch.arange(a, n, device=x.device)[None, :]
        upper = cols > rows
        same = lab[a:b, None] == lab[None, a:]
        pos_scores.append(sim[upper & same])
        neg = torch.cat([top_neg, sim[upper & ~same]])
        top_neg = torch.topk(neg, min(keep, neg.numel())).values
    pos = torch.cat(pos_scores)
    if keep > n_neg:  # every impostor may be accepted: threshold -inf
        return 1.0
    v = top_neg.min()
    return float((pos > v).to(torch.float64).mean().item())


def media_template_pool(feats,
                        media_ids,
                        det_scores=None,
                        normalize: bool = True):
    """insightface's IJB-B/C template feature from its image features.

    Image features (optionally multiplied by their detection scores,
    insightface's ``use_detector_score``) are averaged within each media (a
    video's frames count once), the media features are summed and the sum is
    L2-normalised.

    Args:
        feats (np.ndarray | torch.Tensor): (n, d) image features of one
            template.
        media_ids (np.ndarray): (n,) media id of each image.
        det_scores (np.ndarray, optional): (n,) detection scores used as
            weights.
        normalize (bool): L2-normalise the result.

    Returns:
        (d,) template feature, same type (numpy / torch) as ``feats``.
    """
    import torch
    is_np = not isinstance(feats, torch.Tensor)
    x = torch.as_tensor(np.asarray(feats)) if is_np else feats
    if x.ndim != 2:
        raise ValueError(f'`feats` must be (n, d), got {tuple(x.shape)}.')
    mids = torch.as_tensor(to_numpy(media_ids, 'media_ids'), device=x.device)
    if mids.numel() != x.shape[0]:
        raise ValueError(
            f'{x.shape[0]} features but {mids.numel()} media ids.')
    if det_scores is not None:
        w = torch.as_tensor(
            to_numpy(det_scores, 'det_scores'), dtype=x.dtype, device=x.device)
        if w.numel() != x.shape[0]:
            raise ValueError(
                f'{x.shape[0]} features but {w.numel()} detection scores.')
        x = x * w[:, None]
    uniq, inv = torch.unique(mids, return_inverse=True)
    sums = x.new_zeros(len(uniq), x.shape[1]).index_add_(0, inv, x)
    counts = torch.bincount(inv, minlength=len(uniq)).to(x.dtype)
    out = (sums / counts[:, None]).sum(0)
    if normalize:
        out = torch.nn.functional.normalize(out, dim=0)
    return out.numpy() if is_np else out
