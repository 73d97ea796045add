"""The discriminability pass: base model over every candidate element -> table.

Three separable steps, so a distributed / resumable version (per-rank shards,
all-reduced centroid sums and counts) can reuse them:

1. :func:`collect_features` - features, labels, keys and clip positions of
   every candidate element (decode failures are skipped and recorded).
2. :func:`compute_centroids` - class centroids from per-class sums/counts
   (``reduce_fn`` is the place for an all-reduce).
3. :func:`score_elements` - raw D (Eq. 2-3) and D-scores (Eq. 4).

:func:`compute_score_table` chains them into a :class:`ScoreTable`.

Element layout: a sample's views come from the candidate pipeline (e.g.
``SampleFrames(num_clips=N, test_mode=True)`` + optional ``ThreeCrop``) in
mmaction's crop-major order, view ``v = crop * N + clip``. Each clip is one
element; its feature is the mean of its crops' pooled features. The clip's
``position`` is its first frame index minus the sample's ``start_index``
(clips of a video shorter than one clip all start at 0 and loop). Images
(no ``frame_inds``) are one element at position 0.
"""
import copy
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.logging import print_log
from mmengine.utils import ProgressBar
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from mmddl.core import (centroid_sums, centroids_from_sums, discriminability,
                        discriminability_stats, normalize_discriminability)
from .features import extract_features
from mmddl.structures.score_table import KEY_FIELDS, ScoreTable

#: Metainfo the pass needs from the candidate pipeline's Pack transform.
REQUIRED_META_KEYS = KEY_FIELDS + ('frame_inds', 'clip_len', 'num_clips',
                                   'frame_interval', 'start_index',
                                   'total_frames')
#: Marker field of a sample whose loading failed (see :class:`SafeDataset`).
FAILED = '_mmddl_failed'


def sample_key(info: Dict[str, Any]) -> Optional[str]:
    """The sample key (first of :data:`KEY_FIELDS` present), or None."""
    for name in KEY_FIELDS:
        if info.get(name) is not None:
            return str(info[name])
    return None


class SafeDataset(Dataset):
    """Wrap a dataset so a failing sample gives a marker instead of raising.

    The marker is ``{FAILED: True, 'index', 'key', 'reason'}``; the key is
    read from ``dataset.get_data_info(index)`` when available.

    Args:
        dataset: the dataset to wrap (built with ``test_mode=True`` so that
            mmengine does not silently replace a broken sample by another).
    """

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Dict[str, Any]:
        try:
            data = self.dataset[index]
            if data is None:
                raise ValueError('the pipeline returned None')
            return data
        except Exception as e:  # noqa: BLE001 - recorded, never hidden
            key = None
            try:
                key = sample_key(self.dataset.get_data_info(index))
            except Exception:  # noqa: BLE001
                pass
            return {FAILED: True, 'index': index,
                    'key': key if key is not None else f'index:{index}',
                    'reason': f'{type(e).__name__}: {e}'}


