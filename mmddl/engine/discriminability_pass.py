"""The discriminability pass: base model over the candidates -> D-score table.

Sharded over the ranks, resumable from finished shards; rank 0 writes."""
import os.path as osp
import shutil
import time
from contextlib import contextmanager
from typing import (Any, Callable, Dict, Iterator, List, Optional, Sequence,
                    Tuple, Union)

import numpy as np
import torch
from mmengine.logging import print_log
from torch import nn
from torch.utils.data import DataLoader, Dataset

from mmddl.core.discriminability import (DTypeLike, HardestNegativeSearch,
                                         centroid_sums, centroids_from_sums,
                                         check_metric, check_normalization,
                                         discriminability_stats,
                                         normalize_discriminability,
                                         normalize_discriminability_per_class)
from mmddl.structures.data_sources import DataSources, data_sources
from mmddl.structures.score_table import (CorruptScoreTableError, ScoreTable,
                                          StaleScoreTableError,
                                          check_fingerprint, fingerprint_diff)
from .base_model import model_device
from .candidates import (FAILED, SafeDataset, SampleSubset, collect_features,
                         safe_collate)
from .distributed import (all_reduce_centroid_sums, all_reduce_max, barrier,
                          broadcast_object, dist_info, gather_shard_results,
                          rank_shards, shard_ranges)
from .feature_store import FeatureStore
from .lock import LockHeldError, WorkDirLock
from mmddl.utils.progress import LogProgress
from .sample_checks import check_two_classes, check_unique_samples

#: Default samples per shard (ids must not depend on the world size).
DEFAULT_SHARD_SIZE = 1000
#: Fingerprint field of the sample files' identities (see DataSources).
DATA_FILES_FIELD = 'data_files_sha256'
#: What :func:`prepare_score_table` does with a stale or unreadable table.
ON_STALE = ('error', 'recompute')


class _ShardBatches:
    """The next ``num_batches`` batches of a shared loader iterator, as a
    loader-like object for ``collect_features``."""

    def __init__(self, iterator: Iterator, num_batches: int,
                 dataset: Dataset) -> None:
        self.iterator, self.num_batches, self.dataset = (iterator, num_batches,
                                                         dataset)

    def __iter__(self) -> Iterator:
        for _ in range(self.num_batches):
            yield next(self.iterator)


def store_fingerprint(fingerprint: Optional[Dict[str, Any]], shard_size: int,
                      stage: str, num_samples: int) -> Dict[str, Any]:
    """What the stored features depend on: the table fingerprint without the
    metric (features do not depend on it) and without the sample files'
    digest (each shard checks the digest of its own files), the shard size,
    the feature stage and the dataset length."""
    fp = {
        k: v
        for k, v in (fingerprint or {}).items()
        if k not in ('metric', DATA_FILES_FIELD)
    }
    return dict(
        table=fp, shard_size=shard_size, stage=stage, num_samples=num_samples)


