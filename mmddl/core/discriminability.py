"""Discriminability of training elements: the paper's Eq. 2-4.

Every function is pure (tensors in, tensors out); numpy arrays are accepted
and converted. Computation happens in float32 or float64 (whatever comes in;
integer/half inputs are promoted to float32).
"""
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

ArrayLike = Union[torch.Tensor, np.ndarray, Sequence]

#: Floor for the hardest-negative cosine similarity (Eq. 2-3 denominator).
NEG_COS_FLOOR = 1e-2
#: Floor for the own-centroid Euclidean distance (Eq. 2-3 denominator).
DIST_FLOOR = 1e-6


def as_float_tensor(x: ArrayLike) -> torch.Tensor:
    """Convert to a floating tensor (float32 unless already float64/32)."""
    t = torch.as_tensor(x)
    if t.dtype not in (torch.float32, torch.float64):
        t = t.float()
    return t


def as_label_tensor(labels: ArrayLike, n: int) -> torch.Tensor:
    """Convert labels to an int64 vector of length ``n``, checking them."""
    y = torch.as_tensor(labels)
    if y.dim() != 1 or y.numel() != n:
        raise ValueError(f'labels must be a vector of length {n} (one per '
                         f'feature), got shape {tuple(y.shape)}')
    if y.is_floating_point():
        if not torch.equal(y, y.round()):
            raise ValueError('labels must be integers')
    y = y.long()
    if n and int(y.min()) < 0:
        raise ValueError(f'labels must be >= 0, got {int(y.min())}')
    return y


def _check_feats(feats: torch.Tensor) -> None:
    if feats.dim() != 2:
        raise ValueError('feats must be 2-D (N, d), got shape '
                         f'{tuple(feats.shape)}')
    if not torch.isfinite(feats).all():
        raise ValueError('feats contain NaN or inf')


