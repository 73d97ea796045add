"""Candidates of the discriminability pass: dataset, loading, layout."""
import copy
import inspect
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.logging import print_log
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from mmddl.datasets.video_list import list_location
from mmddl.structures.data_sources import KEY_FIELDS, sample_key
from .features import extract_features
from mmddl.utils.progress import LogProgress

#: Metainfo the pass needs from the candidate pipeline's Pack transform.
REQUIRED_META_KEYS = KEY_FIELDS + ('frame_inds', 'clip_len', 'num_clips',
                                   'frame_interval', 'start_index',
                                   'total_frames')
#: Marker field of a sample whose loading failed (see :class:`SafeDataset`).
FAILED = '_mmddl_failed'


class SafeDataset(Dataset):
    """Wrap a dataset so a failing sample gives a marker instead of raising.

    The marker is ``{FAILED: True, 'index', 'key', 'reason'}``; the key is
    read from ``dataset.get_data_info(index)`` when available.

    Args:
        dataset (Dataset): the dataset to wrap (built with ``test_mode=True``
            so that mmengine does not silently replace a broken sample by
            another).
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
            return {
                FAILED: True,
                'index': index,
                'key': key if key is not None else f'index:{index}',
                'reason': f'{type(e).__name__}: {e}'
            }


def safe_collate(batch: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """Collate good samples with ``pseudo_collate``; list the failed ones.

    Returns:
        dict: ``dict(data=<collated batch or None>, failures=[markers])``.
    """
    good = [b for b in batch if not (isinstance(b, dict) and b.get(FAILED))]
    failures = [b for b in batch if isinstance(b, dict) and b.get(FAILED)]
    return dict(data=pseudo_collate(good) if good else None, failures=failures)


def ensure_meta_keys(pipeline: Sequence[Any],
                     registry: Any = None) -> List[Any]:
    """Copy of a candidate pipeline whose Pack transform keeps the metainfo
    the pass needs (:data:`REQUIRED_META_KEYS`).

    The last transform whose type name starts with ``Pack`` (mmaction's
    ``PackActionInputs``, mmpretrain's ``PackInputs``) gets these keys added
    to its ``meta_keys`` (keeping the class defaults when it sets none).

    Args:
        pipeline (Sequence): transform configs (dicts) and/or transform
            objects.
        registry (Registry, optional): where to look up a transform class for
            its default ``meta_keys`` (defaults to mmengine's root
            ``TRANSFORMS``, which resolves in the current default scope).

    Returns:
        list: the new pipeline.
    """
    if registry is None:
        from mmengine.registry import TRANSFORMS as registry
    pipeline = [copy.deepcopy(t) for t in pipeline]
    for i in range(len(pipeline) - 1, -1, -1):
        t = pipeline[i]
        if isinstance(t, dict):
            typ = t.get('type')
            name = typ if isinstance(typ, str) else getattr(
                typ, '__name__', '')
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
            t.meta_keys = keys + tuple(
                k for k in REQUIRED_META_KEYS if k not in keys)
            return pipeline
    raise ValueError('the candidate pipeline has no Pack transform (e.g. '
                     'PackActionInputs / PackInputs) at its end')


def element_layout(meta: Dict[str, Any],
                   num_views: int) -> Tuple[str, List[int], int]:
    """Key, clip positions and crops per clip of one packed sample.

    Views come in mmaction's crop-major order (view ``crop * N + clip``);
    each clip is one element whose feature is the mean over its crops and
    whose position is its first frame index minus ``start_index``; an image
    (no ``frame_inds``) is one element at position 0.

    Args:
        meta (dict): the data sample's metainfo.
        num_views (int): how many views (feature rows) the sample produced.

    Returns:
        Tuple[str, List[int], int]: key, positions and num_crops, with
        ``len(positions) * num_crops == num_views``.
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
                     progress: Union[bool,
                                     LogProgress] = True) -> FeatureCollection:
    """Run the model over every candidate element; keep one feature each.

    Args:
        model (nn.Module): the (unwrapped) base model.
        dataloader (DataLoader): over :class:`SafeDataset` with
            :func:`safe_collate` (batches are
            ``dict(data=..., failures=[...])``).
        stage (str): ``extract_feat`` stage, see :func:`extract_features`.
        progress (bool | LogProgress): log progress with ETA over the
            samples (True), count the samples into a given
            :class:`~mmddl.utils.progress.LogProgress`, or nothing (False).

    Returns:
        FeatureCollection: the features (on the CPU) and bookkeeping.
    """
    feats, labels, keys, positions, skipped = [], [], [], [], []
    clip_lens, intervals = set(), set()
    if isinstance(progress, LogProgress):
        bar = progress
    else:
        bar = LogProgress(len(dataloader.dataset)) if progress else None
    for batch in dataloader:
        for fail in batch['failures']:
            skipped.append(dict(key=fail['key'], reason=fail['reason']))
            print_log(
                f'DDL pass: skipped {fail["key"]}: {fail["reason"]}',
                logger='current',
                level=30)
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
    info = dict(
        clip_len=clip_lens.pop() if len(clip_lens) == 1 else None,
        frame_interval=intervals.pop() if len(intervals) == 1 else None)
    dim = feats[0].shape[1] if feats else 0
    return FeatureCollection(
        feats=torch.cat(feats) if feats else torch.zeros(0, dim),
        labels=torch.as_tensor(labels, dtype=torch.long),
        keys=keys,
        positions=np.asarray(positions, dtype=np.int64),
        skipped=skipped,
        info=info)