def extract_shards(model: nn.Module,
                   dataset: Dataset,
                   store: FeatureStore,
                   ranges: List[Tuple[int, int]],
                   shard_ids: List[int],
                   batch_size: int = 1,
                   num_workers: int = 0,
                   stage: str = 'neck',
                   progress: bool = True,
                   sources: Optional[DataSources] = None) -> Tuple[int, int]:
    """Extract and store every shard of ``shard_ids`` that is not finished.

    The failed samples of a finished shard are loaded again (only loaded,
    not run through the model): if one loads now (a file restored, a
    network error passed), the shard is extracted again.

    Args:
        model (nn.Module): the base model.
        dataset (Dataset): the candidate dataset.
        store (FeatureStore): where shards live.
        ranges (List[Tuple[int, int]]): ``[start, stop)`` of every shard.
        shard_ids (List[int]): the shards of this rank.
        batch_size (int): samples per batch.
        num_workers (int): dataloader workers.
        stage (str): ``extract_feat`` stage.
        progress (bool): log progress with ETA (rank 0) over this rank's
            samples, at least every 5 % of them or every 30 s.
        sources (DataSources, optional): file identities of the dataset's
            samples; a shard whose files changed is recomputed.

    Returns:
        Tuple[int, int]: shards reused and shards computed.
    """
    rank, world = dist_info()
    sources = data_sources(dataset) if sources is None else sources
    total = sum(ranges[s][1] - ranges[s][0] for s in shard_ids)
    bar = LogProgress(total, f'DDL pass (rank 0/{world}, {len(shard_ids)} '
                      'shards)') if progress and rank == 0 and total else None
    pending = []
    for sid in shard_ids:
        start, stop = ranges[sid]
        man, why = store.check_shard(sid, start, stop,
                                     sources.digest(start, stop))
        loads = _failures_that_load(dataset, man['skipped'], sources) \
            if man is not None and man['skipped'] else []
        if loads:
            man, why = None, (f'{len(loads)} of {len(man["skipped"])} '
                              f'failed sample(s) load now, e.g. {loads[0]}')
        if man is not None:
            if bar is not None:
                bar.skip(stop - start)
            continue
        if osp.exists(store.shard_dir(sid)):
            print_log(
                f'DDL pass: recomputing shard {sid} ({why})', logger='current')
        pending.append(sid)
    if pending:
        # ONE loader over all pending shards (workers start once and keep
        # prefetching across shards); its batches never straddle a shard
        indices, batches, per_shard = [], [], []
        for sid in pending:
            lo = len(indices)
            indices.extend(range(*ranges[sid]))
            shard_batches = [
                list(range(b, min(b + batch_size, len(indices))))
                for b in range(lo, len(indices), batch_size)
            ]
            batches.extend(shard_batches)
            per_shard.append(len(shard_batches))
        subset = SampleSubset(dataset, indices)
        loader = DataLoader(
            SafeDataset(subset),
            batch_sampler=batches,
            num_workers=num_workers,
            collate_fn=safe_collate)
        it = iter(loader)
        for sid, nb in zip(pending, per_shard):
            start, stop = ranges[sid]
            coll = collect_features(
                model,
                _ShardBatches(it, nb, subset),
                stage=stage,
                progress=bar if bar is not None else False)
            skipped = [_global_key(sk, indices) for sk in coll.skipped]
            store.write_shard(
                sid,
                start,
                stop,
                coll.feats.numpy(),
                coll.labels.numpy(),
                coll.keys,
                coll.positions,
                skipped,
                coll.info,
                sources_sha256=sources.digest(start, stop))
    return len(shard_ids) - len(pending), len(pending)


def _global_key(skip: Dict[str, str],
                indices: Sequence[int]) -> Dict[str, str]:
    """Re-number an ``index:<i>`` fallback key from subset to dataset
    index."""
    key = skip['key']
    if key.startswith('index:') and key[6:].isdigit():
        key = f'index:{indices[int(key[6:])]}'
    return dict(key=key, reason=skip['reason'])


def accumulate_centroid_sums(store: FeatureStore,
                             shard_ids: List[int],
                             num_classes: int,
                             dim: int,
                             row_chunk: int = 4096
                             ) -> Tuple[torch.Tensor, torch.Tensor]:
    """float64 per-class sums and counts of the given shards (streamed).

    The first chunk goes through :func:`mmddl.core.centroid_sums` (which
    checks features and labels); later chunks are ``index_add_``-ed into the
    same (K, d) accumulator - the same additive sums, without allocating a
    (K, d) tensor per chunk (351 MB at MS1M's K = 85,742, d = 512).

    Returns:
        Tuple[Tensor, Tensor]: float64 sums (K, d) and int64 counts (K,).
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


def score_shards(store: FeatureStore,
                 shard_ids: List[int],
                 search: HardestNegativeSearch,
                 row_chunk: int = 4096) -> Dict[int, np.ndarray]:
    """Raw D of every element of the given shards, streamed from disk.

    Each shard's output is allocated once and filled chunk by chunk (many
    small surviving outputs between large freed temporaries would fragment
    the heap and make the resident memory grow with N).

    Returns:
        Dict[int, np.ndarray]: ``{shard_id: (n,) float64 raw D}``.
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


