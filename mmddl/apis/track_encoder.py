"""DDL per track: one dense pass of a DDL group encoder over the tracks of
``MOTTrackDataset``, replayed at DDL's operating point, average pooling and
top-1 (one embedding per track and method)."""
import copy
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Dict, Iterator, List, Optional, Sequence

import cv2
import numpy as np

from mmddl.utils.progress import LogProgress

#: the methods every track is encoded with, and their aggregator settings
#: (``ddl``: the config's own aggregator)
BASELINES = dict(average=dict(mode='dense'), top1=dict(mode='top1'))
METHODS = ('ddl', ) + tuple(BASELINES)
#: height of the crop thumbnails kept for contact sheets
THUMB_HEIGHT = 64


@dataclass
class TrackEncoder:
    """A DDL group encoder built from a track config, checkpoints loaded.

    Args:
        model (nn.Module): The ``DDLGroupEncoder`` on its device.
        cfg (mmengine.Config): The config (checkpoints filled in).
        config (str): The config file.
        target (str): ``'person'`` (a re-ID config) or ``'face'``.
        device (str): The device.
    """
    model: object = field(repr=False)
    cfg: object = field(repr=False)
    config: str
    target: str
    device: str = 'cpu'

    @property
    def aggregator(self) -> dict:
        """The config's aggregator settings (DDL's operating point)."""
        agg = dict(self.cfg.model.get('aggregator', {}))
        agg.setdefault('type', 'DDLAggregator')
        return agg


def config_target(cfg) -> str:
    """What a DDL track config encodes: its ``track_target``
    (``'person'`` / ``'face'``), else ``'person'`` for a re-ID config
    (``GroupReIDMetric``) and ``'face'`` otherwise.

    Args:
        cfg (mmengine.Config): The config.
    """
    from mmddl.analysis.sweep import config_task
    target = cfg.get('track_target')
    if target is None:
        return 'person' if config_task(cfg) == 'reid' else 'face'
    if target not in ('person', 'face'):
        raise ValueError(f"track_target must be 'person' or 'face', got "
                         f'{target!r}')
    return target


def build_track_encoder(config: str,
                        base_checkpoint: str,
                        ddnet_checkpoint: Optional[str] = None,
                        device: str = 'cpu',
                        cfg_options: Optional[dict] = None) -> TrackEncoder:
    """Build a DDL track config's ``DDLGroupEncoder`` and load the base and
    DDNet checkpoints strictly (a checkpoint that does not fit stops here,
    naming the file and the keys).

    Args:
        config (str): A ``DDLGroupEncoder`` config whose test dataset is a
            ``MOTTrackDataset`` (``configs/tracks/ddl_*``).
        base_checkpoint (str): The base's (re-ID / face model) checkpoint.
        ddnet_checkpoint (str, optional): The DDNet's (else the config's).
        device (str): ``'cpu'`` or ``'cuda'`` ...
        cfg_options (dict, optional): Config overrides.

    Returns:
        TrackEncoder: The model and its config.
    """
    import os.path as osp

    import torch
    from mmengine.registry import MODELS, DefaultScope

    import mmddl  # noqa: F401  (registration, compatibility fixes)
    from mmddl.analysis.sweep import sweep_config
    for what, path in (('DDL config', config), ('base checkpoint',
                                                base_checkpoint),
                       ('DDNet checkpoint', ddnet_checkpoint)):
        if path and '://' not in path and not osp.isfile(path):
            raise FileNotFoundError(f'{what} not found: {path}')
    cfg = sweep_config(config, base_checkpoint, ddnet_checkpoint, cfg_options)
    if cfg.model.type != 'DDLGroupEncoder':
        raise ValueError(f'{config}: model type {cfg.model.type!r}; tracks '
                         'are encoded by a DDLGroupEncoder')
    ds = cfg.test_dataloader.dataset
    if ds.get('type') != 'MOTTrackDataset':
        raise ValueError(
            f'{config}: its test dataset is {ds.get("type")!r}, not '
            'MOTTrackDataset (see configs/tracks/ddl_*.py)')
    target = config_target(cfg)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    model.to(torch.device(device))
    model.eval()
    return TrackEncoder(model, cfg, config, target, device)