class SampleSubset(Dataset):
    """Samples ``indices`` of a dataset, re-indexed from 0.

    Args:
        dataset (Dataset): the wrapped dataset (``get_data_info`` is
            forwarded, to name samples that fail to load).
        indices (Sequence[int]): the wrapped dataset's sample indices.
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


_WRAPPER_KEYS = ('dataset', 'datasets')


def iter_datasets(ds: Any, seen: Optional[set] = None) -> Iterator[Any]:
    """The dataset and every dataset nested in it (wrappers included)."""
    seen = set() if seen is None else seen
    if ds is None or id(ds) in seen:
        return
    seen.add(id(ds))
    yield ds
    inner = getattr(ds, 'dataset', None)
    if inner is not None:
        yield from iter_datasets(inner, seen)
    for d in getattr(ds, 'datasets', None) or []:
        yield from iter_datasets(d, seen)


def iter_transforms(obj: Any, depth: int = 0) -> Iterator[Any]:
    """Transforms of a pipeline, recursing into nested ``transforms``."""
    if obj is None or depth > 8:
        return
    if isinstance(obj, (list, tuple)):
        for t in obj:
            yield from iter_transforms(t, depth + 1)
        return
    yield obj
    inner = getattr(obj, 'transforms', None) or []
    if isinstance(inner, (list, tuple)):
        for t in inner:
            yield from iter_transforms(t, depth + 1)


def train_dataset_cfg(runner: Any) -> Dict[str, Any]:
    """The innermost train dataset config of a runner (wrappers unwrapped).

    Args:
        runner (Runner): an mmengine Runner; its
            ``cfg.train_dataloader.dataset`` is used, else the built train
            dataset's type / ann_file / prefix.

    Returns:
        Dict[str, Any]: the dataset config.
    """
    cfg = (runner.cfg.get('train_dataloader') or {}).get('dataset')
    if cfg is None:
        ds = next(
            d for d in iter_datasets(runner.train_dataloader.dataset)
            if not any(hasattr(d, k) for k in _WRAPPER_KEYS))
        return dict(
            type=type(ds),
            ann_file=getattr(ds, 'ann_file', ''),
            data_prefix=getattr(ds, 'data_prefix', {}))
    cfg = cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)
    while any(k in cfg for k in _WRAPPER_KEYS) and 'ann_file' not in cfg:
        if 'dataset' in cfg:
            cfg = cfg['dataset']
        elif len(cfg['datasets']) == 1:
            cfg = cfg['datasets'][0]
        else:
            raise ValueError(
                'the train dataset concatenates '
                f'{len(cfg["datasets"])} datasets; pass dataset_type, '
                'ann_file and data_prefix explicitly')
    return dict(cfg)


def candidate_dataset_cfg(train_cfg: Optional[Dict[str, Any]],
                          candidate_pipeline: Sequence[Any],
                          dataset_type: Any = None,
                          ann_file: Optional[str] = None,
                          data_prefix: Optional[Dict[str, str]] = None,
                          dataset_kwargs: Optional[Dict[str, Any]] = None
                          ) -> Dict[str, Any]:
    """The candidate dataset config: the train one with the candidate
    pipeline, ``test_mode=True`` (a failing sample must not be replaced)
    and the given overrides.

    Args:
        train_cfg (dict, optional): the train dataset config.
        candidate_pipeline (Sequence): transforms producing every candidate
            element (its Pack transform gets :data:`REQUIRED_META_KEYS`).
        dataset_type (str | type, optional): another dataset type (then the
            train config is not used).
        ann_file (str, optional): overrides the data list.
        data_prefix (dict, optional): overrides the data prefix.
        dataset_kwargs (dict, optional): extra dataset arguments.

    Returns:
        Dict[str, Any]: the config.
    """
    if dataset_type is not None and (train_cfg is None
                                     or dataset_type != train_cfg['type']):
        cfg = dict(type=dataset_type)
    elif train_cfg is not None:
        cfg = copy.deepcopy(train_cfg)
    else:
        raise ValueError('cannot find the train dataset config; pass '
                         'dataset_type, ann_file and data_prefix')
    cfg.update(copy.deepcopy(dataset_kwargs or {}))
    if ann_file is not None:
        cfg['ann_file'] = ann_file
    if data_prefix is not None:
        cfg['data_prefix'] = copy.deepcopy(data_prefix)
    cfg['pipeline'] = ensure_meta_keys(candidate_pipeline)
    cfg['test_mode'] = True
    cfg['lazy_init'] = False
    return cfg


def head_num_classes(model_cfg: Dict[str, Any]) -> Optional[int]:
    """``num_classes`` of a model config's head (mmaction ``cls_head``,
    mmpretrain ``head``), or None when it has none."""
    for name in ('cls_head', 'head'):
        head = model_cfg.get(name)
        if isinstance(head, dict) and head.get('num_classes') is not None:
            return int(head['num_classes'])
    return None


def check_labels(dataset: Any, bounds: Dict[str, Optional[int]]) -> int:
    """Check every sample's label against upper bounds, before any compute.

    Labels are read from ``get_data_info(i)`` (``label`` or ``gt_label``);
    the dataset's own ``metainfo['classes']`` adds a bound when present.

    Args:
        dataset (Any): the candidate dataset.
        bounds (Dict[str, Optional[int]]): ``{what: K}`` (e.g. ``"the base
            head's num_classes": 400``); None entries are ignored.

    Returns:
        int: samples whose label was checked (0: the infos carry no label;
        the pass then checks the extracted labels).

    Raises:
        ValueError: naming the first sample whose label is negative or
            >= a bound, and both numbers.
    """
    bounds = {k: int(v) for k, v in bounds.items() if v is not None}
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    if classes:
        bounds["the dataset's number of classes"] = len(classes)
    get_info = getattr(dataset, 'get_data_info', None)
    if get_info is None:
        return 0
    checked = 0
    for i in range(len(dataset)):
        info = get_info(i)
        label = info.get('label', info.get('gt_label'))
        if label is None:
            continue
        values = np.asarray(label).reshape(-1).astype(np.int64).tolist()
        name = sample_key(info) or f'index:{i}'
        where = list_location(dataset, i)
        if where:
            name = f'{name}, {where}'
        for v in values:
            bad = [(k, b) for k, b in bounds.items() if v >= b]
            if v < 0 or bad:
                what = f'>= {bad[0][0]} = {bad[0][1]}' if bad else \
                    'negative'
                raise ValueError(
                    f'sample {i} ({name}) has label {v}, {what}; the '
                    'labels of the data list must index the classes of the '
                    'base model (check the ann_file, or the base config / '
                    'checkpoint)')
        checked += 1
    return checked