def compute_score_table(model: nn.Module,
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
                        block_size: int = 16384,
                        search_dtype: DTypeLike = 'float32',
                        device: Union[None, str, torch.device] = None,
                        verify: str = 'sha256',
                        out_file: Optional[str] = None,
                        progress: bool = True,
                        sources: Optional[DataSources] = None,
                        label_bounds: Optional[Dict[str, int]] = None,
                        normalization: str = 'global') -> Optional[ScoreTable]:
    """The discriminability pass.

    Each rank extracts the features of its shards of samples into a
    :class:`.FeatureStore` (finished shards are reused by a rerun with any
    number of processes); per-class sums and counts are all-reduced into
    the centroids; each rank scores its elements with
    :class:`~mmddl.core.discriminability.HardestNegativeSearch`; rank 0
    applies Eq. 4 once and writes the :class:`ScoreTable`. Every rank of
    the default process group must call it with the same arguments (its own
    model replica); without a process group it is the single-process pass.
    The store and ``out_file`` are locked for the call
    (``<store_dir>.lock``, ``<out_file>.lock``, see
    :class:`~mmddl.engine.lock.WorkDirLock`): a second run writing either
    raises :class:`~mmddl.engine.lock.LockHeldError` naming the holder.

    Args:
        model (nn.Module): the (unwrapped) base model on this rank's device.
        dataset (Dataset): the candidate dataset (``test_mode=True``, its
            Pack transform keeping
            :data:`~mmddl.engine.candidates.REQUIRED_META_KEYS`).
        store_dir (str): feature store folder (shared by all ranks; on a
            shared file system for cross-node resume).
        metric (str): ``'cosine'`` or ``'euclidean'``.
        shard_size (int): samples per shard (the resume unit; keep it
            between a run and its resume).
        batch_size (int): samples per batch of the feature extraction.
        num_workers (int): dataloader workers.
        fingerprint (dict, optional): stored in the table (with the
            ``data_files_sha256`` of ``sources`` added); also (see
            :func:`store_fingerprint`) the store's, so shards of other data
            / checkpoints are recomputed.
        num_classes (int, optional): K; default ``max(label) + 1`` over all
            ranks.
        stage (str): ``extract_feat`` stage.
        row_chunk (int): feature rows read and scored at a time.
        block_size (int): centroids per block of the hardest-negative
            search.
        search_dtype (str | torch.dtype): dtype of the search matmul; D is
            exact (float64) whatever it is.
        device (str | torch.device, optional): where similarities run
            (default: the model's device).
        verify (str): how finished shards are checked before reuse
            (``'sha256'``: contents, ``'size'``: sizes only).
        out_file (str, optional): rank 0 saves the table there (atomically)
            and every rank waits for it.
        progress (bool): log progress with ETA on rank 0.
        sources (DataSources, optional): file identities of the samples
            (default: read from ``dataset``); stored in the table.
        label_bounds (dict, optional): ``{what: K}``; a label >= K raises
            (datasets whose sample infos carry no label are checked here,
            after extraction).
        normalization (str): ``'global'`` (Eq. 4 over the whole set) or
            ``'class'`` (Eq. 4 within each class); recorded in the table's
            ``info``.

    Returns:
        ScoreTable | None: the table on rank 0, None on the other ranks.
    """
    check_metric(metric)
    check_normalization(normalization)
    if isinstance(dataset, DataLoader):
        raise TypeError('compute_score_table takes the candidate dataset '
                        '(and batch_size / num_workers), not a DataLoader')
    with pass_lock(store_dir, out_file):
        return _compute(model, dataset, store_dir, metric, shard_size,
                        batch_size, num_workers, fingerprint, num_classes,
                        stage, row_chunk, block_size, search_dtype, device,
                        verify, out_file, progress, sources, label_bounds,
                        normalization)