def safe_collate(batch: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """Collate good samples with ``pseudo_collate``; list the failed ones.

    Returns:
        ``dict(data=<collated batch or None>, failures=[markers])``.
    """
    good = [b for b in batch if not (isinstance(b, dict) and b.get(FAILED))]
    failures = [b for b in batch if isinstance(b, dict) and b.get(FAILED)]
    return dict(data=pseudo_collate(good) if good else None,
                failures=failures)


def build_candidate_loader(dataset: Dataset,
                           batch_size: int = 1,
                           num_workers: int = 0) -> DataLoader:
    """A sequential, failure-tolerant DataLoader over ``dataset``."""
    return DataLoader(SafeDataset(dataset), batch_size=batch_size,
                      shuffle=False, num_workers=num_workers,
                      collate_fn=safe_collate,
                      persistent_workers=False)


def ensure_meta_keys(pipeline: Sequence[Any],
                     registry: Any = None) -> List[Any]:
    """Copy of a candidate pipeline whose Pack transform keeps the metainfo
    the pass needs (:data:`REQUIRED_META_KEYS`).

    The last transform whose type name starts with ``Pack`` (mmaction's
    ``PackActionInputs``, mmpretrain's ``PackInputs``) gets these keys added
    to its ``meta_keys`` (keeping the class defaults when it sets none).

    Args:
        pipeline: transform configs (dicts) and/or transform objects.
        registry: where to look up a transform class for its default
            ``meta_keys`` (defaults to mmengine's root ``TRANSFORMS``, which
            resolves in the current default scope).

    Returns:
        The new pipeline list.
    """
    if registry is None:
        from mmengine.registry import TRANSFORMS as registry
    pipeline = [copy.deepcopy(t) for t in pipeline]
    for i in range(len(pipeline) - 1, -1, -1):
        t = pipeline[i]
        if isinstance(t, dict):
            typ = t.get('type')
            name = typ if isinstance(typ, str) else getattr(typ, '__name__',
                                                            '')
            if not name.split('.')[-1].startswith('Pack'):
                continue
            keys = t.get('meta_keys')
            if keys is None:
                cls = typ
                if isinstance(typ, str):  # resolve in the default scope
                    with registry.switch_scope_and_registry(None) as reg:
                        cls = reg.get(typ)
                param = inspect.signature(cls).parameters.get('meta_keys') \
                    if cls is not None else None
                keys = param.default if param is not None and \
                    param.default is not inspect.Parameter.empty else ()
            t['meta_keys'] = tuple(keys) + tuple(
                k for k in REQUIRED_META_KEYS if k not in tuple(keys))
            return pipeline
        if type(t).__name__.startswith('Pack') and hasattr(t, 'meta_keys'):
            keys = tuple(t.meta_keys)
            t.meta_keys = keys + tuple(k for k in REQUIRED_META_KEYS
                                       if k not in keys)
            return pipeline
    raise ValueError('the candidate pipeline has no Pack transform (e.g. '
                     'PackActionInputs / PackInputs) at its end')


def element_layout(meta: Dict[str, Any],
                   num_views: int) -> Tuple[str, List[int], int]:
    """Key, clip positions and crops per clip of one packed sample.

    Args:
        meta: the data sample's metainfo.
        num_views: how many views (feature rows) the sample produced.

    Returns:
        ``(key, positions, num_crops)``; ``len(positions) * num_crops ==
        num_views``.
    """
    key = sample_key(meta)
    if key is None:
        raise ValueError(
            f'a packed data sample has none of {KEY_FIELDS} in its metainfo; '
            "add them to the Pack transform's meta_keys (ensure_meta_keys "
            'does it)')
    if 'frame_inds' not in meta:
        return key, [0], num_views
    for name in ('clip_len', 'start_index'):
        if name not in meta:
            raise ValueError(f'{key}: metainfo has frame_inds but no {name!r};'
                             " add it to the Pack transform's meta_keys")
    inds = np.asarray(meta['frame_inds']).reshape(-1)
    clip_len = int(meta['clip_len'])
    if clip_len < 1 or len(inds) % clip_len:
        raise ValueError(f'{key}: {len(inds)} frame_inds do not split into '
                         f'clips of clip_len={clip_len}')
    num_clips = len(inds) // clip_len
    if num_views % num_clips:
        raise ValueError(f'{key}: {num_views} views are not a multiple of '
                         f'the {num_clips} sampled clips')
    positions = (inds[::clip_len] - int(meta['start_index'])).astype(int)
    return key, positions.tolist(), num_views // num_clips


@dataclass
class FeatureCollection:
    """Per-element features and bookkeeping gathered by the pass."""
    feats: Tensor
    labels: Tensor
    keys: List[str]
    positions: np.ndarray
    skipped: List[Dict[str, str]] = field(default_factory=list)
    info: Dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.keys)


def _label_of(sample: Any, key: str) -> int:
    label = getattr(sample, 'gt_label', None)
    if label is None:
        raise ValueError(f'{key}: the data sample has no gt_label')
    label = torch.as_tensor(label).reshape(-1)
    if label.numel() != 1:
        raise ValueError(f'{key}: discriminability needs one class label '
                         f'per sample, got {label.tolist()}')
    return int(label.item())


