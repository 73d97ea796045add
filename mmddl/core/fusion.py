"""Test-time selection and weighted fusion of a group: the paper's Eq. 7-11.

Definitions for the cases the paper leaves open:
    * nothing passes the threshold (Eq. 7): the single best-scored element is
      kept, so every group yields a result;
    * threshold and top-K together: the top-K among those above threshold;
    * one element kept, or all kept scores equal: Eq. 10's K = 1/(max-min)
      divides by zero, so the kept elements get equal weights;
    * after Eq. 9-11 re-scaling the lowest kept element gets weight exactly 0
      and so does not contribute (with two kept elements the result is the
      better one). This is the paper's behaviour; ``rescale=False`` keeps the
      raw scores as weights instead;
    * ``rescale=False`` with kept scores summing to 0: equal weights;
    * ties in top-K are broken by the lower element index.
"""
from typing import Optional, Sequence, Union

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


def _check_scores(s: torch.Tensor) -> None:
    if s.dim() != 1:
        raise ValueError(f'scores must be 1-D, got shape {tuple(s.shape)}')
    if s.numel() == 0:
        raise ValueError('a group must have at least one element')
    if not torch.isfinite(s).all():
        raise ValueError('scores contain NaN or inf')


def _check_nonnegative(s: torch.Tensor) -> None:
    if bool((s < 0).any()):
        raise ValueError('rescale=False uses the raw scores as weights, so '
                         'they must be >= 0 (D-scores are in (0, 1))')


def select_elements(scores: ArrayLike,
                    threshold: Optional[float] = None,
                    topk: Optional[int] = None) -> torch.Tensor:
    """Indices of the elements kept for the base model (Eq. 7 and top-K).

    Args:
        scores: (N,) D-scores of one group's elements.
        threshold: keep elements with score > threshold (Eq. 7).
        topk: keep (at most) the K best-scored elements.

    Returns:
        LongTensor of kept indices in descending score order (ties: lower
        index first). Never empty: if nothing passes, the best element.
    """
    _check_selection_args(threshold, topk)
    s = as_float_tensor(scores)
    _check_scores(s)
    order = torch.sort(s, descending=True, stable=True).indices
    if threshold is not None:
        n_pass = int((s > threshold).sum())
        order = order[:max(n_pass, 1)]
    if topk is not None:
        order = order[:int(topk)]
    return order


def rescale_weights(kept_scores: ArrayLike) -> torch.Tensor:
    """Min-max re-scaling of the kept scores to [0, 1] (Eq. 9-11).

    w = K * s + B with K = 1 / (max - min) and B = 1 - K * max, so the best
    kept element gets 1 and the worst 0. Equal weights (1) when max == min.

    Args:
        kept_scores: (k,) scores of the kept elements.

    Returns:
        (k,) weights.
    """
    s = as_float_tensor(kept_scores)
    _check_scores(s)
    hi, lo = s.max(), s.min()
    if hi == lo:
        return torch.ones_like(s)
    k = 1.0 / (hi - lo)
    b = 1.0 - k * hi
    return (k * s + b).clamp(0.0, 1.0)


