"""The discriminability pass at scale: rank shards, disk features, resume.

:func:`compute_score_table_sharded` gives the same :class:`ScoreTable` as the
in-memory :func:`~mmddl.engine.discriminability_pass.compute_score_table`
(same element order; D-scores within 1e-6, raw D within 1e-6 relative:
float32 features of differently composed batches differ by round-off), but

1. **distributed** - under torchrun / slurm (any initialised default process
   group) each rank extracts the features of its shards
   (:mod:`.distributed`: shard ``j`` of ``shard_size`` samples goes to rank
   ``j % world_size``; one DataLoader per rank spans its pending shards,
   its batches never straddle two); per-class float64 sums and counts are all-reduced
   into the centroids of the whole set; each rank scores its own elements;
   the raw D of every shard are gathered to rank 0, which computes the
   normalisation statistics and D-scores once and writes the table;
2. **streaming** - features live on disk (:class:`.FeatureStore`, float32
   ``.npy``) and are read ``row_chunk`` rows at a time; the N x K similarity
   runs in ``row_chunk x col_chunk`` blocks with a running hardest negative
   (:mod:`.fast_similarity`), so peak memory does not grow with N;
3. **resumable** - a shard whose manifest is finished is reused, a
   half-written one is recomputed; a rerun of a killed pass (with any number
   of processes) gives the identical table. The table itself is written
   atomically by :meth:`ScoreTable.save`.
"""
import os.path as osp
import time
from typing import (Any, Dict, Iterator, List, Optional, Sequence, Tuple,
                    Union)

import numpy as np
import torch
from mmengine.logging import print_log
from mmengine.utils import ProgressBar
from torch import nn
from torch.utils.data import DataLoader, Dataset

from mmddl.core import (centroid_sums, centroids_from_sums,
                        discriminability_stats, normalize_discriminability)
from .discriminability_pass import SafeDataset, collect_features, safe_collate
from .distributed import (all_reduce_centroid_sums, all_reduce_max, barrier,
                          dist_info, gather_shard_results, rank_shards,
                          shard_ranges)
from .fast_similarity import DTypeLike, HardestNegativeSearch
from .feature_store import FeatureStore
from mmddl.structures.score_table import ScoreTable

#: Default samples per shard (ids must not depend on the world size).
DEFAULT_SHARD_SIZE = 1000


class SampleSubset(Dataset):
    """Samples ``indices`` of a dataset, re-indexed from 0.

    Forwards ``get_data_info`` (used to name samples that fail to load).
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = [int(i) for i in indices]
        if self.indices and not (0 <= min(self.indices)
                                 and max(self.indices) < len(dataset)):
            raise ValueError(f'indices outside the dataset of '
                             f'{len(dataset)} samples')

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> Any:
        return self.dataset[self.indices[i]]

    def get_data_info(self, i: int) -> Dict[str, Any]:
        """The wrapped dataset's info of sample ``indices[i]``."""
        return self.dataset.get_data_info(self.indices[i])


class SampleRange(SampleSubset):
    """Samples ``[start, stop)`` of a dataset, re-indexed from 0."""

    def __init__(self, dataset: Dataset, start: int, stop: int) -> None:
        if not 0 <= start <= stop <= len(dataset):
            raise ValueError(f'range [{start}, {stop}) is outside the '
                             f'dataset of {len(dataset)} samples')
        super().__init__(dataset, range(start, stop))


class _ShardBatches:
    """The next ``num_batches`` batches of a shared loader iterator, as a
    loader-like object for ``collect_features``."""

    def __init__(self, iterator: Iterator, num_batches: int,
                 dataset: Dataset) -> None:
        self.iterator, self.num_batches, self.dataset = (iterator,
                                                         num_batches, dataset)

    def __iter__(self) -> Iterator:
        for _ in range(self.num_batches):
            yield next(self.iterator)


def store_fingerprint(fingerprint: Optional[Dict[str, Any]],
                      shard_size: int, stage: str,
                      num_samples: int) -> Dict[str, Any]:
    """What the stored features depend on: the table fingerprint without the
    metric (features do not depend on it), the shard size, the feature stage
    and the dataset length."""
    fp = {k: v for k, v in (fingerprint or {}).items() if k != 'metric'}
    return dict(table=fp, shard_size=shard_size, stage=stage,
                num_samples=num_samples)


def _model_device(model: nn.Module) -> torch.device:
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device('cpu')


