"""Eq. 2-4: class centroids, raw discriminability D (one blocked, exact
hardest-negative search) and the D-score."""
import contextlib
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

ArrayLike = Union[torch.Tensor, np.ndarray, Sequence]
DTypeLike = Union[None, str, torch.dtype]
DeviceLike = Union[None, str, torch.device]

#: Floor for the hardest-negative cosine similarity (Eq. 2-3 denominator).
NEG_COS_FLOOR = 1e-2
#: Floor for the own-centroid Euclidean distance (Eq. 2-3 denominator).
DIST_FLOOR = 1e-6
METRICS = ('cosine', 'euclidean')

_DTYPES = {
    'float64': torch.float64,
    'double': torch.float64,
    'float32': torch.float32,
    'fp32': torch.float32,
    'float': torch.float32,
    'float16': torch.float16,
    'half': torch.float16,
    'fp16': torch.float16,
    'bfloat16': torch.bfloat16,
    'bf16': torch.bfloat16,
}
_UNIT_ROUNDOFF = {
    torch.float64: 2.0**-53,
    torch.float32: 2.0**-24,
    torch.float16: 2.0**-11,
    torch.bfloat16: 2.0**-8
}
#: Elements (pairs x d) of the float64 centroid operand of one batch of the
#: exact re-check (8 MiB): few batches, each below glibc's 32 MiB mmap
#: threshold (larger temporaries are mapped and page-faulted on every call).
_EXACT_BATCH = 1 << 20


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


def check_metric(metric: str) -> str:
    """Return ``metric`` if it is ``'cosine'`` or ``'euclidean'``; raise
    ValueError otherwise."""
    if metric not in METRICS:
        raise ValueError(f"metric must be 'cosine' or 'euclidean', got "
                         f'{metric!r}')
    return metric