def _compute(model, dataset, store_dir, metric, shard_size, batch_size,
             num_workers, fingerprint, num_classes, stage, row_chunk,
             block_size, search_dtype, device, verify, out_file, progress,
             sources, label_bounds, normalization) -> Optional[ScoreTable]:
    """:func:`compute_score_table` under the store lock."""
    t0 = time.perf_counter()
    rank, world = dist_info()
    if sources is None:
        sources = data_sources(dataset)
    check_unique_samples(dataset, sources.keys)
    fingerprint = dict(fingerprint or {})
    fingerprint[DATA_FILES_FIELD] = sources.digest()
    ranges = shard_ranges(len(dataset), shard_size)
    mine = rank_shards(len(ranges), rank, world)
    store = FeatureStore(
        store_dir,
        store_fingerprint(fingerprint, shard_size, stage, len(dataset)),
        verify=verify)
    reused, computed = extract_shards(model, dataset, store, ranges, mine,
                                      batch_size, num_workers, stage, progress,
                                      sources)
    t_feat = time.perf_counter() - t0
    shards = {sid: store.open_shard(sid) for sid in mine}
    # global K and d (a rank may hold only empty shards); every check below
    # uses all-reduced values, so all ranks raise together (no deadlock)
    local_dims = sorted({s.dim for s in shards.values() if len(s)})
    dim = all_reduce_max(local_dims[-1] if local_dims else 0)
    low = -all_reduce_max(-(local_dims[0] if local_dims else dim))
    if low != dim:
        raise ValueError(f'the base model gave features of different dims '
                         f'({low} and {dim}) to different shards')
    max_label = all_reduce_max(
        max((int(s.labels.max()) for s in shards.values() if len(s)),
            default=-1))
    where = _sample_with_label(shards, max_label)
    for what, bound in (label_bounds or {}).items():
        if max_label >= bound:
            raise ValueError(f'DDL pass: label {max_label} ({where}) >= '
                             f'{what} = {bound}; the data labels must index '
                             "the base model's classes")
    if num_classes is None:
        num_classes = max_label + 1
    elif max_label >= num_classes:
        raise ValueError(f'label {max_label} ({where}) >= '
                         f'num_classes={num_classes}')
    sums, counts = accumulate_centroid_sums(store, mine, max(num_classes, 0),
                                            dim, row_chunk)
    sums, counts = all_reduce_centroid_sums(sums, counts)
    if int(counts.sum()) == 0:
        skipped = [s for sh in shards.values() for s in sh.skipped]
        reasons = '; '.join(f'{s["key"]}: {s["reason"]}' for s in skipped[:5])
        raise RuntimeError('DDL pass: no element could be scored (samples '
                           f'skipped on rank {rank}: {reasons})')
    empty = int((counts == 0).sum())
    if empty and rank == 0:
        print_log(
            f'DDL pass: {empty} of {num_classes} classes have no '
            'scored element; they are left out of the centroids',
            logger='current',
            level=30)
    centroids = centroids_from_sums(sums, counts, on_empty='exclude')
    search = HardestNegativeSearch(centroids, metric, search_dtype, block_size,
                                   device or model_device(model))
    raws = score_shards(store, mine, search, row_chunk)
    local = {
        sid:
        dict(
            raw=raws[sid],
            keys=np.asarray(shard.keys),
            positions=np.asarray(shard.positions),
            labels=np.asarray(shard.labels),
            skipped=shard.skipped,
            info=shard.info)
        for sid, shard in shards.items()
    }
    t_score = time.perf_counter() - t0 - t_feat
    print_log(
        f'DDL pass (rank {rank}/{world}): {len(mine)} shards '
        f'({reused} reused, {computed} computed) in {t_feat:.1f}s, '
        f'scored in {t_score:.1f}s',
        logger='current')
    allres = gather_shard_results(local, len(ranges), dst=0)
    table = None
    if rank == 0:
        table = _assemble(allres, centroids, metric, fingerprint, num_classes,
                          dim, search.search_dtype, sources, normalization)
        if out_file is not None:
            table.save(out_file)
    if out_file is not None:
        barrier()
    return table