def extract_shards(model: nn.Module,
                   dataset: Dataset,
                   store: FeatureStore,
                   ranges: List[Tuple[int, int]],
                   shard_ids: List[int],
                   batch_size: int = 1,
                   num_workers: int = 0,
                   stage: str = 'neck',
                   progress: bool = True) -> Tuple[int, int]:
    """Extract and store every shard of ``shard_ids`` that is not finished.

    Args:
        model: the base model.
        dataset: the candidate dataset.
        store: where shards live.
        ranges: ``[start, stop)`` of every shard.
        shard_ids: the shards of this rank.
        batch_size: samples per batch.
        num_workers: dataloader workers.
        stage: ``extract_feat`` stage.
        progress: show a progress bar (rank 0) over this rank's samples.

    Returns:
        ``(shards reused, shards computed)``.
    """
    rank, _ = dist_info()
    total = sum(ranges[s][1] - ranges[s][0] for s in shard_ids)
    bar = ProgressBar(total) if progress and rank == 0 and total else None
    pending = []
    for sid in shard_ids:
        start, stop = ranges[sid]
        man, why = store.check_shard(sid, start, stop)
        if man is not None:
            if bar is not None:
                bar.update(stop - start)
            continue
        if osp.exists(store.shard_dir(sid)):
            print_log(f'DDL pass: recomputing shard {sid} ({why})',
                      logger='current')
        pending.append(sid)
    if pending:
        # ONE loader over all pending shards (workers start once and keep
        # prefetching across shards); its batches never straddle a shard
        indices, batches, per_shard = [], [], []
        for sid in pending:
            lo = len(indices)
            indices.extend(range(*ranges[sid]))
            shard_batches = [list(range(b, min(b + batch_size, len(indices))))
                             for b in range(lo, len(indices), batch_size)]
            batches.extend(shard_batches)
            per_shard.append(len(shard_batches))
        subset = SampleSubset(dataset, indices)
        loader = DataLoader(SafeDataset(subset), batch_sampler=batches,
                            num_workers=num_workers, collate_fn=safe_collate)
        it = iter(loader)
        for sid, nb in zip(pending, per_shard):
            start, stop = ranges[sid]
            coll = collect_features(model, _ShardBatches(it, nb, subset),
                                    stage=stage, progress=False)
            skipped = [_global_key(sk, indices) for sk in coll.skipped]
            store.write_shard(sid, start, stop, coll.feats.numpy(),
                              coll.labels.numpy(), coll.keys,
                              coll.positions, skipped, coll.info)
            if bar is not None:
                bar.update(stop - start)
    if bar is not None:
        bar.file.write('\n')
    return len(shard_ids) - len(pending), len(pending)


def _global_key(skip: Dict[str, str],
                indices: Sequence[int]) -> Dict[str, str]:
    """Re-number an ``index:<i>`` fallback key from subset to dataset
    index."""
    key = skip['key']
    if key.startswith('index:') and key[6:].isdigit():
        key = f'index:{indices[int(key[6:])]}'
    return dict(key=key, reason=skip['reason'])


def accumulate_centroid_sums(store: FeatureStore, shard_ids: List[int],
                             num_classes: int, dim: int,
                             row_chunk: int = 4096
                             ) -> Tuple[torch.Tensor, torch.Tensor]:
    """float64 per-class sums and counts of the given shards (streamed).

    The first chunk goes through :func:`mmddl.core.centroid_sums` (which
    checks features and labels); later chunks are ``index_add_``-ed into the
    same (K, d) accumulator - the same additive sums, without allocating a
    (K, d) tensor per chunk (351 MB at MS1M's K = 85,742, d = 512).

    Returns:
        ``(sums (K, d) float64, counts (K,) int64)``.
    """
    sums: Optional[torch.Tensor] = None
    counts = torch.zeros(num_classes, dtype=torch.int64)
    for shard in store.iter_shards(shard_ids):
        if len(shard) == 0:
            continue
        labels = torch.from_numpy(np.asarray(shard.labels))
        if int(labels.min()) < 0 or int(labels.max()) >= num_classes:
            raise ValueError(f'shard {shard.shard_id}: labels outside '
                             f'[0, {num_classes})')
        for lo, chunk in shard.iter_feature_chunks(row_chunk):
            f = torch.from_numpy(chunk).double()
            y = labels[lo:lo + len(chunk)]
            if sums is None:
                sums, c = centroid_sums(f, y, num_classes)
                counts += c
                continue
            if not bool(torch.isfinite(f).all()):
                raise ValueError(f'shard {shard.shard_id}: features contain '
                                 'NaN or inf')
            sums.index_add_(0, y, f)
            counts += torch.bincount(y, minlength=num_classes)
    if sums is None:
        sums = torch.zeros(num_classes, dim, dtype=torch.float64)
    return sums, counts