def resolve_search_dtype(search_dtype: DTypeLike) -> torch.dtype:
    """The torch dtype named by ``search_dtype`` (see :data:`_DTYPES`)."""
    if isinstance(search_dtype, torch.dtype) and \
            search_dtype in _UNIT_ROUNDOFF:
        return search_dtype
    if isinstance(search_dtype, str) and search_dtype.lower() in _DTYPES:
        return _DTYPES[search_dtype.lower()]
    raise ValueError(f'search_dtype must be one of {sorted(set(_DTYPES))}, '
                     f'got {search_dtype!r}')


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
        feats (ArrayLike): (N, d) features.
        labels (ArrayLike): (N,) class indices in ``[0, num_classes)``.
        num_classes (int): K.

    Returns:
        Tuple[Tensor, Tensor]: sums (K, d) and int64 counts (K,).
    """
    f = as_float_tensor(feats)
    _check_feats(f)
    y = as_label_tensor(labels, f.shape[0])
    if f.shape[0] and int(y.max()) >= num_classes:
        raise ValueError(f'label {int(y.max())} >= num_classes={num_classes}')
    sums = torch.zeros(num_classes, f.shape[1], dtype=f.dtype, device=f.device)
    sums.index_add_(0, y.to(f.device), f)
    counts = torch.bincount(y, minlength=num_classes).to(torch.int64)
    return sums, counts


def centroids_from_sums(sums: torch.Tensor,
                        counts: torch.Tensor,
                        on_empty: str = 'error') -> torch.Tensor:
    """Divide per-class sums by counts.

    Args:
        sums (Tensor): (K, d) per-class sums.
        counts (Tensor): (K,) per-class counts.
        on_empty (str): see :func:`class_centroids`.

    Returns:
        Tensor: (K, d) centroids (NaN rows for excluded empty classes).
    """
    if on_empty not in ('error', 'exclude'):
        raise ValueError(f"on_empty must be 'error' or 'exclude', got "
                         f'{on_empty!r}')
    empty = (counts == 0).nonzero().flatten().tolist()
    if empty and on_empty == 'error':
        raise ValueError(
            f'{len(empty)} class(es) have no samples: {empty[:10]}'
            f'{" ..." if len(empty) > 10 else ""}. Pass num_classes matching '
            "the data, or on_empty='exclude' to give them NaN centroids "
            'that discriminability() ignores.')
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
        feats (ArrayLike): (N, d) features f_i of the training elements.
        labels (ArrayLike): (N,) class index of each element.
        num_classes (int, optional): K; defaults to ``max(labels) + 1``.
        on_empty (str): ``'error'`` raises naming the classes without
            samples; ``'exclude'`` gives them NaN centroids, which
            :func:`discriminability` skips (neither positive nor negative).

    Returns:
        Tensor: (K, d) centroids.
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


def discriminability_ratio(pos: torch.Tensor,
                           neg: torch.Tensor,
                           metric: str = 'cosine') -> torch.Tensor:
    """The ratio of Eq. 2-3 from positive and hardest-negative terms.

    Args:
        pos (Tensor): (n,) cosine to the own centroid (``'cosine'``) or
            squared distance to it (``'euclidean'``).
        neg (Tensor): (n,) largest cosine to any other centroid, or smallest
            squared distance to one.
        metric (str): ``'cosine'`` or ``'euclidean'``.

    Returns:
        Tensor: (n,) D = pos / max(neg, NEG_COS_FLOOR) (cosine), or
        sqrt(neg) / max(sqrt(pos), DIST_FLOOR) (euclidean).
    """
    if check_metric(metric) == 'cosine':
        return pos / neg.clamp(min=NEG_COS_FLOOR)
    return neg.sqrt() / pos.sqrt().clamp(min=DIST_FLOOR)


@contextlib.contextmanager
def _cpu_threads(device: torch.device, threads: int):
    """Run the enclosed CPU ops on ``threads`` intra-op threads (the
    previous number is restored after; CUDA work is left as it is)."""
    before = torch.get_num_threads()
    if device.type != 'cpu' or threads == before:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _matmul_tolerance(dtype: torch.dtype, device: torch.device,
                      dim: int) -> float:
    """Relative error bound of one search score, in units of ``|q||c|+|b|``.

    Inputs and output are rounded to ``dtype`` (float32 matmuls on a GPU
    allowed TF32 / bf16 count as such); a dot product of ``dim`` terms
    accumulated with unit round-off ``u`` errs by at most ``dim * u``
    (any summation order). float16 / bfloat16 products are assumed to be
    accumulated in float32 (cuBLAS and oneDNN do).
    """
    u_io = u_acc = _UNIT_ROUNDOFF[dtype]
    if dtype in (torch.float16, torch.bfloat16):
        u_acc = _UNIT_ROUNDOFF[torch.float32]
    elif dtype == torch.float32 and device.type == 'cuda':
        prec = torch.get_float32_matmul_precision()
        if prec == 'medium':
            u_io = 2.0**-8
        elif prec == 'high' or torch.backends.cuda.matmul.allow_tf32:
            u_io = 2.0**-11
    return 6 * u_io + (dim + 2) * u_acc


class HardestNegativeSearch:
    """Eq. 2-3 against centroids prepared once, for many row chunks.

    The hardest negative is searched in ``search_dtype`` over
    ``block_size`` centroids at a time (memory O(rows x block_size)); every
    centroid whose search score is within twice the score's round-off bound
    of the row's best is then re-evaluated exactly in float64 (direct
    differences for euclidean), so D equals the float64 value for any search
    dtype. Euclidean features and centroids are centred on the centroid mean
    first, which keeps the bound (and the candidates) small.

    Args:
        centroids (ArrayLike): (K, d) class centroids; NaN rows are excluded
            classes (neither positive nor negative), K >= 2 valid.
        metric (str): ``'cosine'`` or ``'euclidean'``.
        search_dtype (str | torch.dtype): dtype of the search matmul
            (``'float32'``, ``'float64'``; ``'float16'`` / ``'bfloat16'``
            on a GPU).
        block_size (int): centroids per block of the search.
        device (str | torch.device, optional): where to compute (default:
            the centroids' device).
    """

    def __init__(self,
                 centroids: ArrayLike,
                 metric: str = 'cosine',
                 search_dtype: DTypeLike = 'float32',
                 block_size: int = 16384,
                 device: DeviceLike = None) -> None:
        self.metric = check_metric(metric)
        if block_size < 1:
            raise ValueError(f'block_size must be >= 1, got {block_size}')
        self.search_dtype = resolve_search_dtype(search_dtype)
        self.block_size = block_size
        c = as_float_tensor(centroids)
        self.device = torch.device(device) if device is not None \
            else c.device
        c = c.to(device=self.device, dtype=torch.float64)
        if c.dim() != 2:
            raise ValueError(f'centroids must be 2-D (K, d), got '
                             f'{tuple(c.shape)}')
        self.valid = ~torch.isnan(c).any(1)
        if int(self.valid.sum()) < 2:
            raise ValueError('discriminability needs at least 2 (non-'
                             f'excluded) class centroids, got '
                             f'{int(self.valid.sum())}')
        self.num_classes, self.dim = c.shape
        vidx = self.valid.nonzero().flatten()
        # own-class column inside the compacted (valid-only) centroid list
        self.col_of_class = torch.full((self.num_classes, ),
                                       -1,
                                       dtype=torch.long,
                                       device=self.device)
        self.col_of_class[vidx] = torch.arange(len(vidx), device=self.device)
        c = c[vidx]
        sd = self.search_dtype
        self.tol = _matmul_tolerance(sd, self.device, self.dim)
        if self.metric == 'cosine':
            self.exact = F.normalize(c, dim=1)
            self.center = None
            cs, self.scale = self.exact, 1.0
        else:
            self.exact = c
            self.center = c.mean(0)
            cs = c - self.center
            # float16 has a small range: scale by 1 / max ||c - mean||
            self.scale = float(cs.norm(dim=1).max().clamp(min=1e-12)) \
                if sd == torch.float16 else 1.0
            cs = cs / self.scale
        self.c_search = cs.to(sd)
        c_back = self.c_search.double()
        self.c_max = float(c_back.norm(dim=1).max())
        if self.metric == 'cosine':
            self.bias, self.b_max = None, 0.0
        else:  # argmin ||q - c||^2 = argmax q . c - ||c||^2 / 2
            self.bias = (-(c_back * c_back).sum(1) / 2).to(sd)
            self.b_max = float(self.bias.double().abs().max())

    def _block(self, rows: int, cols: int) -> torch.Tensor:
        """A reused (rows, cols) score buffer."""
        buf = getattr(self, '_buf', None)
        if buf is None or buf.numel() < rows * cols:
            buf = torch.empty(
                rows * cols, dtype=self.search_dtype, device=self.device)
            self._buf = buf
        return buf[:rows * cols].view(rows, cols)

    def _exact(self, x: torch.Tensor, rows: Optional[torch.Tensor],
               cols: torch.Tensor) -> torch.Tensor:
        """float64 cosines / squared distances of rows of ``x`` to centroids.

        Args:
            x (Tensor): (n, d) features, in their own dtype (widened to
                float64 one batch of rows at a time).
            rows (Tensor, optional): (m,) row of each pair; None: row ``i``
                for pair ``i`` (no gather).
            cols (Tensor): (m, k) centroid columns of each pair's row.

        Returns:
            Tensor: (m, k) float64 values.
        """
        m, k = cols.shape
        out = torch.empty((m, k), dtype=torch.float64, device=self.device)
        step = max(1, _EXACT_BATCH // (self.dim * k))
        for a in range(0, m, step):
            b = min(a + step, m)
            xs = (x[a:b]
                  if rows is None else x.index_select(0, rows[a:b])).double()
            cs = self.exact.index_select(0, cols[a:b].reshape(-1)).view(
                b - a, k, self.dim)
            if self.metric == 'cosine':
                nrm = xs.norm(dim=1, keepdim=True).clamp_(min=1e-12)
                out[a:b] = torch.bmm(cs, xs.unsqueeze(2)).squeeze(2) / nrm
            else:
                diff = cs.sub_(xs.unsqueeze(1))
                out[a:b] = diff.mul_(diff).sum(2)
        return out

    def pos_neg(self, feats: ArrayLike,
                labels: ArrayLike) -> Tuple[torch.Tensor, torch.Tensor]:
        """Exact positive and hardest-negative terms of each row.

        Args:
            feats (ArrayLike): (n, d) features (any float dtype / device).
            labels (ArrayLike): (n,) class indices.

        Returns:
            Tuple[Tensor, Tensor]: float64 cosines (``'cosine'``) or squared
            distances (``'euclidean'``) to the own centroid and to the
            hardest negative.
        """
        x = as_float_tensor(feats)
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(f'feats must be (n, {self.dim}) like the '
                             f'centroids, got {tuple(x.shape)}')
        x = x.to(self.device)
        y = as_label_tensor(labels, x.shape[0]).to(self.device)
        if x.shape[0] and int(y.max()) >= self.num_classes:
            raise ValueError(f'label {int(y.max())} >= number of centroids '
                             f'{self.num_classes}')
        if x.shape[0] and not bool(self.valid[y].all()):
            bad = y[~self.valid[y]].unique().tolist()
            raise ValueError(f'elements of excluded (empty) classes '
                             f'{bad[:10]} have no centroid')
        # On the CPU everything but the search matmul is memory-bound and
        # runs on one thread (torch.set_num_threads, restored after): a second
        # thread does not speed it up, and on a loaded machine each parallel
        # region waits for it (K=700, d=2304, 4096 rows, 2 threads, load 7:
        # the re-check took 1.52 s, single-threaded 0.16 s).
        threads = torch.get_num_threads()
        with _cpu_threads(self.device, 1):
            return self._pos_neg(x, y, threads)

    def _pos_neg(self, x: torch.Tensor, y: torch.Tensor,
                 threads: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """:meth:`pos_neg` on checked inputs; the matmuls on ``threads``."""
        n, sd = x.shape[0], self.search_dtype
        own = self.col_of_class[y]
        rows = torch.arange(n, device=self.device)
        if self.metric == 'cosine' and sd != torch.float16:
            q = x.to(sd)
        else:  # float64 shift / scale, one batch of rows at a time
            q = torch.empty((n, self.dim), dtype=sd, device=self.device)
            step = max(1, _EXACT_BATCH // self.dim)
            for a in range(0, n, step):
                xb = x[a:a + step].double()
                if self.metric == 'cosine':
                    xb /= xb.norm(dim=1, keepdim=True).clamp_(min=1e-12)
                else:
                    xb = (xb - self.center) / self.scale
                q[a:a + step] = xb
        acc = torch.float64 if sd == torch.float64 else torch.float32
        # twice the round-off bound of a score: a centroid scoring below
        # best - slack cannot be the hardest negative
        slack = 2 * self.tol * (
            q.to(acc).norm(dim=1) * self.c_max + self.b_max)
        best = torch.full((n, ), -float('inf'), dtype=acc, device=self.device)
        found = []
        for a in range(0, self.c_search.shape[0], self.block_size):
            blk = self.c_search[a:a + self.block_size]
            s = self._block(n, blk.shape[0])
            with _cpu_threads(self.device, threads):
                if self.bias is None:
                    torch.mm(q, blk.T, out=s)
                else:
                    torch.addmm(self.bias[a:a + blk.shape[0]], q, blk.T, out=s)
            inside = (own >= a) & (own < a + blk.shape[0])
            # flat 1-D indices: far cheaper than s[rows, cols] on the CPU
            flat = rows[inside] * blk.shape[0] + (own[inside] - a)
            s.view(-1).index_fill_(0, flat, -float('inf'))
            best = torch.maximum(best, s.amax(1).to(acc))
            # a row with only its own (masked) column so far has no candidate
            thr = (best - slack).nan_to_num(neginf=float('inf'))
            r, c = (s >= thr.unsqueeze(1)).nonzero(as_tuple=True)
            score = s.view(-1).index_select(0, r * blk.shape[0] + c)
            found.append((r, c + a, score.to(acc)))
        r, c, score = (torch.cat(t) for t in zip(*found))
        if len(found) > 1:  # drop candidates of early blocks beaten later
            keep = score >= (best - slack).index_select(0, r)
            r, c = r[keep], c[keep]
        if len(r) == n and bool((r == rows).all()):
            # one candidate per row: both terms in one pass over the rows
            both = self._exact(x, None, torch.stack([own, c], 1))
            return both[:, 0], both[:, 1]
        pos = self._exact(x, None, own[:, None]).view(-1)
        fill = -float('inf') if self.metric == 'cosine' else float('inf')
        neg = torch.full((n, ), fill, dtype=torch.float64, device=self.device)
        neg.scatter_reduce_(
            0,
            r,
            self._exact(x, r, c[:, None]).view(-1),
            reduce='amax' if self.metric == 'cosine' else 'amin')
        return pos, neg

    def discriminability(self, feats: ArrayLike,
                         labels: ArrayLike) -> torch.Tensor:
        """Raw D of each row (Eq. 2-3), float64, on the CPU.

        Args:
            feats (ArrayLike): (n, d) finite features.
            labels (ArrayLike): (n,) class indices.

        Returns:
            Tensor: (n,) float64 raw discriminability.
        """
        d = discriminability_ratio(*self.pos_neg(feats, labels), self.metric)
        if not bool(torch.isfinite(d).all()):
            bad = (~torch.isfinite(d)).nonzero().flatten()[:10].tolist()
            raise ValueError(f'feats contain NaN or inf (rows {bad} of this '
                             'chunk)')
        return d.cpu()


def discriminability(feats: ArrayLike,
                     labels: ArrayLike,
                     centroids: ArrayLike,
                     metric: str = 'cosine',
                     chunk_size: int = 4096,
                     block_size: int = 16384,
                     search_dtype: DTypeLike = None,
                     device: DeviceLike = None) -> torch.Tensor:
    """Raw discriminability D_i of each element (Eq. 2-3).

    ``'cosine'``: D_i = cos(f_i, C_pos) / max_{n != pos} cos(f_i, C_n);
    ``'euclidean'``: D_i = min_{n != pos} ||f_i - C_n|| / ||f_i - C_pos||.
    Larger means more discriminative. The hardest-negative cosine is floored
    at ``NEG_COS_FLOOR`` and the own distance at ``DIST_FLOOR`` (no inf or
    NaN comes out); a zero-norm feature has cosine D 0; NaN centroids
    (``class_centroids(on_empty='exclude')``) are never negatives. Computed
    by :class:`HardestNegativeSearch`: the result is the float64 value
    whatever ``search_dtype``, chunk_size and block_size are.

    Args:
        feats (ArrayLike): (N, d) features; a numpy memmap is read
            ``chunk_size`` rows at a time.
        labels (ArrayLike): (N,) class index of each element.
        centroids (ArrayLike): (K, d) class centroids, K >= 2.
        metric (str): ``'cosine'`` or ``'euclidean'``.
        chunk_size (int): rows scored at a time.
        block_size (int): centroids per block of the search.
        search_dtype (str | torch.dtype, optional): dtype of the search
            matmul; default float64 for float64 features, else float32.
        device (str | torch.device, optional): where to compute (default:
            the features' device).

    Returns:
        Tensor: (N,) raw D in the features' dtype (float32 unless float64),
        on the features' device (the CPU for numpy input).
    """
    check_metric(metric)
    if chunk_size < 1:
        raise ValueError(f'chunk_size must be >= 1, got {chunk_size}')
    is_np = isinstance(feats, np.ndarray)
    f = feats if is_np else as_float_tensor(feats)
    if len(f.shape) != 2:
        raise ValueError('feats must be 2-D (N, d), got shape '
                         f'{tuple(f.shape)}')
    dtype = torch.float64 if f.dtype in (np.float64, torch.float64) \
        else torch.float32
    home = torch.device('cpu') if is_np else f.device
    y = as_label_tensor(labels, f.shape[0])
    search = HardestNegativeSearch(centroids, metric, search_dtype or dtype,
                                   block_size, device or home)
    if f.shape[1] != search.dim:
        raise ValueError(f'centroids must be (K, {f.shape[1]}), got '
                         f'({search.num_classes}, {search.dim})')
    out = torch.empty(f.shape[0], dtype=torch.float64)
    for lo in range(0, f.shape[0], chunk_size):
        chunk = f[lo:lo + chunk_size]
        if is_np:
            chunk = torch.from_numpy(np.ascontiguousarray(chunk))
        out[lo:lo +
            chunk.shape[0]] = search.discriminability(chunk,
                                                      y[lo:lo + chunk_size])
    return out.to(device=home, dtype=dtype)


def discriminability_stats(d: ArrayLike) -> Tuple[float, float]:
    """Mean and (population) standard deviation of raw D over a set (Eq. 4).

    Args:
        d (ArrayLike): (N,) raw discriminability, N >= 1.

    Returns:
        Tuple[float, float]: mean and std (computed in float64).
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
        d (ArrayLike): (N,) raw discriminability.
        mean (float, optional): statistics to normalise with; computed from
            ``d`` when None (pass the training set's to score other data).
        std (float, optional): as ``mean``; ``std == 0`` gives every
            element the D-score 0.5.

    Returns:
        Tensor: (N,) D-scores in (0, 1), dtype of ``d``.
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


#: How raw D becomes a D-score: Eq. 4 over the whole set (``'global'``, the
#: paper) or within each class (``'class'``, see
#: :func:`normalize_discriminability_per_class`).
NORMALIZATIONS = ('global', 'class')


def check_normalization(normalization: str) -> str:
    """Return ``normalization`` if it is one of :data:`NORMALIZATIONS`."""
    if normalization not in NORMALIZATIONS:
        raise ValueError(f'normalization must be one of {NORMALIZATIONS}, '
                         f'got {normalization!r}')
    return normalization


def normalize_discriminability_per_class(d: ArrayLike,
                                         labels: ArrayLike) -> torch.Tensor:
    """D-score with Eq. 4's statistics taken within each class.

    Every element's raw D is z-scored against the mean and std of its own
    class, then squashed by the sigmoid; a class of one element (or with
    ``std == 0``) gets 0.5. The score then ranks an element against the
    other elements of its identity only, which is what selection within a
    group of one identity uses (docs/face_reid.md measures it).

    Args:
        d (ArrayLike): (N,) raw discriminability.
        labels (ArrayLike): (N,) class index of each element.

    Returns:
        Tensor: (N,) D-scores in (0, 1), dtype of ``d``.
    """
    t = as_float_tensor(d)
    lab = as_label_tensor(labels, t.numel())
    out = torch.empty_like(t)
    for c in torch.unique(lab):
        m = lab == c
        out[m] = normalize_discriminability(t[m])
    return out
