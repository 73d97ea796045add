"""Blocked hardest-negative search for the discriminability pass (Eq. 2-3).

:func:`mmddl.core.discriminability` holds a ``chunk x K`` similarity block in
the features' dtype. At MS1M scale (K = 85,742 classes) one 4096-row block of
float64 similarities is 2.8 GB, and the float64 matmul runs at half the fp32
rate (a small fraction of it on most GPUs). This module computes the same D
with

* a ``row_chunk x col_chunk`` block at a time and a running hardest negative
  (value and index) over the centroid blocks, so memory is
  O(row_chunk x col_chunk) whatever N and K are;
* the hardest-negative *search* in ``sim_dtype`` (float32 by default;
  float16 / bfloat16 on a GPU), then the positive and the selected negative
  recomputed in the compute dtype (float64 for float64 inputs), and the
  ratio of Eq. 2-3 (with the floors of :mod:`mmddl.core.discriminability`)
  taken in that dtype. A low-precision search can only pick a different
  negative when two candidates are within its round-off of each other, so
  D deviates from the exact value by about that round-off (measured in
  ``docs/benchmarks.md``). ``refine=False`` keeps the ``sim_dtype``
  similarities (only the ratio in the compute dtype);
* cosine without normalising the (n, d) rows: the hardest negative
  ``argmax_c f . c_hat`` does not depend on ``||f||``, and the cosines are
  the (refined) dot products divided by ``||f||`` (rows are normalised only
  for a float16 search, whose range is small). With the centroids prepared
  once per pass, the per-chunk work is the matmul plus O(n (d + K)).

The equations are the core's: the floors ``NEG_COS_FLOOR`` / ``DIST_FLOOR``
and the input checks come from :mod:`mmddl.core.discriminability`, and the
tests compare this function with :func:`mmddl.core.discriminability`.
"""
from typing import Optional, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

from mmddl.core.discriminability import (ArrayLike, as_float_tensor,
                                         as_label_tensor,
                                         discriminability_ratio)

DTypeLike = Union[None, str, torch.dtype]
_DTYPES = {
    'float64': torch.float64, 'double': torch.float64,
    'float32': torch.float32, 'fp32': torch.float32, 'float': torch.float32,
    'float16': torch.float16, 'half': torch.float16, 'fp16': torch.float16,
    'bfloat16': torch.bfloat16, 'bf16': torch.bfloat16,
}


def resolve_sim_dtype(sim_dtype: DTypeLike,
                      compute_dtype: torch.dtype) -> torch.dtype:
    """The torch dtype of the similarity matmul (None: ``compute_dtype``)."""
    if sim_dtype is None:
        return compute_dtype
    if isinstance(sim_dtype, torch.dtype):
        dt = sim_dtype
    elif isinstance(sim_dtype, str) and sim_dtype.lower() in _DTYPES:
        dt = _DTYPES[sim_dtype.lower()]
    else:
        raise ValueError(f'sim_dtype must be one of {sorted(set(_DTYPES))} or '
                         f'None, got {sim_dtype!r}')
    if dt not in (torch.float64, torch.float32, torch.float16,
                  torch.bfloat16):
        raise ValueError(f'unsupported sim_dtype {dt}')
    return dt