def score_shards(store: FeatureStore, shard_ids: List[int],
                 search: HardestNegativeSearch,
                 row_chunk: int = 4096) -> Dict[int, np.ndarray]:
    """Raw D of every element of the given shards, streamed from disk.

    Each shard's output is allocated once and filled chunk by chunk (many
    small surviving outputs between large freed temporaries would fragment
    the heap and make the resident memory grow with N).

    Returns:
        ``{shard_id: (n,) float64 raw D}``.
    """
    out = {}
    for shard in store.iter_shards(shard_ids):
        raw = np.empty(len(shard), dtype=np.float64)
        labels = torch.from_numpy(np.asarray(shard.labels))
        for lo, chunk in shard.iter_feature_chunks(row_chunk):
            raw[lo:lo + len(chunk)] = search.discriminability(
                torch.from_numpy(chunk), labels[lo:lo + len(chunk)]).numpy()
        out[shard.shard_id] = raw
    return out


def _merge_info(infos: List[Tuple[int, Dict[str, Any]]]) -> Dict[str, Any]:
    """clip_len / frame_interval agreed by every non-empty shard, else None."""
    out = {}
    for name in ('clip_len', 'frame_interval'):
        vals = {info.get(name) for n, info in infos if n}
        out[name] = vals.pop() if len(vals) == 1 else None
    return out