def weighted_mean(feats: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted mean of rows (Eq. 8); equal weights if they sum to 0."""
    w = weights.to(feats.dtype)
    total = w.sum()
    if total <= 0:
        w = torch.ones_like(w)
        total = w.sum()
    return (w.unsqueeze(1) * feats).sum(0) / total


def fuse(feats: ArrayLike,
         scores: ArrayLike,
         threshold: Optional[float] = None,
         topk: Optional[int] = None,
         rescale: bool = True) -> torch.Tensor:
    """Fuse one group's element features (or clip scores) (Eq. 7-11).

    Args:
        feats: (N, d) per-element outputs of the base model.
        scores: (N,) D-scores from the DDNet.
        threshold: Eq. 7 threshold (keep score > t); None keeps all.
        topk: keep at most K best-scored elements; None keeps all.
        rescale: apply Eq. 9-11 to the kept scores; else weight by the raw
            kept scores.

    Returns:
        (d,) fused feature.
    """
    f = as_float_tensor(feats)
    if f.dim() != 2:
        raise ValueError(f'feats must be (N, d), got {tuple(f.shape)}')
    s = as_float_tensor(scores).to(f.device)
    if s.dim() != 1 or s.shape[0] != f.shape[0]:
        raise ValueError(f'scores must be ({f.shape[0]},), one per element, '
                         f'got {tuple(s.shape)}')
    if not rescale:
        _check_nonnegative(s)
    idx = select_elements(s, threshold, topk)
    kept = s[idx]
    w = rescale_weights(kept) if rescale else kept
    return weighted_mean(f[idx], w)


def fuse_groups(feats: ArrayLike,
                scores: ArrayLike,
                lengths: ArrayLike,
                threshold: Optional[float] = None,
                topk: Optional[int] = None,
                rescale: bool = True) -> torch.Tensor:
    """Batched :func:`fuse` for many groups of different sizes.

    Elements of all groups are concatenated: group g owns the next
    ``lengths[g]`` rows. Vectorised (no Python loop over groups); gives the
    same result as calling :func:`fuse` on each group.

    Args:
        feats: (sum(lengths), d) element features.
        scores: (sum(lengths),) element D-scores.
        lengths: (G,) group sizes, each >= 1.
        threshold: as in :func:`fuse`.
        topk: as in :func:`fuse`.
        rescale: as in :func:`fuse`.

    Returns:
        (G, d) fused group features.
    """
    _check_selection_args(threshold, topk)
    f = as_float_tensor(feats)
    s = as_float_tensor(scores).to(device=f.device, dtype=f.dtype)
    n = torch.as_tensor(lengths, dtype=torch.long, device=f.device)
    if n.dim() != 1 or n.numel() == 0 or bool((n < 1).any()):
        raise ValueError('lengths must be a non-empty vector of group sizes '
                         '>= 1')
    if f.dim() != 2 or s.dim() != 1 or f.shape[0] != s.shape[0] or \
            int(n.sum()) != f.shape[0]:
        raise ValueError(
            f'expected feats (M, d) and scores (M,) with M = sum(lengths) = '
            f'{int(n.sum())}, got {tuple(f.shape)} and {tuple(s.shape)}')
    if not torch.isfinite(s).all():
        raise ValueError('scores contain NaN or inf')
    if not rescale:
        _check_nonnegative(s)
    g = torch.repeat_interleave(torch.arange(n.numel(), device=f.device), n)
    # order elements by (group, score desc, index asc): the rank within its
    # group is then the position minus the group's start.
    order = torch.sort(s, descending=True, stable=True).indices
    order = order[torch.sort(g[order], stable=True).indices]
    starts = torch.cumsum(n, 0) - n
    rank = torch.empty_like(g)
    rank[order] = torch.arange(g.numel(), device=f.device) - starts[g[order]]
    keep = torch.ones_like(s, dtype=torch.bool)
    if threshold is not None:
        keep &= (s > threshold) | (rank == 0)
    if topk is not None:
        keep &= rank < int(topk)
    G = n.numel()
    inf = torch.tensor(float('inf'), dtype=s.dtype, device=f.device)
    hi = torch.full((G,), -inf, dtype=s.dtype, device=f.device).scatter_reduce(
        0, g, torch.where(keep, s, -inf), 'amax')
    lo = torch.full((G,), inf, dtype=s.dtype, device=f.device).scatter_reduce(
        0, g, torch.where(keep, s, inf), 'amin')
    if rescale:
        span = hi - lo
        equal = span == 0
        k = torch.where(equal, torch.zeros_like(span), 1.0 / torch.where(
            equal, torch.ones_like(span), span))
        b = torch.where(equal, torch.ones_like(span), 1.0 - k * hi)
        w = (k[g] * s + b[g]).clamp(0.0, 1.0)
    else:
        w = s.clone()
    w = torch.where(keep, w, torch.zeros_like(w))
    total = torch.zeros(G, dtype=s.dtype, device=f.device).index_add_(0, g, w)
    # groups whose kept weights sum to 0: equal weights over kept elements
    zero = total <= 0
    if bool(zero.any()):
        w = torch.where(zero[g] & keep, torch.ones_like(w), w)
        total = torch.zeros(G, dtype=s.dtype,
                            device=f.device).index_add_(0, g, w)
    out = torch.zeros(G, f.shape[1], dtype=f.dtype, device=f.device)
    out.index_add_(0, g, w.unsqueeze(1) * f)
    return out / total.unsqueeze(1)