def _prepare_centroids(centroids: ArrayLike, dtype: torch.dtype,
                       device: torch.device
                       ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Centroids in ``dtype`` (invalid rows zeroed) and their validity."""
    c = as_float_tensor(centroids).to(device=device, dtype=dtype)
    if c.dim() != 2:
        raise ValueError(f'centroids must be 2-D (K, d), got '
                         f'{tuple(c.shape)}')
    valid = ~torch.isnan(c).any(1)
    if int(valid.sum()) < 2:
        raise ValueError('discriminability needs at least 2 (non-excluded) '
                         f'class centroids, got {int(valid.sum())}')
    c = torch.where(valid.unsqueeze(1), c, torch.zeros_like(c))
    return c, valid


class HardestNegativeSearch:
    """Centroids prepared once for many row chunks (see the module doc).

    Args:
        centroids: (K, d) class centroids; NaN rows are excluded classes
            (neither positive nor negative), as in the core.
        metric: ``'cosine'`` or ``'euclidean'``.
        compute_dtype: dtype of the positive / selected-negative similarity
            and of the ratio (float64 or float32).
        sim_dtype: dtype of the search matmul (None: ``compute_dtype``).
        col_chunk: centroids per block of the running search.
        device: where the similarities are computed (default: the
            centroids' device).
    """

    def __init__(self,
                 centroids: ArrayLike,
                 metric: str = 'cosine',
                 compute_dtype: torch.dtype = torch.float64,
                 sim_dtype: DTypeLike = 'float32',
                 col_chunk: int = 16384,
                 device: Union[None, str, torch.device] = None) -> None:
        if metric not in ('cosine', 'euclidean'):
            raise ValueError(f"metric must be 'cosine' or 'euclidean', got "
                             f'{metric!r}')
        if col_chunk < 1:
            raise ValueError(f'col_chunk must be >= 1, got {col_chunk}')
        if compute_dtype not in (torch.float32, torch.float64):
            raise ValueError('compute_dtype must be float32 or float64, got '
                             f'{compute_dtype}')
        c0 = torch.as_tensor(centroids)
        self.device = torch.device(device) if device is not None \
            else c0.device
        self.metric = metric
        self.compute_dtype = compute_dtype
        self.sim_dtype = resolve_sim_dtype(sim_dtype, compute_dtype)
        self.col_chunk = col_chunk
        c, valid = _prepare_centroids(c0, compute_dtype, self.device)
        self.num_classes, self.dim = c.shape
        self.valid = valid
        # own-class column inside the compacted (valid-only) centroid list
        self.col_of_class = torch.full((self.num_classes, ), -1,
                                       dtype=torch.long, device=self.device)
        vidx = valid.nonzero().flatten()
        self.col_of_class[vidx] = torch.arange(len(vidx), device=self.device)
        if metric == 'cosine':
            c = F.normalize(c, dim=1)
            self.c_valid = c[vidx]  # (Kv, d) compute dtype, refinement
            self.c_search = self.c_valid.to(self.sim_dtype)
            self.bias = None
        else:
            self.c_valid = c[vidx]
            # argmin ||f - c||^2 = argmax (f . c - ||c||^2 / 2). For a
            # float16 search both sides are scaled by 1/max||c|| (argmax
            # unchanged) so it cannot overflow for features of centroid-like
            # norm; other dtypes have float32's range and skip the scaling.
            scale = float(self.c_valid.norm(dim=1).max().clamp(min=1e-12)) \
                if self.sim_dtype == torch.float16 else 1.0
            self.scale = scale
            cs = self.c_valid / scale
            self.c_search = cs.to(self.sim_dtype)
            self.bias = (-(cs * cs).sum(1) / 2).to(self.sim_dtype)

    def _block_buffer(self, rows: int, cols: int,
                      device: torch.device) -> torch.Tensor:
        """A reused (rows, cols) output buffer (no page faults per block)."""
        need = rows * cols
        buf = getattr(self, '_buf', None)
        if buf is None or buf.numel() < need or buf.device != device:
            buf = torch.empty(need, dtype=self.sim_dtype, device=device)
            self._buf = buf
        return buf[:need].view(rows, cols)

    def _search(self, q: torch.Tensor, own_col: torch.Tensor,
                need_idx: bool) -> Tuple[torch.Tensor, Optional[torch.Tensor],
                                         torch.Tensor]:
        """Running max over centroid blocks with the own class masked.

        Scores are ``q . c`` (cosine) or ``q . c - ||c||^2 / 2`` (euclidean,
        scaled) in ``sim_dtype``.

        Returns:
            ``(best score, best column or None, own-class score)``, scores in
            float32 (float64 for a float64 search).
        """
        n = q.shape[0]
        rows = torch.arange(n, device=q.device)
        acc = torch.float64 if q.dtype == torch.float64 else torch.float32
        best = torch.full((n, ), -float('inf'), device=q.device, dtype=acc)
        best_idx = torch.zeros(n, dtype=torch.long, device=q.device) \
            if need_idx else None
        pos = torch.zeros(n, device=q.device, dtype=acc)
        kv = self.c_search.shape[0]
        for a in range(0, kv, self.col_chunk):
            blk = self.c_search[a:a + self.col_chunk]
            s = self._block_buffer(n, blk.shape[0], q.device)
            if self.bias is None:
                torch.mm(q, blk.T, out=s)
            else:
                torch.addmm(self.bias[a:a + blk.shape[0]], q, blk.T, out=s)
            inside = (own_col >= a) & (own_col < a + blk.shape[0])
            r_in = rows[inside]
            # flat 1-D indices: far cheaper than s[rows, cols] on the CPU
            flat = r_in * blk.shape[0] + (own_col[inside] - a)
            sv = s.view(-1)
            pos.index_copy_(0, r_in, sv.index_select(0, flat).to(acc))
            sv.index_fill_(0, flat, -float('inf'))
            if need_idx:
                m, idx = s.max(1)
            else:
                m = s.amax(1)
            m = m.to(acc)
            better = m > best
            best = torch.where(better, m, best)
            if need_idx:
                best_idx = torch.where(better, idx + a, best_idx)
        return best, best_idx, pos

    def pos_neg(self, feats: ArrayLike, labels: ArrayLike,
                refine: bool = True) -> Tuple[torch.Tensor, torch.Tensor]:
        """Positive and hardest-negative similarity (cosine) or squared
        distance (euclidean) of each row, in the compute dtype.

        Args:
            feats: (n, d) finite features (any float dtype, any device; a
                NaN/inf row makes :meth:`discriminability` raise).
            labels: (n,) class indices.
            refine: when ``sim_dtype`` is coarser than the compute dtype,
                recompute the positive and the selected negative in the
                compute dtype (True); False keeps the ``sim_dtype`` values
                (the plain low-precision path, to measure its deviation).
                Without a coarser ``sim_dtype`` there is nothing to refine.
        """
        x = as_float_tensor(feats)
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(f'feats must be (n, {self.dim}), got '
                             f'{tuple(x.shape)}')
        x = x.to(self.device)
        y = as_label_tensor(labels, x.shape[0]).to(self.device)
        if x.shape[0] and int(y.max()) >= self.num_classes:
            raise ValueError(f'label {int(y.max())} >= number of centroids '
                             f'{self.num_classes}')
        if x.shape[0] and not bool(self.valid[y].all()):
            bad = y[~self.valid[y]].unique().tolist()
            raise ValueError(f'elements of excluded (empty) classes '
                             f'{bad[:10]} have no centroid')
        own = self.col_of_class[y]
        refine = refine and self.sim_dtype != self.compute_dtype
        cd, sd = self.compute_dtype, self.sim_dtype
        # the search input: the caller's rows when already in sim_dtype
        # (float32 rows from disk: no copy), else one conversion
        q = x if x.dtype == sd else x.to(sd)
        if self.metric == 'cosine':
            # argmax_c f . c_hat does not depend on ||f||: the rows are
            # normalised only for float16 (range), and the cosines are the
            # dot products divided by ||f|| (as F.normalize: eps 1e-12)
            if sd == torch.float16:
                q = F.normalize(x.float(), dim=1).to(sd)
            best, idx, pos_s = self._search(q, own, refine)
            if refine:
                return self._refine(x, own, idx)
            if sd == torch.float16:
                return pos_s.to(cd), best.to(cd)
            nrm = x.to(cd).norm(dim=1).clamp(min=1e-12)
            return pos_s.to(cd) / nrm, best.to(cd) / nrm
        if self.scale != 1.0:
            q = (x.float() / self.scale).to(sd)
        best, idx, pos_s = self._search(q, own, refine)
        if refine:
            return self._refine(x, own, idx)
        s2 = self.scale**2
        f = x.to(cd)
        fsq = (f * f).sum(1) / s2
        return ((fsq - 2 * pos_s.to(cd)).clamp(min=0) * s2,
                (fsq - 2 * best.to(cd)).clamp(min=0) * s2)

    def _refine(self, x: torch.Tensor, own: torch.Tensor,
                idx: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Positive / chosen-negative cosine (one gather + one bmm) or squared
        distance (direct differences: no cancellation), compute dtype.

        Single-threaded on the CPU, the rows go in slices whose gathered
        centroids stay in cache (~1 MB): 3-4x faster than one (n, 2, d)
        gather at d=2304. With several intra-op threads every slice would
        open parallel regions, whose start-up costs more than the cache
        saves on a loaded machine (measured), so one gather is used.
        """
        n, cd = x.shape[0], self.compute_dtype
        step = n
        if x.device.type == 'cpu' and torch.get_num_threads() == 1:
            step = max(1, (1 << 20) // (2 * self.dim * cd.itemsize))
        both = torch.stack([own, idx], 1)
        out = torch.empty(n, 2, dtype=cd, device=x.device)
        for a in range(0, n, step):
            xs = x[a:a + step].to(cd)
            sel = self.c_valid.index_select(
                0, both[a:a + step].reshape(-1)).view(-1, 2, self.dim)
            if self.metric == 'cosine':
                nrm = xs.norm(dim=1).clamp(min=1e-12).unsqueeze(1)
                out[a:a + step] = torch.bmm(sel, xs.unsqueeze(2)).squeeze(2) \
                    / nrm
            else:
                out[a:a + step] = (sel - xs.unsqueeze(1)).pow(2).sum(2)
        return out[:, 0], out[:, 1]

    def discriminability(self, feats: ArrayLike, labels: ArrayLike,
                         refine: bool = True) -> torch.Tensor:
        """Raw D of each row (Eq. 2-3), in the compute dtype, on the CPU.

        Raises:
            ValueError: a row has NaN/inf features (only such rows give a
                non-finite D: both ratios have floored denominators).
        """
        pos, neg = self.pos_neg(feats, labels, refine)
        d = discriminability_ratio(pos, neg, self.metric)
        if not bool(torch.isfinite(d).all()):
            bad = (~torch.isfinite(d)).nonzero().flatten()[:10].tolist()
            raise ValueError(f'feats contain NaN or inf (rows {bad} of this '
                             'chunk)')
        return d.cpu()


def blocked_discriminability(feats: ArrayLike,
                             labels: ArrayLike,
                             centroids: ArrayLike,
                             metric: str = 'cosine',
                             row_chunk: int = 4096,
                             col_chunk: int = 16384,
                             sim_dtype: DTypeLike = None,
                             refine: bool = True,
                             device: Union[None, str, torch.device] = None
                             ) -> torch.Tensor:
    """Raw discriminability (Eq. 2-3) with a blocked hardest-negative search.

    Same definition and edge cases as :func:`mmddl.core.discriminability`
    (floors, zero-norm features, NaN centroids of excluded classes); memory
    is O(row_chunk x col_chunk) plus the (K, d) centroids.

    Args:
        feats: (N, d) features; a float64 array computes in float64, anything
            else in float32. A numpy memmap is read ``row_chunk`` rows at a
            time.
        labels: (N,) class indices.
        centroids: (K, d) centroids.
        metric: ``'cosine'`` or ``'euclidean'``.
        row_chunk: rows per block.
        col_chunk: centroids per block.
        sim_dtype: dtype of the search matmul: None (the compute dtype),
            ``'float32'``, ``'float16'`` or ``'bfloat16'``.
        refine: recompute the selected negative in the compute dtype.
        device: where to compute (default: the CPU); results come back to
            the CPU.

    Returns:
        (N,) raw D in the compute dtype.
    """
    if row_chunk < 1:
        raise ValueError(f'row_chunk must be >= 1, got {row_chunk}')
    is_np = isinstance(feats, np.ndarray)
    if not is_np:
        feats = as_float_tensor(feats)
    if len(feats.shape) != 2:
        raise ValueError('feats must be 2-D (N, d), got shape '
                         f'{tuple(feats.shape)}')
    compute = torch.float64 if feats.dtype in (np.float64, torch.float64) \
        else torch.float32
    y = as_label_tensor(labels, feats.shape[0])
    search = HardestNegativeSearch(centroids, metric, compute, sim_dtype,
                                   col_chunk, device or 'cpu')
    if feats.shape[1] != search.dim:
        raise ValueError(f'centroids must be (K, {feats.shape[1]}), got '
                         f'({search.num_classes}, {search.dim})')
    out = torch.empty(feats.shape[0], dtype=compute)
    for lo in range(0, feats.shape[0], row_chunk):
        chunk = feats[lo:lo + row_chunk]
        if is_np:
            chunk = torch.from_numpy(np.ascontiguousarray(chunk))
        out[lo:lo + chunk.shape[0]] = search.discriminability(
            chunk, y[lo:lo + row_chunk], refine)
    return out