class _ProgressLoader:
    """A data loader that logs progress with ETA over tracks, times the
    crop loading and keeps small thumbnails of every crop."""

    def __init__(self, loader, total: int, progress: bool,
                 thumbs: Optional[list]):
        self.loader, self.thumbs = loader, thumbs
        self.log = LogProgress(
            total, 'DDL over tracks', 'tracks',
            fraction=0.1) if progress else None
        self.decode_s = 0.0

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator:
        it = iter(self.loader)
        pending = 0
        while True:
            t0 = time.perf_counter()
            try:
                data = next(it)
            except StopIteration:
                break
            finally:
                self.decode_s += time.perf_counter() - t0
            if self.log is not None and pending:
                self.log.update(pending)
            pending = len(data['inputs'])
            if self.thumbs is not None:
                self.thumbs.extend(_thumbnails(g) for g in data['inputs'])
            yield data
        if self.log is not None and pending:
            self.log.update(pending)


def _thumbnails(group) -> List[np.ndarray]:
    """RGB uint8 thumbnails of a group's (n, 3, H, W) BGR crops."""
    arr = group.detach().cpu().numpy().transpose(0, 2, 3, 1)[..., ::-1]
    h, w = arr.shape[1:3]
    if h > THUMB_HEIGHT:
        size = (max(1, round(w * THUMB_HEIGHT / h)), THUMB_HEIGHT)
        return [
            cv2.resize(
                np.ascontiguousarray(a), size, interpolation=cv2.INTER_AREA)
            for a in arr
        ]
    return [np.ascontiguousarray(a).astype(np.uint8) for a in arr]


@dataclass
class TrackEncoding:
    """Every track's D-scores, kept crops and embeddings.

    Args:
        tracks (list[dict]): One record per track, in the dataset's order
            (camera then track id): ``name`` (``'<sequence>/<id>'``),
            ``sequence``, ``camid``, ``track_id``, ``source``, ``frames``,
            ``boxes`` (x, y, w, h), ``crop_boxes`` (x0, y0, x1, y1),
            ``box_scores``, ``dscores`` (one per crop) and ``kept``
            (``{method: crop indices the base saw}``).
        embeddings (dict): ``{method: (T, d) float32}``, the fused
            features (as the wrapper outputs them).
        base_crops (dict): ``{method: (T,) int}`` crops the base ran on.
        aggregators (dict): ``{method: aggregator settings}``.
        times (dict): Seconds: ``decode`` (crops), ``ddnet``, ``base``
            (dense pass: every crop) and ``replay`` (selection and fusion
            of all methods).
        counts (dict): ``MOTTrackDataset``'s ``track_counts``.
        thumbnails (list, optional): Per track, the crops as small RGB
            images (contact sheets).
        dump (SweepDump, optional): The dense pass.
    """
    tracks: List[dict]
    embeddings: Dict[str, np.ndarray]
    base_crops: Dict[str, np.ndarray]
    aggregators: Dict[str, dict]
    times: Dict[str, float]
    counts: Dict[str, int]
    thumbnails: Optional[list] = field(default=None, repr=False)
    dump: object = field(default=None, repr=False)


def _list(x) -> list:
    return np.asarray(x).tolist()