def _sample_with_label(shards: Dict[int, Any], label: int) -> str:
    """'sample <key>' of the first sample of this rank's ``shards`` with
    ``label`` (for a message), or 'on another rank'."""
    for sid in sorted(shards):
        shard = shards[sid]
        hit = np.flatnonzero(np.asarray(shard.labels) == label)
        if len(hit):
            return f'sample {str(shard.keys[int(hit[0])])!r}'
    return 'a sample on another rank'


class _Locks:
    """Several :class:`WorkDirLock` taken in order, released in reverse (a
    failure releases those already taken).

    Args:
        locks (List[WorkDirLock]): the locks.
        readonly_ok (List[WorkDirLock]): those skipped, with a warning, when
            their folder cannot be written (a table that is only read
            there); another run holding one still raises.
    """

    def __init__(self,
                 locks: List[WorkDirLock],
                 readonly_ok: Sequence[WorkDirLock] = ()) -> None:
        self.locks, self.readonly_ok = locks, list(readonly_ok)
        self.taken: List[WorkDirLock] = []

    def acquire(self) -> None:
        try:
            for lock in self.locks:
                try:
                    lock.acquire()
                except LockHeldError:
                    raise
                except OSError as e:
                    if lock not in self.readonly_ok:
                        raise
                    print_log(
                        f'DDL pass: not locking {lock.what} ({e}); it can '
                        'be read, a write to it will fail',
                        logger='current',
                        level=30)
                    continue
                self.taken.append(lock)
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        while self.taken:
            self.taken.pop().release()


@contextmanager
def pass_lock(store_dir: str,
              out_file: Optional[str] = None) -> Iterator[None]:
    """Hold ``<store_dir>.lock`` and, with ``out_file``, ``<out_file>.lock``
    (rank 0) for the body; all ranks raise together when another live run
    holds one (so two runs never both write one score table)."""
    rank, _ = dist_info()
    locks = [
        WorkDirLock(
            osp.abspath(store_dir).rstrip('/\\') + '.lock',
            what=f'the DDL pass feature store {store_dir}')
    ]
    if out_file is not None:
        locks.append(
            WorkDirLock(
                osp.abspath(out_file) + '.lock',
                what=f'the D-score table {out_file}',
                advice='give this run another table file (the '
                "DiscriminabilityHook's table.file)"))
    lock = _Locks(locks, readonly_ok=locks[1:])
    error = None
    if rank == 0:
        try:
            lock.acquire()
        except (LockHeldError, OSError) as e:
            error = e
    text = broadcast_object(None if error is None else str(error))
    if text is not None:
        if error is not None:
            raise error
        raise LockHeldError(f'(from rank 0) {text}')
    try:
        yield
        barrier()
    finally:
        if rank == 0:
            lock.release()