def centroid_sums(feats: ArrayLike, labels: ArrayLike,
                  num_classes: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-class feature sums and counts (the additive part of Eq. 2's C_m).

    Sums and counts can be added across shards or ranks (all-reduce) before
    dividing, which gives exactly the centroids of the whole set.

    Args:
        feats: (N, d) features.
        labels: (N,) class indices in ``[0, num_classes)``.
        num_classes: K.

    Returns:
        ``(sums (K, d), counts (K,))``; counts are int64.
    """
    f = as_float_tensor(feats)
    _check_feats(f)
    y = as_label_tensor(labels, f.shape[0])
    if f.shape[0] and int(y.max()) >= num_classes:
        raise ValueError(f'label {int(y.max())} >= num_classes={num_classes}')
    sums = torch.zeros(num_classes, f.shape[1], dtype=f.dtype,
                       device=f.device)
    sums.index_add_(0, y.to(f.device), f)
    counts = torch.bincount(y, minlength=num_classes).to(torch.int64)
    return sums, counts


def centroids_from_sums(sums: torch.Tensor, counts: torch.Tensor,
                        on_empty: str = 'error') -> torch.Tensor:
    """Divide per-class sums by counts (see :func:`class_centroids`)."""
    empty = (counts == 0).nonzero().flatten().tolist()
    if empty and on_empty == 'error':
        raise ValueError(
            f'{len(empty)} class(es) have no samples: {empty[:10]}'
            f'{" ..." if len(empty) > 10 else ""}. Pass num_classes matching '
            "the data, or on_empty='exclude' to give them NaN centroids "
            'that discriminability() ignores.')
    if on_empty not in ('error', 'exclude'):
        raise ValueError(f"on_empty must be 'error' or 'exclude', got "
                         f'{on_empty!r}')
    c = sums / counts.clamp(min=1).to(sums.dtype).unsqueeze(1).to(sums.device)
    if empty:
        c[empty] = float('nan')
    return c


def class_centroids(feats: ArrayLike,
                    labels: ArrayLike,
                    num_classes: Optional[int] = None,
                    on_empty: str = 'error') -> torch.Tensor:
    """Class centroids C_m: the mean feature of each class (Eq. 2).

    Args:
        feats: (N, d) features f_i of the training elements.
        labels: (N,) class index of each element.
        num_classes: K; defaults to ``max(labels) + 1``.
        on_empty: what to do with a class that has no sample: ``'error'``
            raises a ValueError naming the classes; ``'exclude'`` gives that
            class a NaN centroid, which :func:`discriminability` skips (it is
            neither anyone's positive nor a negative). The excluded classes
            are those with ``torch.isnan(centroids).any(1)``.

    Returns:
        (K, d) centroids.
    """
    f = as_float_tensor(feats)
    _check_feats(f)
    y = as_label_tensor(labels, f.shape[0])
    if num_classes is None:
        if f.shape[0] == 0:
            raise ValueError('cannot infer num_classes from no samples')
        num_classes = int(y.max()) + 1
    sums, counts = centroid_sums(f, y, num_classes)
    return centroids_from_sums(sums, counts, on_empty)


def discriminability_ratio(pos: torch.Tensor, neg: torch.Tensor,
                           metric: str = 'cosine') -> torch.Tensor:
    """The ratio of Eq. 2-3 from positive and hardest-negative terms.

    Args:
        pos: (n,) cosine to the own centroid (``'cosine'``) or squared
            distance to it (``'euclidean'``).
        neg: (n,) largest cosine to any other centroid, or smallest squared
            distance to one.
        metric: ``'cosine'`` or ``'euclidean'``.

    Returns:
        (n,) D = pos / max(neg, NEG_COS_FLOOR) (cosine), or
        sqrt(neg) / max(sqrt(pos), DIST_FLOOR) (euclidean).
    """
    if metric == 'cosine':
        return pos / neg.clamp(min=NEG_COS_FLOOR)
    return neg.sqrt() / pos.sqrt().clamp(min=DIST_FLOOR)


def discriminability(feats: ArrayLike,
                     labels: ArrayLike,
                     centroids: ArrayLike,
                     metric: str = 'cosine',
                     chunk_size: int = 4096) -> torch.Tensor:
    """Raw discriminability D_i of each element (Eq. 2-3).

    ``metric='cosine'``: D_i = cos(f_i, C_pos) / max_{n != pos} cos(f_i, C_n).
    ``metric='euclidean'``: D_i = min_{n != pos} ||f_i - C_n|| / ||f_i - C_pos||.
    In both, larger means more discriminative.

    Edge cases (no inf or NaN ever comes out):
        * hardest-negative cosine <= ``NEG_COS_FLOOR`` (0.01): the denominator
          is clamped to ``NEG_COS_FLOOR``. Such an element is far from every
          other class, so its ratio is large but finite; the sign of the
          numerator is kept (an element opposite its own centroid stays
          negative).
        * a zero-norm feature (or centroid) has cosine 0 to everything, so
          its D_i is 0 (cosine metric).
        * own distance < ``DIST_FLOOR`` (euclidean): clamped to ``DIST_FLOOR``.
        * centroids that are NaN (classes excluded by
          ``class_centroids(on_empty='exclude')``) are ignored as negatives;
          an element whose own centroid is NaN raises ValueError.

    Memory is O(chunk_size x K); the result does not depend on chunk_size.
    Cosine similarities are computed in the input dtype; Euclidean distances
    always in float64 (the |f|^2 - 2 f.c + |c|^2 expansion cancels in
    float32 when a feature lies close to its centroid).

    Args:
        feats: (N, d) features.
        labels: (N,) class index of each element (its positive centroid).
        centroids: (K, d) class centroids, K >= 2.
        metric: ``'cosine'`` or ``'euclidean'``.
        chunk_size: rows of the N x K similarity computed at once.

    Returns:
        (N,) raw discriminability, in the dtype of ``feats``.
    """
    if metric not in ('cosine', 'euclidean'):
        raise ValueError(f"metric must be 'cosine' or 'euclidean', got "
                         f'{metric!r}')
    if chunk_size < 1:
        raise ValueError(f'chunk_size must be >= 1, got {chunk_size}')
    f = as_float_tensor(feats)
    _check_feats(f)
    c = as_float_tensor(centroids).to(device=f.device, dtype=f.dtype)
    if c.dim() != 2 or c.shape[1] != f.shape[1]:
        raise ValueError(f'centroids must be (K, {f.shape[1]}), got '
                         f'{tuple(c.shape)}')
    y = as_label_tensor(labels, f.shape[0]).to(f.device)
    num_classes = c.shape[0]
    valid = ~torch.isnan(c).any(1)
    if int(valid.sum()) < 2:
        raise ValueError('discriminability needs at least 2 (non-excluded) '
                         f'class centroids, got {int(valid.sum())}')
    if f.shape[0] and int(y.max()) >= num_classes:
        raise ValueError(f'label {int(y.max())} >= number of centroids '
                         f'{num_classes}')
    if f.shape[0] and not bool(valid[y].all()):
        bad = y[~valid[y]].unique().tolist()
        raise ValueError(f'elements of excluded (empty) classes {bad[:10]} '
                         'have no centroid')
    c = torch.where(valid.unsqueeze(1), c, torch.zeros_like(c))
    if metric == 'cosine':
        c = F.normalize(c, dim=1)
    else:
        c64 = c.double()
        c_sq = (c64 * c64).sum(1)
    out = torch.empty(f.shape[0], dtype=f.dtype, device=f.device)
    for start in range(0, f.shape[0], chunk_size):
        fc = f[start:start + chunk_size]
        yc = y[start:start + chunk_size]
        rows = torch.arange(fc.shape[0], device=f.device)
        if metric == 'cosine':
            sim = F.normalize(fc, dim=1) @ c.T
            pos = sim[rows, yc]
            sim[rows, yc] = -float('inf')
            sim[:, ~valid] = -float('inf')
            out[start:start + fc.shape[0]] = discriminability_ratio(
                pos, sim.max(1).values, 'cosine')
        else:
            # squared distances via the expansion, in float64: in float32
            # it cancels for features close to their centroid
            fc = fc.double()
            d2 = ((fc * fc).sum(1, keepdim=True) - 2 * fc @ c64.T
                  + c_sq.unsqueeze(0)).clamp(min=0)
            pos = d2[rows, yc].clone()
            d2[rows, yc] = float('inf')
            d2[:, ~valid] = float('inf')
            out[start:start + fc.shape[0]] = discriminability_ratio(
                pos, d2.min(1).values, 'euclidean').to(f.dtype)
    return out


def discriminability_stats(d: ArrayLike) -> Tuple[float, float]:
    """Mean and (population) standard deviation of raw D over a set (Eq. 4).

    Args:
        d: (N,) raw discriminability, N >= 1.

    Returns:
        ``(mean, std)`` as Python floats (computed in float64).
    """
    t = as_float_tensor(d).double().flatten()
    if t.numel() == 0:
        raise ValueError('cannot compute statistics of an empty set')
    if not torch.isfinite(t).all():
        raise ValueError('discriminability values contain NaN or inf')
    return float(t.mean()), float(t.std(unbiased=False))


def normalize_discriminability(d: ArrayLike,
                               mean: Optional[float] = None,
                               std: Optional[float] = None) -> torch.Tensor:
    """D-score: sigmoid of the z-score of raw discriminability (Eq. 4).

    Args:
        d: (N,) raw discriminability.
        mean: statistics to normalise with; computed from ``d`` when None
            (pass the training set's to score other data consistently).
        std: as ``mean``. If ``std == 0`` (all training D equal) every
            z-score is defined as 0, so every D-score is 0.5.

    Returns:
        (N,) D-scores in (0, 1), dtype of ``d``.
    """
    t = as_float_tensor(d)
    if (mean is None) != (std is None):
        raise ValueError('give both mean and std, or neither')
    if mean is None:
        mean, std = discriminability_stats(t)
    if std < 0 or not np.isfinite(std) or not np.isfinite(mean):
        raise ValueError(f'invalid statistics mean={mean}, std={std}')
    if std == 0:
        return torch.full_like(t, 0.5)
    return torch.sigmoid((t - mean) / std)