def collect_features(model: nn.Module,
                     dataloader: DataLoader,
                     stage: str = 'neck',
                     progress: bool = True) -> FeatureCollection:
    """Run the model over every candidate element; keep one feature each.

    Args:
        model: the (unwrapped) base model.
        dataloader: from :func:`build_candidate_loader` (batches are
            ``dict(data=..., failures=[...])``).
        stage: ``extract_feat`` stage, see :func:`extract_features`.
        progress: show an mmengine ProgressBar over samples.

    Returns:
        A :class:`FeatureCollection` (features on the CPU).
    """
    feats, labels, keys, positions, skipped = [], [], [], [], []
    clip_lens, intervals = set(), set()
    bar = ProgressBar(len(dataloader.dataset)) if progress else None
    for batch in dataloader:
        for fail in batch['failures']:
            skipped.append(dict(key=fail['key'], reason=fail['reason']))
            print_log(f'DDL pass: skipped {fail["key"]}: {fail["reason"]}',
                      logger='current', level=30)
        data = batch['data']
        num_good = 0 if data is None else len(data['data_samples'])
        if data is not None:
            f = extract_features(model, data, stage=stage).cpu()
            if f.shape[0] % num_good:
                raise ValueError(f'{f.shape[0]} features for {num_good} '
                                 'samples: views cannot be assigned')
            num_views = f.shape[0] // num_good
            f = f.view(num_good, num_views, -1)
            for b, sample in enumerate(data['data_samples']):
                meta = sample.metainfo
                key, pos, crops = element_layout(meta, num_views)
                # crop-major views -> (crops, clips, d) -> mean over crops
                clip_feats = f[b].view(crops, len(pos), -1).mean(0)
                feats.append(clip_feats)
                labels.extend([_label_of(sample, key)] * len(pos))
                keys.extend([key] * len(pos))
                positions.extend(pos)
                if 'clip_len' in meta:
                    clip_lens.add(int(meta['clip_len']))
                    intervals.add(int(meta.get('frame_interval', 1)))
        if bar is not None:
            bar.update(num_good + len(batch['failures']))
    if bar is not None:
        bar.file.write('\n')
    info = dict(clip_len=clip_lens.pop() if len(clip_lens) == 1 else None,
                frame_interval=intervals.pop() if len(intervals) == 1
                else None)
    dim = feats[0].shape[1] if feats else 0
    return FeatureCollection(
        feats=torch.cat(feats) if feats else torch.zeros(0, dim),
        labels=torch.as_tensor(labels, dtype=torch.long),
        keys=keys,
        positions=np.asarray(positions, dtype=np.int64),
        skipped=skipped,
        info=info)


def compute_centroids(
        feats: Tensor,
        labels: Tensor,
        num_classes: int,
        reduce_fn: Optional[Callable[[Tensor, Tensor], Tuple[Tensor,
                                                              Tensor]]] = None,
        chunk_size: int = 65536) -> Tensor:
    """Class centroids (Eq. 2) via additive per-class sums and counts.

    Sums are accumulated in float64 over chunks of ``chunk_size`` rows (so
    float32 features of large classes lose no precision and memory stays
    bounded). Classes without any element get NaN centroids (excluded from
    the negatives of Eq. 2-3, see ``mmddl.core.class_centroids``).

    Args:
        feats: (N, d) features.
        labels: (N,) labels.
        num_classes: K (must be the same on every shard).
        reduce_fn: optional ``(sums, counts) -> (sums, counts)`` applied
            before dividing, e.g. an all-reduce over ranks.
        chunk_size: rows converted to float64 at once.

    Returns:
        (K, d) float64 centroids.
    """
    sums = torch.zeros(num_classes, feats.shape[1], dtype=torch.float64)
    counts = torch.zeros(num_classes, dtype=torch.int64)
    for lo in range(0, feats.shape[0], chunk_size):
        s, c = centroid_sums(feats[lo:lo + chunk_size].double(),
                             labels[lo:lo + chunk_size], num_classes)
        sums += s.cpu()
        counts += c.cpu()
    if reduce_fn is not None:
        sums, counts = reduce_fn(sums, counts)
    empty = int((counts == 0).sum())
    if empty:
        print_log(f'DDL pass: {empty} of {num_classes} classes have no '
                  'scored element; they are left out of the centroids',
                  logger='current', level=30)
    return centroids_from_sums(sums, counts, on_empty='exclude')


def score_elements(feats: Tensor,
                   labels: Tensor,
                   centroids: Tensor,
                   metric: str = 'cosine',
                   chunk_size: int = 4096
                   ) -> Tuple[Tensor, Tensor, float, float]:
    """Raw D (Eq. 2-3) and D-score (Eq. 4) of every element.

    Rows are converted to float64 ``chunk_size`` at a time (D is a ratio of
    nearly equal similarities / a difference of large squared norms, which
    float32 resolves poorly), so memory stays O(chunk_size x (d + K)).

    Returns:
        ``(raw (N,), dscores (N,), mean, std)``, float64.
    """
    centroids = centroids.double()
    raw = torch.cat([
        discriminability(feats[lo:lo + chunk_size].double(),
                         labels[lo:lo + chunk_size], centroids, metric=metric,
                         chunk_size=chunk_size)
        for lo in range(0, feats.shape[0], chunk_size)
    ]) if feats.shape[0] else torch.zeros(0, dtype=torch.float64)
    mean, std = discriminability_stats(raw)
    return raw, normalize_discriminability(raw, mean, std), mean, std