def compute_score_table_sharded(
        model: nn.Module,
        dataset: Dataset,
        store_dir: str,
        metric: str = 'cosine',
        shard_size: int = DEFAULT_SHARD_SIZE,
        batch_size: int = 1,
        num_workers: int = 0,
        fingerprint: Optional[Dict[str, Any]] = None,
        num_classes: Optional[int] = None,
        stage: str = 'neck',
        row_chunk: int = 4096,
        col_chunk: int = 16384,
        sim_dtype: DTypeLike = 'float32',
        device: Union[None, str, torch.device] = None,
        verify: str = 'size',
        out_file: Optional[str] = None,
        progress: bool = True) -> Optional[ScoreTable]:
    """The discriminability pass over rank shards (see the module doc).

    Every rank of the default process group must call it with the same
    arguments (its own model replica); without a process group it is the
    single-process pass.

    Args:
        model: the (unwrapped) base model on this rank's device.
        dataset: the candidate dataset (``test_mode=True``; its pipeline's
            Pack transform keeps the metainfo of
            :func:`~mmddl.engine.discriminability_pass.ensure_meta_keys`).
        store_dir: feature store folder (shared by all ranks; on a shared
            file system in multi-node runs for cross-node resume).
        metric: ``'cosine'`` or ``'euclidean'``.
        shard_size: samples per shard (the resume unit); keep it fixed
            between a run and its resume.
        batch_size: samples per batch of the feature extraction.
        num_workers: dataloader workers.
        fingerprint: stored in the table; also (without ``metric``) the
            store's fingerprint, so shards of other data/checkpoints are
            recomputed, not reused.
        num_classes: K; default ``max(label) + 1`` over all ranks.
        stage: ``extract_feat`` stage.
        row_chunk: feature rows read and scored at a time.
        col_chunk: centroids per block of the hardest-negative search.
        sim_dtype: dtype of the hardest-negative search matmul
            (``'float32'`` default; ``'float64'`` exact; ``'float16'`` /
            ``'bfloat16'`` on a GPU). Positives, the chosen negative and the
            ratio are always float64.
        device: where similarities run (default: the model's device).
        verify: how finished shards are checked (``'size'``/``'sha256'``).
        out_file: when given, rank 0 saves the table there (atomically) and
            every rank waits for it.
        progress: progress bar on rank 0.

    Returns:
        The table on rank 0, None on the other ranks.
    """
    if metric not in ('cosine', 'euclidean'):
        raise ValueError(f"metric must be 'cosine' or 'euclidean', got "
                         f'{metric!r}')
    t0 = time.perf_counter()
    rank, world = dist_info()
    ranges = shard_ranges(len(dataset), shard_size)
    mine = rank_shards(len(ranges), rank, world)
    store = FeatureStore(
        store_dir, store_fingerprint(fingerprint, shard_size, stage,
                                     len(dataset)), verify=verify)
    reused, computed = extract_shards(model, dataset, store, ranges, mine,
                                      batch_size, num_workers, stage,
                                      progress)
    t_feat = time.perf_counter() - t0
    shards = {sid: store.open_shard(sid) for sid in mine}
    # global K and d (a rank may hold only empty shards); every check below
    # uses all-reduced values, so all ranks raise together (no deadlock)
    local_dims = sorted({s.dim for s in shards.values() if len(s)})
    local_dim = local_dims[-1] if local_dims else 0
    dim = all_reduce_max(local_dim)
    low = -all_reduce_max(-(local_dims[0] if local_dims else dim))
    if low != dim:
        raise ValueError(f'the base model gave features of different dims '
                         f'({low} and {dim}) to different shards')
    max_label = max((int(s.labels.max()) for s in shards.values()
                     if len(s)), default=-1)
    max_label = all_reduce_max(max_label)
    if num_classes is None:
        num_classes = max_label + 1
    elif max_label >= num_classes:
        raise ValueError(f'label {max_label} >= num_classes={num_classes}')
    sums, counts = accumulate_centroid_sums(store, mine, max(num_classes, 0),
                                            dim, row_chunk)
    sums, counts = all_reduce_centroid_sums(sums, counts)
    if int(counts.sum()) == 0:
        skipped = [s for sh in shards.values() for s in sh.skipped]
        reasons = '; '.join(f'{s["key"]}: {s["reason"]}'
                            for s in skipped[:5])
        raise RuntimeError('DDL pass: no element could be scored (samples '
                           f'skipped on rank {rank}: {reasons})')
    empty = int((counts == 0).sum())
    if empty and rank == 0:
        print_log(f'DDL pass: {empty} of {num_classes} classes have no '
                  'scored element; they are left out of the centroids',
                  logger='current', level=30)
    centroids = centroids_from_sums(sums, counts, on_empty='exclude')
    search = HardestNegativeSearch(centroids, metric, torch.float64,
                                   sim_dtype, col_chunk,
                                   device or _model_device(model))
    raws = score_shards(store, mine, search, row_chunk)
    local = {sid: dict(raw=raws[sid], keys=np.asarray(shard.keys),
                       positions=np.asarray(shard.positions),
                       labels=np.asarray(shard.labels),
                       skipped=shard.skipped, info=shard.info)
             for sid, shard in shards.items()}
    t_score = time.perf_counter() - t0 - t_feat
    print_log(f'DDL pass (rank {rank}/{world}): {len(mine)} shards '
              f'({reused} reused, {computed} computed) in {t_feat:.1f}s, '
              f'scored in {t_score:.1f}s', logger='current')
    allres = gather_shard_results(local, len(ranges), dst=0)
    table = None
    if rank == 0:
        table = _assemble(allres, centroids, metric, fingerprint,
                          num_classes, dim, sim_dtype)
        if out_file is not None:
            table.save(out_file)
    if out_file is not None:
        barrier()
    return table


def _assemble(results: Dict[int, Dict[str, Any]], centroids: torch.Tensor,
              metric: str, fingerprint: Optional[Dict[str, Any]],
              num_classes: int, dim: int, sim_dtype: DTypeLike) -> ScoreTable:
    """Rank 0: concatenate shards in id order, Eq. 4 once, build the table."""
    parts = list(results.values())
    raw = np.concatenate([p['raw'] for p in parts]).astype(np.float64)
    mean, std = discriminability_stats(raw)
    dscores = normalize_discriminability(torch.from_numpy(raw), mean,
                                         std).numpy()
    info = _merge_info([(len(p['raw']), p['info']) for p in parts])
    info.update(num_classes=num_classes, feature_dim=dim,
                empty_classes=torch.isnan(centroids).any(1).nonzero()
                .flatten().tolist(),
                sim_dtype=str(sim_dtype))
    table = ScoreTable(
        keys=np.concatenate([p['keys'] for p in parts]),
        positions=np.concatenate([p['positions'] for p in parts]),
        labels=np.concatenate([p['labels'] for p in parts]), raw=raw,
        dscores=dscores, mean=mean, std=std, metric=metric,
        fingerprint=fingerprint or {},
        skipped=[s for p in parts for s in p['skipped']], info=info)
    print_log(f'DDL pass: scored {len(table)} elements of '
              f'{table.num_samples} samples ({len(table.skipped)} skipped) '
              f'in {len(parts)} shards; raw D mean={mean:.4f} '
              f'std={std:.4f}', logger='current')
    return table
