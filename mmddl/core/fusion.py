"""Eq. 7-11: test-time selection, re-scaling and weighted fusion, batched
over groups (``*_groups``); the one-group functions are views of them."""
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .discriminability import as_float_tensor

ArrayLike = Union[torch.Tensor, np.ndarray, Sequence]


def _check_selection_args(threshold: Optional[float],
                          topk: Optional[int]) -> None:
    if topk is not None and int(topk) < 1:
        raise ValueError(f'topk must be >= 1, got {topk}')
    if threshold is not None and not np.isfinite(threshold):
        raise ValueError(f'threshold must be finite, got {threshold}')


def _group_ids(scores: torch.Tensor, lengths: ArrayLike) -> torch.Tensor:
    """Group id of every element; checks ``scores`` against ``lengths``."""
    n = torch.as_tensor(lengths, dtype=torch.long, device=scores.device)
    if n.dim() != 1 or n.numel() == 0 or bool((n < 1).any()):
        raise ValueError('lengths must be a non-empty vector of group sizes '
                         f'>= 1 (a group must have at least one element), '
                         f'got {n.tolist()}')
    if scores.dim() != 1 or scores.shape[0] != int(n.sum()):
        raise ValueError(f'expected scores (M,) with M = sum(lengths) = '
                         f'{int(n.sum())}, got {tuple(scores.shape)}')
    if not torch.isfinite(scores).all():
        raise ValueError('scores contain NaN or inf')
    return torch.repeat_interleave(
        torch.arange(n.numel(), device=scores.device), n)


def _one_group(x: ArrayLike, name: str) -> torch.Tensor:
    """A 1-D score vector of one non-empty group."""
    s = as_float_tensor(x)
    if s.dim() != 1:
        raise ValueError(f'{name} must be 1-D, got shape {tuple(s.shape)}')
    if s.numel() == 0:
        raise ValueError('a group must have at least one element')
    return s