def compute_score_table(model: nn.Module,
                        dataloader: DataLoader,
                        metric: str = 'cosine',
                        chunk_size: int = 4096,
                        fingerprint: Optional[Dict[str, Any]] = None,
                        num_classes: Optional[int] = None,
                        stage: str = 'neck',
                        progress: bool = True,
                        feature_dir: Optional[str] = None,
                        shard_size: Optional[int] = None,
                        sim_dtype: Optional[str] = 'float32',
                        out_file: Optional[str] = None
                        ) -> Optional[ScoreTable]:
    """The whole pass: features -> centroids -> D -> D-scores -> table.

    In memory by default. With ``feature_dir``, or whenever a distributed
    process group with more than one rank is initialised (torchrun / slurm),
    it runs :func:`~mmddl.engine.sharded_pass.compute_score_table_sharded`
    instead: rank shards, features on disk, all-reduced centroids, resumable
    from finished shards; the same table (order, values within 1e-6). Every
    rank must then call it; the table is returned on rank 0 only.

    Args:
        model: the (unwrapped) base model, already on its device.
        dataloader: from :func:`build_candidate_loader` (the sharded pass
            uses its dataset, batch size and worker count).
        metric: ``'cosine'`` or ``'euclidean'``.
        chunk_size: see ``mmddl.core.discriminability`` (rows scored at a
            time in the sharded pass too).
        fingerprint: stored in the table (see ``make_fingerprint``).
        num_classes: K; defaults to ``max(label) + 1``.
        stage: ``extract_feat`` stage.
        progress: show a progress bar.
        feature_dir: feature store folder of the sharded pass (keep it to
            resume a killed pass); distributed runs without one use a
            temporary folder per rank (not resumable).
        shard_size: samples per shard (sharded pass; default
            ``sharded_pass.DEFAULT_SHARD_SIZE``).
        sim_dtype: search dtype of the sharded pass (see
            :mod:`mmddl.engine.fast_similarity`); the ratio stays float64.
        out_file: sharded pass only: rank 0 saves the table there and every
            rank waits for it.

    Returns:
        The :class:`ScoreTable` (None on ranks other than 0).
    """
    from mmengine.dist import get_world_size
    if feature_dir is not None or get_world_size() > 1:
        return _sharded(model, dataloader, metric, chunk_size, fingerprint,
                        num_classes, stage, progress, feature_dir,
                        shard_size, sim_dtype, out_file)
    if out_file is not None or shard_size is not None:
        raise ValueError('out_file / shard_size are options of the sharded '
                         'pass: give feature_dir too')
    coll = collect_features(model, dataloader, stage=stage, progress=progress)
    if len(coll) == 0:
        reasons = '; '.join(f'{s["key"]}: {s["reason"]}'
                            for s in coll.skipped[:5])
        raise RuntimeError(f'DDL pass: no element could be scored '
                           f'({len(coll.skipped)} samples skipped: '
                           f'{reasons})')
    if num_classes is None:
        num_classes = int(coll.labels.max()) + 1
    centroids = compute_centroids(coll.feats, coll.labels, num_classes)
    raw, dscores, mean, std = score_elements(coll.feats, coll.labels,
                                             centroids, metric, chunk_size)
    info = dict(coll.info, num_classes=num_classes,
                feature_dim=int(coll.feats.shape[1]),
                empty_classes=torch.isnan(centroids).any(1).nonzero()
                .flatten().tolist())
    table = ScoreTable(keys=coll.keys, positions=coll.positions,
                       labels=coll.labels.numpy(), raw=raw.double().numpy(),
                       dscores=dscores.double().numpy(), mean=mean, std=std,
                       metric=metric, fingerprint=fingerprint or {},
                       skipped=coll.skipped, info=info)
    print_log(f'DDL pass: scored {len(table)} elements of '
              f'{table.num_samples} samples ({len(table.skipped)} skipped); '
              f'raw D mean={mean:.4f} std={std:.4f}', logger='current')
    return table


def _sharded(model, dataloader, metric, chunk_size, fingerprint, num_classes,
             stage, progress, feature_dir, shard_size, sim_dtype,
             out_file) -> Optional[ScoreTable]:
    """:func:`compute_score_table` through the sharded pass."""
    import tempfile

    from .sharded_pass import (DEFAULT_SHARD_SIZE,
                               compute_score_table_sharded)
    dataset = dataloader.dataset
    if isinstance(dataset, SafeDataset):
        dataset = dataset.dataset
    kwargs = dict(metric=metric, fingerprint=fingerprint,
                  num_classes=num_classes, stage=stage,
                  shard_size=shard_size or DEFAULT_SHARD_SIZE,
                  batch_size=dataloader.batch_size or 1,
                  num_workers=dataloader.num_workers, row_chunk=chunk_size,
                  sim_dtype=sim_dtype, out_file=out_file, progress=progress)
    if feature_dir is not None:
        return compute_score_table_sharded(model, dataset, feature_dir,
                                           **kwargs)
    with tempfile.TemporaryDirectory(prefix='mmddl_features_') as tmp:
        return compute_score_table_sharded(model, dataset, tmp, **kwargs)