def prepare_score_table(out_file: str,
                        build_dataset: Callable[[], Dataset],
                        fingerprint: Callable[[Dataset], Dict[str, Any]],
                        build_model: Callable[[], nn.Module],
                        store_dir: str,
                        reuse: bool = True,
                        keep_features: bool = False,
                        on_stale: str = 'error',
                        check_dataset: Optional[Callable[[Dataset],
                                                         Any]] = None,
                        **pass_kwargs: Any
                        ) -> Tuple[Optional[ScoreTable], bool]:
    """Reuse the table at ``out_file`` or compute it (call on every rank).

    Rank 0 builds the dataset, checks it, reads the identity (size, mtime)
    of every sample file, fingerprints it and decides (see
    :func:`reuse_decision`): reuse a matching table, raise
    :class:`StaleScoreTableError` for a stale one, or compute. The decision
    (or error) is broadcast, so all ranks raise together or all run the
    pass. The whole call holds the store and table locks
    (:func:`pass_lock`), so two runs never both write ``out_file``.

    Args:
        out_file (str): the table path.
        build_dataset (Callable): builds the candidate dataset.
        fingerprint (Callable): the fingerprint of a built dataset.
        build_model (Callable): builds the base model (only when computing).
        store_dir (str): the pass's feature store, deleted after the table
            is saved unless ``keep_features``.
        reuse (bool): reuse a matching table; False always recomputes.
        keep_features (bool): keep the feature store.
        on_stale (str): ``'error'`` (a stale or unreadable table raises,
            naming what differs) or ``'recompute'`` (logged, recomputed).
        check_dataset (Callable, optional): called with the built dataset
            before anything is computed (e.g. label checks); raises to stop.
        **pass_kwargs: arguments of :func:`compute_score_table`.

    Returns:
        Tuple[ScoreTable | None, bool]: the table (None on ranks other than
        0) and whether it was reused.
    """
    if on_stale not in ON_STALE:
        raise ValueError(f'on_stale must be one of {ON_STALE}, got '
                         f'{on_stale!r}')
    rank, _ = dist_info()
    with pass_lock(store_dir, out_file):
        message, error, dataset, table = None, None, None, None
        if rank == 0:
            try:
                dataset = build_dataset()
                if check_dataset is not None:
                    check_dataset(dataset)
                sources = data_sources(dataset)
                check_unique_samples(dataset, sources.keys)
                check_two_classes(dataset)
                fp = dict(fingerprint(dataset))
                fp[DATA_FILES_FIELD] = sources.digest()
                table = reuse_decision(out_file, dataset, fp, sources, reuse,
                                       on_stale)
                message = ('reuse' if table is not None else 'compute',
                           (fp, sources))
            except Exception as e:  # re-raised below, on every rank
                error = e
                message = ('error', f'{type(e).__name__}\0{e}')
        kind, payload = broadcast_object(message)
        if kind == 'error':
            if error is not None:
                raise error
            name, text = payload.split('\0', 1)
            cls = StaleScoreTableError if name == 'StaleScoreTableError' \
                else RuntimeError
            raise cls(f'(from rank 0) {text}')
        if kind == 'reuse':
            return table, True
        fp, sources = payload
        model = build_model()
        table = compute_score_table(
            model,
            dataset or build_dataset(),
            store_dir,
            fingerprint=fp,
            out_file=out_file,
            sources=sources,
            **pass_kwargs)
        if not keep_features:
            # every rank removes what it can see (node-local stores too)
            shutil.rmtree(store_dir, ignore_errors=True)
        del model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return table, False