def select_groups(scores: ArrayLike,
                  lengths: ArrayLike,
                  threshold: Optional[float] = None,
                  topk: Optional[int] = None
                  ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Elements kept for the base model, for many groups (Eq. 7 and top-K).

    Group g owns the next ``lengths[g]`` of the concatenated elements. Kept
    are the elements with score > ``threshold`` (all if None), at most the
    ``topk`` best of them; when nothing passes, the group's best element.

    Args:
        scores (ArrayLike): (M,) D-scores, M = sum(lengths).
        lengths (ArrayLike): (G,) group sizes, each >= 1.
        threshold (float, optional): Eq. 7 threshold.
        topk (int, optional): Keep at most K elements per group.

    Returns:
        tuple[Tensor, Tensor]: Kept indices into the M elements, group by
        group, each group's in descending score order (ties: lower index
        first); and the (G,) number kept per group (>= 1).
    """
    _check_selection_args(threshold, topk)
    s = as_float_tensor(scores)
    g = _group_ids(s, lengths)
    # order by (group, score desc, index asc); the rank within its group
    # is then the position minus the group's start
    order = torch.sort(s, descending=True, stable=True).indices
    order = order[torch.sort(g[order], stable=True).indices]
    counts = torch.bincount(g, minlength=int(g.max()) + 1)
    rank = torch.arange(
        g.numel(),
        device=s.device) - (torch.cumsum(counts, 0) - counts)[g[order]]
    keep = torch.ones_like(rank, dtype=torch.bool)
    if threshold is not None:
        keep &= (s[order] > threshold) | (rank == 0)
    if topk is not None:
        keep &= rank < int(topk)
    return order[keep], torch.bincount(
        g[order[keep]], minlength=counts.numel())


def select_elements(scores: ArrayLike,
                    threshold: Optional[float] = None,
                    topk: Optional[int] = None) -> torch.Tensor:
    """One-group view of :func:`select_groups`.

    Args:
        scores (ArrayLike): (N,) D-scores of one group's elements.
        threshold (float, optional): Eq. 7 threshold (keep score > t).
        topk (int, optional): Keep at most the K best-scored elements.

    Returns:
        Tensor: Kept indices in descending score order (ties: lower index
        first); never empty (the best element if nothing passes).
    """
    s = _one_group(scores, 'scores')
    return select_groups(s, [s.numel()], threshold, topk)[0]


def rescale_groups(kept_scores: ArrayLike, lengths: ArrayLike) -> torch.Tensor:
    """Min-max re-scaling of each group's kept scores to [0, 1] (Eq. 9-11).

    w = K * s + B with K = 1 / (max - min), B = 1 - K * max: a group's best
    kept element gets 1, its worst 0; equal weights (1) when max == min.

    Args:
        kept_scores (ArrayLike): (M,) kept scores, group by group.
        lengths (ArrayLike): (G,) kept elements per group, each >= 1.

    Returns:
        Tensor: (M,) weights.
    """
    s = as_float_tensor(kept_scores)
    g = _group_ids(s, lengths)
    G = int(g.max()) + 1
    hi = s.new_full((G, ), float('-inf')).scatter_reduce(0, g, s, 'amax')
    lo = s.new_full((G, ), float('inf')).scatter_reduce(0, g, s, 'amin')
    span = (hi - lo)[g]
    equal = span == 0
    k = 1.0 / torch.where(equal, torch.ones_like(span), span)
    w = (k * (s - hi[g]) + 1.0).clamp(0.0, 1.0)
    return torch.where(equal, torch.ones_like(w), w)


def rescale_weights(kept_scores: ArrayLike) -> torch.Tensor:
    """One-group view of :func:`rescale_groups`.

    Args:
        kept_scores (ArrayLike): (k,) scores of one group's kept elements.

    Returns:
        Tensor: (k,) weights.
    """
    s = _one_group(kept_scores, 'kept_scores')
    return rescale_groups(s, [s.numel()])


def weighted_mean_groups(feats: ArrayLike, weights: ArrayLike,
                         lengths: ArrayLike) -> torch.Tensor:
    """Weighted mean of each group's rows (Eq. 8).

    A group whose weights sum to 0 gets the plain mean of its rows.

    Args:
        feats (ArrayLike): (M, d) rows, group by group.
        weights (ArrayLike): (M,) weights >= 0.
        lengths (ArrayLike): (G,) rows per group, each >= 1.

    Returns:
        Tensor: (G, d) means.
    """
    f = as_float_tensor(feats)
    w = as_float_tensor(weights).to(device=f.device, dtype=f.dtype)
    g = _group_ids(w, lengths)
    if f.dim() != 2 or f.shape[0] != w.shape[0]:
        raise ValueError(f'feats must be ({w.shape[0]}, d), one row per '
                         f'element, got {tuple(f.shape)}')
    if bool((w < 0).any()):
        raise ValueError('fusion weights must be >= 0 (raw D-scores are in '
                         '(0, 1))')
    G = int(g.max()) + 1
    total = w.new_zeros(G).index_add_(0, g, w)
    w = torch.where((total <= 0)[g], torch.ones_like(w), w)
    total = w.new_zeros(G).index_add_(0, g, w)
    out = f.new_zeros(G, f.shape[1]).index_add_(0, g, w[:, None] * f)
    return out / total[:, None]


def weighted_mean(feats: ArrayLike, weights: ArrayLike) -> torch.Tensor:
    """One-group view of :func:`weighted_mean_groups`.

    Args:
        feats (ArrayLike): (k, d) rows.
        weights (ArrayLike): (k,) weights >= 0 (equal if they sum to 0).

    Returns:
        Tensor: (d,) weighted mean.
    """
    w = _one_group(weights, 'weights')
    return weighted_mean_groups(feats, w, [w.numel()])[0]


def fuse_groups(feats: ArrayLike,
                scores: ArrayLike,
                lengths: ArrayLike,
                threshold: Optional[float] = None,
                topk: Optional[int] = None,
                rescale: bool = True) -> torch.Tensor:
    """Select, weight and fuse many groups (Eq. 7-11), no loop over groups.

    Args:
        feats (ArrayLike): (M, d) element outputs, group by group.
        scores (ArrayLike): (M,) element D-scores.
        lengths (ArrayLike): (G,) group sizes, each >= 1.
        threshold (float, optional): Eq. 7 threshold; None keeps all.
        topk (int, optional): Keep at most K per group; None keeps all.
        rescale (bool): Weight by Eq. 9-11; else by the raw kept scores
            (which must then be >= 0).

    Returns:
        Tensor: (G, d) fused outputs.
    """
    f = as_float_tensor(feats)
    s = as_float_tensor(scores).to(device=f.device, dtype=f.dtype)
    if f.dim() != 2 or s.dim() != 1 or f.shape[0] != s.shape[0]:
        raise ValueError(f'feats must be (M, d) and scores (M,), one per '
                         f'element, got {tuple(f.shape)} and '
                         f'{tuple(s.shape)}')
    idx, kept = select_groups(s, lengths, threshold, topk)
    w = rescale_groups(s[idx], kept) if rescale else s[idx]
    return weighted_mean_groups(f[idx], w, kept)


def fuse(feats: ArrayLike,
         scores: ArrayLike,
         threshold: Optional[float] = None,
         topk: Optional[int] = None,
         rescale: bool = True) -> torch.Tensor:
    """One-group view of :func:`fuse_groups`.

    Args:
        feats (ArrayLike): (N, d) element outputs of the base model.
        scores (ArrayLike): (N,) D-scores from the DDNet.
        threshold (float, optional): Eq. 7 threshold; None keeps all.
        topk (int, optional): Keep at most K; None keeps all.
        rescale (bool): Eq. 9-11 weights; else the raw kept scores.

    Returns:
        Tensor: (d,) fused output.
    """
    s = _one_group(scores, 'scores')
    return fuse_groups(feats, s, [s.numel()], threshold, topk, rescale)[0]