def encode_tracks(encoder: TrackEncoder,
                  dataset: dict,
                  progress: bool = True,
                  keep_thumbnails: bool = True,
                  methods: Optional[Dict[str, dict]] = None) -> TrackEncoding:
    """Encode every track of a ``MOTTrackDataset`` with DDL, average
    pooling and top-1 from one dense pass.

    The dense pass (:func:`mmddl.analysis.sweep.dense_pass`) runs the DDNet
    and the base on every crop once; each method is then the wrapper's own
    selection and fusion replayed on those outputs
    (:func:`~mmddl.analysis.sweep.replay_samples`), so DDL's kept crops and
    embedding equal a DDL-only run's, and the baselines cost no second
    pass.

    Args:
        encoder (TrackEncoder): From :func:`build_track_encoder`.
        dataset (dict): Overrides of the config's test dataset (e.g.
            ``sequences=[dict(source=..., ann_file=..., name=...)]``,
            ``ids_are_identities=False``); ``source`` / ``ann_file`` /
            ``sequences`` not given keep the config's.
        progress (bool): Log progress with ETA over the tracks.
        keep_thumbnails (bool): Keep small RGB crops for contact sheets.
        methods (dict, optional): ``{name: aggregator settings}`` of the
            baselines (default :data:`BASELINES`).

    Returns:
        TrackEncoding: Records, embeddings and times.
    """
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    from mmddl.analysis.sweep import dense_pass, replay_samples
    cfg = copy.deepcopy(encoder.cfg)
    ds = cfg.test_dataloader.dataset
    if 'sequences' in dataset or 'source' in dataset:
        for key in ('source', 'ann_file', 'sequences'):
            ds.pop(key, None)
    ds.update(copy.deepcopy(dataset))
    model = encoder.model
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        loader = Runner.build_dataloader(cfg.test_dataloader)
    thumbs = [] if keep_thumbnails else None
    wrapped = _ProgressLoader(loader, len(loader.dataset), progress, thumbs)
    dump = dense_pass(
        SimpleNamespace(model=model, test_dataloader=wrapped, cfg=cfg),
        task='reid' if encoder.target == 'person' else 'face',
        config_name=encoder.config)
    times = dict(dump.groups['seconds'])
    times['decode'] = wrapped.decode_s
    aggs = dict(ddl=encoder.aggregator)
    for name, agg in (methods or BASELINES).items():
        aggs[name] = dict(type='DDLAggregator', **agg)
    t0 = time.perf_counter()
    embeddings, base_crops, kept = {}, {}, {}
    for name, agg in aggs.items():
        samples = replay_samples(model, dump, agg)
        embeddings[name] = np.stack([
            s.pred_feature.detach().float().cpu().numpy() for s in samples
        ]).astype(np.float32)
        base_crops[name] = np.asarray([int(s.base_elements) for s in samples])
        kept[name] = [
            np.sort(s.ddl_selected.cpu().numpy()).tolist() for s in samples
        ]
    times['replay'] = time.perf_counter() - t0
    tracks = []
    ptr = dump.group_ptr
    for g, sample in enumerate(dump.samples):
        meta = sample.metainfo
        sel = np.asarray(
            meta.get('kept_indices', np.arange(ptr[g + 1] - ptr[g])))
        frames = np.asarray(meta['frame_ids'])[sel]
        tracks.append(
            dict(
                name=str(meta['group_name']),
                sequence=str(meta['sequence']),
                camid=int(meta['camid']),
                track_id=int(meta['track_id']),
                source=str(meta['source']),
                frames=_list(frames),
                boxes=np.round(np.asarray(meta['bboxes'])[sel], 2).tolist(),
                crop_boxes=_list(meta['crop_boxes']),
                box_scores=np.round(np.asarray(meta['box_scores'])[sel],
                                    4).tolist(),
                dscores=[
                    round(float(d), 5) for d in dump.scores[ptr[g]:ptr[g + 1]]
                ],
                kept={name: kept[name][g]
                      for name in aggs}))
        if 'pid' in meta:
            tracks[-1]['pid'] = _jsonable_id(meta['pid'])
    counts = dict(loader.dataset.metainfo.get('track_counts', {}))
    return TrackEncoding(tracks, embeddings, base_crops, aggs, {
        k: round(v, 4)
        for k, v in times.items()
    }, counts, thumbs, dump)


def _jsonable_id(pid):
    return pid.item() if hasattr(pid, 'item') else pid


def method_summary(enc: TrackEncoding,
                   methods: Sequence[str] = METHODS) -> Dict[str, dict]:
    """Crops the base saw per track for each method (mean, total).

    Args:
        enc (TrackEncoding): The encoding.
        methods (Sequence[str]): The methods.

    Returns:
        dict: ``{method: dict(base_crops_mean, base_crops_total,
        aggregator)}``.
    """
    return {
        m:
        dict(
            base_crops_mean=round(float(enc.base_crops[m].mean()), 3),
            base_crops_total=int(enc.base_crops[m].sum()),
            aggregator={
                k: v
                for k, v in enc.aggregators[m].items()
                if k != 'type' and v is not None
            })
        for m in methods if m in enc.base_crops
    }