def reuse_decision(out_file: str,
                   dataset: Dataset,
                   fp: Dict[str, Any],
                   sources: DataSources,
                   reuse: bool = True,
                   on_stale: str = 'error') -> Optional[ScoreTable]:
    """The table at ``out_file`` if it may be reused, else None (compute).

    * no file, or ``reuse=False`` -> compute;
    * unreadable / checksum mismatch -> :class:`CorruptScoreTableError`
      (``on_stale='recompute'``: logged, compute);
    * fingerprint differs -> :class:`StaleScoreTableError` naming the
      fields and changed sample files (``on_stale='recompute'``: logged,
      compute); when only files of samples that had failed changed, the
      failure may be gone: logged, compute;
    * matches, with failed samples -> each is loaded again: if one loads
      now, logged, compute; else the table is reused.

    Args:
        out_file (str): the table path.
        dataset (Dataset): the candidate dataset.
        fp (dict): the current fingerprint (with ``data_files_sha256``).
        sources (DataSources): the current sample-file identities.
        reuse (bool): False always recomputes.
        on_stale (str): see :func:`prepare_score_table`.

    Returns:
        ScoreTable | None: the table to reuse, or None.
    """
    if not osp.exists(out_file):
        return None
    if not reuse:
        print_log(
            f'DDL pass: reuse=False, recomputing {out_file}', logger='current')
        return None
    try:
        table = ScoreTable.load(out_file)
        diff = fingerprint_diff(table.fingerprint, fp)
        changed = table.sources.changed(sources) \
            if DATA_FILES_FIELD in diff else []
        failed = {s['key'] for s in table.skipped}
        if diff == [DATA_FILES_FIELD] and changed and \
                all(k in failed for k, _ in changed):
            print_log(
                f'DDL pass: recomputing {out_file}: the file of '
                f'{len(changed)} sample(s) that had failed changed '
                '(the failure may be gone): ' +
                '; '.join(f'{k} ({why})' for k, why in changed[:5]),
                logger='current',
                level=30)
            return None
        check_fingerprint(table.fingerprint, fp, out_file, changed)
    except (CorruptScoreTableError, StaleScoreTableError) as e:
        if on_stale == 'error':
            raise
        print_log(
            f"DDL pass: on_stale='recompute': {e}", logger='current', level=30)
        return None
    loads = _failures_that_load(dataset, table.skipped, sources)
    if loads:
        print_log(
            f'DDL pass: recomputing {out_file}: {len(loads)} of '
            f'{len(table.skipped)} sample(s) that had failed load '
            f'now, e.g. {loads[0]}',
            logger='current',
            level=30)
        return None
    return table


def _failures_that_load(dataset: Dataset, skipped: Sequence[Dict[str, str]],
                        sources: DataSources) -> List[str]:
    """Keys of the ``skipped`` samples that load without error now."""
    index = {k: i for i, k in enumerate(sources.keys.tolist())}
    safe = SafeDataset(dataset)
    out = []
    for s in skipped:
        key = s['key']
        i = index.get(key)
        if i is None and key.startswith('index:') and key[6:].isdigit():
            i = int(key[6:])
        if i is None or i >= len(safe):
            continue
        data = safe[i]
        if not (isinstance(data, dict) and data.get(FAILED)):
            out.append(key)
    return out


def _assemble(results: Dict[int, Dict[str, Any]],
              centroids: torch.Tensor,
              metric: str,
              fingerprint: Optional[Dict[str, Any]],
              num_classes: int,
              dim: int,
              search_dtype: torch.dtype,
              sources: DataSources,
              normalization: str = 'global') -> ScoreTable:
    """Rank 0: concatenate shards in id order, Eq. 4 once, build the table."""
    parts = list(results.values())
    raw = np.concatenate([p['raw'] for p in parts]).astype(np.float64)
    labels = np.concatenate([p['labels'] for p in parts])
    mean, std = discriminability_stats(raw)
    if normalization == 'class':
        dscores = normalize_discriminability_per_class(
            torch.from_numpy(raw), torch.from_numpy(labels)).numpy()
    else:
        dscores = normalize_discriminability(torch.from_numpy(raw), mean,
                                             std).numpy()
    info = _merge_info([(len(p['raw']), p['info']) for p in parts])
    info.update(
        num_classes=num_classes,
        feature_dim=dim,
        empty_classes=torch.isnan(centroids).any(
            1).nonzero().flatten().tolist(),
        search_dtype=str(search_dtype).replace('torch.', ''),
        normalization=normalization)
    table = ScoreTable(
        keys=np.concatenate([p['keys'] for p in parts]),
        positions=np.concatenate([p['positions'] for p in parts]),
        labels=labels,
        raw=raw,
        dscores=dscores,
        mean=mean,
        std=std,
        metric=metric,
        fingerprint=fingerprint or {},
        skipped=[s for p in parts for s in p['skipped']],
        info=info,
        sources=sources)
    print_log(
        f'DDL pass: scored {len(table)} elements of '
        f'{table.num_samples} samples ({len(table.skipped)} skipped) '
        f'in {len(parts)} shards; raw D mean={mean:.4f} '
        f'std={std:.4f}',
        logger='current')
    return table
