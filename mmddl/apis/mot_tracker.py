"""Run an mmdet detector + tracker config (e.g. ByteTrack on YOLOX) over a
video or a folder of frames and write its tracks as a MOTChallenge file."""
import os.path as osp
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from mmddl.datasets.tracks import FrameSource, write_mot
from mmddl.utils.progress import LogProgress

#: class names (lower case) that count as each target
TARGET_CLASSES = dict(person=('person', 'pedestrian'), face=('face', ))
#: MOT models whose ``predict`` is ``detector.predict`` then
#: ``tracker.track(data_sample=...)`` (timed apart here)
SPLIT_MODELS = ('ByteTrack', 'OCSORT')
#: frames decoded at a time
DECODE_CHUNK = 16


def import_mmdet() -> None:
    """Import and register mmdet's models, or explain what is missing.

    Raises:
        ImportError: mmdet or mmcv's compiled ops are not installed.
    """
    try:
        import mmdet.datasets  # noqa: F401
        import mmdet.models  # noqa: F401
    except ImportError as err:
        raise ImportError(
            'detecting and tracking needs mmdet 3.x with full mmcv '
            f'(compiled ops): {err}. Install them as the README\'s set-up '
            'says, or give tracks you already have (MOTChallenge text '
            'files: tools/track_ddl.py --tracks).') from err


def _inner_dataset(ds: Optional[dict]) -> Optional[dict]:
    """The innermost dataset dict of a wrapper (``MultiImageMixDataset``,
    ``ConcatDataset``: its first dataset)."""
    while isinstance(ds, dict):
        if isinstance(ds.get('dataset'), dict):
            ds = ds['dataset']
        elif isinstance(ds.get('datasets'), (list, tuple)) and ds['datasets']:
            ds = ds['datasets'][0]
        else:
            return ds
    return ds


def _num_classes(model: dict) -> Optional[int]:
    """``num_classes`` of a detector config's box head, if it has one."""
    for key in ('bbox_head', 'roi_head'):
        head = model.get(key)
        if isinstance(head, dict):
            if key == 'roi_head':
                head = head.get('bbox_head')
                if isinstance(head, (list, tuple)):
                    head = head[-1]
            if isinstance(head, dict) and 'num_classes' in head:
                return int(head['num_classes'])
    return None


def config_classes(cfg, config: str) -> Tuple[Tuple[str, ...], str]:
    """The class names a detector + tracker config detects, and where they
    were read: a dataset's ``metainfo.classes`` (train first: the classes
    the head learnt; then val and test, which may add evaluation-only
    classes), else the test dataset type's ``METAINFO``.

    Args:
        cfg (mmengine.Config): The config.
        config (str): Its file (for messages).

    Returns:
        tuple: ``(classes, source)``.

    Raises:
        ValueError: No class names, or not as many as the detector's head
            has classes.
    """
    classes, source = None, None
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        ds = _inner_dataset(loader.get('dataset') if loader else None)
        names = ((ds or {}).get('metainfo') or {}).get('classes')
        if names:
            classes, source = tuple(names), f'{key}.dataset.metainfo.classes'
            break
    if classes is None:
        ds = _inner_dataset((cfg.get('test_dataloader') or {}).get('dataset'))
        if ds and ds.get('type'):
            from mmdet.registry import DATASETS
            cls = DATASETS.get(ds['type'])
            names = getattr(cls, 'METAINFO', {}).get('classes')
            if names:
                classes = tuple(names)
                source = f'{ds["type"]}.METAINFO'
    if not classes:
        raise ValueError(f'{config}: no class names (no dataset metainfo '
                         'classes and no test dataset type with METAINFO); '
                         "set e.g. metainfo=dict(classes=('pedestrian', )) "
                         'in its test dataset')
    detector = cfg.model.get('detector', cfg.model)
    n = _num_classes(detector)
    if n is not None and n != len(classes):
        raise ValueError(f'{config}: the detector has {n} classes but '
                         f'{source} names {len(classes)}: {list(classes)}')
    return classes, source


def target_labels(classes: Sequence[str], target: str,
                  config: str) -> List[int]:
    """The labels of ``classes`` that are the target (person or face).

    Args:
        classes (Sequence[str]): The detector's class names.
        target (str): ``'person'`` or ``'face'``.
        config (str): The config (for the message).

    Raises:
        ValueError: No class of the config is the target.
    """
    if target not in TARGET_CLASSES:
        raise ValueError(f'target must be one of {sorted(TARGET_CLASSES)}, '
                         f'got {target!r}')
    names = TARGET_CLASSES[target]
    labels = [i for i, c in enumerate(classes) if str(c).lower() in names]
    if not labels:
        raise ValueError(
            f'{config}: its detector classes {list(classes)} include no '
            f'{target} class (one of {list(names)}): tracks of it would not '
            f'be {target}s. Use a {target} detector config, or --target.')
    return labels


def load_tracker_checkpoint(model, filename: str) -> dict:
    """Load a checkpoint into an mmdet MOT model strictly: the whole model
    (``detector.*`` ...) or a bare detector checkpoint.

    Args:
        model (nn.Module): The MOT model.
        filename (str): The checkpoint.

    Returns:
        dict: The checkpoint's ``meta`` (empty if none).

    Raises:
        FileNotFoundError: No such file.
        RuntimeError: Keys or shapes that do not fit the config's model
            (the keys are named).
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    from mmddl.models.utils.checkpoint import wrapper_state
    if '://' not in filename and not osp.isfile(filename):
        raise FileNotFoundError(f'detector checkpoint not found: {filename}')
    ckpt = CheckpointLoader.load_checkpoint(filename, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise RuntimeError(f'{filename}: no state dict in the checkpoint')
    parts = {
        name: child
        for name, child in model.named_children() if len(child.state_dict())
    }
    state, given = wrapper_state(state, parts, filename)
    left = sorted(set(parts) - set(given))
    if left:
        raise RuntimeError(f'{filename}: the checkpoint holds no weights of '
                           f'the {", ".join(left)} of {type(model).__name__}')
    model.load_state_dict(state, strict=True)
    meta = ckpt.get('meta') if 'state_dict' in ckpt else None
    return meta if isinstance(meta, dict) else {}


@dataclass
class MOTTracker:
    """An mmdet MOT model ready to track, with what it was checked for.

    Args:
        model (nn.Module): The model, in eval mode on its device.
        cfg (mmengine.Config): Its config.
        config (str): The config file.
        checkpoint (str): The checkpoint file.
        classes (tuple): The detector's class names.
        labels (list): The labels kept (the target's classes).
        target (str): ``'person'`` or ``'face'``.
        device (str): The device.
    """
    model: object = field(repr=False)
    cfg: object = field(repr=False)
    config: str
    checkpoint: str
    classes: tuple
    labels: list
    target: str
    device: str = 'cpu'


def init_tracker(config: str,
                 checkpoint: str,
                 target: str = 'person',
                 device: str = 'cpu',
                 cfg_options: Optional[dict] = None) -> MOTTracker:
    """Build an mmdet detector + tracker config and load its checkpoint
    strictly, after checking that the detector finds the target.

    Everything is checked before any frame is read: the config's classes
    (:func:`config_classes`, :func:`target_labels`), then the checkpoint
    (:func:`load_tracker_checkpoint`; its ``meta.dataset_meta.classes``,
    when present, must equal the config's).

    Args:
        config (str): The config file (it inherits mmdet's, e.g.
            ``configs/tracks/bytetrack_yolox-nano_...py``).
        checkpoint (str): The trained model's checkpoint.
        target (str): ``'person'`` or ``'face'``.
        device (str): ``'cpu'`` or ``'cuda'`` ...
        cfg_options (dict, optional): Config overrides.

    Returns:
        MOTTracker: The model and its checks.
    """
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    if not osp.isfile(config):
        raise FileNotFoundError(f'detector + tracker config not found: '
                                f'{config}')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    import_mmdet()
    model_cfg = cfg.get('model') or {}
    if 'detector' not in model_cfg or 'tracker' not in model_cfg:
        raise ValueError(
            f'{config}: model type {model_cfg.get("type")!r} is not an '
            'mmdet detector + tracker (model.detector and model.tracker, '
            'e.g. ByteTrack)')
    classes, _ = config_classes(cfg, config)
    labels = target_labels(classes, target, config)
    from mmdet.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    meta = load_tracker_checkpoint(model, checkpoint)
    saved = (meta.get('dataset_meta') or {}).get('classes')
    if saved is not None and tuple(saved) != tuple(classes):
        raise ValueError(f'{checkpoint}: trained for the classes '
                         f'{list(saved)}, but {config} names '
                         f'{list(classes)}')
    model.cfg = cfg
    model.dataset_meta = dict(classes=classes)
    model.to(device)
    model.eval()
    return MOTTracker(model, cfg, config, checkpoint, classes, labels, target,
                      device)


@dataclass
class TrackingResult:
    """What one run of a tracker over a frame source gave.

    Args:
        name (str): The source's name (a sequence / file name).
        source (str): The source path.
        out_file (str): The MOTChallenge results file written.
        num_frames (int): Frames read.
        frame_size (tuple): ``(h, w)``.
        num_boxes (int): Tracked boxes written.
        num_tracks (int): Distinct track ids.
        detections (int): Detections of the target's classes.
        other_detections (int): Detections of other classes (dropped before
            tracking).
        empty_frames (int): Frames without a tracked box.
        degenerate_boxes (int): Tracked boxes with a width or height <= 0
            (not a MOTChallenge line: left out, counted).
        times (dict): Seconds of ``decode``, ``detect`` and ``track``
            (``detect`` holds both for models not in ``SPLIT_MODELS``).
    """
    name: str
    source: str
    out_file: str
    num_frames: int
    frame_size: tuple
    num_boxes: int
    num_tracks: int
    detections: int
    other_detections: int
    empty_frames: int
    degenerate_boxes: int
    times: Dict[str, float]


def _frame_pipeline(cfg):
    """The per-frame test pipeline of mmdet's ``inference_mot`` (the test
    dataset's resize, then its packing)."""
    from mmdet.apis.inference import build_test_pipeline
    return build_test_pipeline(cfg)


def _track_frame(tracker: MOTTracker, pipeline, img: np.ndarray, frame_id: int,
                 video_len: int, times: Dict[str, float], counts: Dict[str,
                                                                       int]):
    """Detect and track one BGR frame (0-based ``frame_id``); the frame's
    tracked instances."""
    import torch
    from mmengine.dataset import default_collate
    model = tracker.model
    data = dict(
        img=[img.astype(np.float32)],
        frame_id=[frame_id],
        ori_shape=[img.shape[:2]],
        img_id=[frame_id + 1],
        ori_video_length=[video_len])
    data = default_collate([pipeline(data)])
    labels = torch.as_tensor(tracker.labels)
    t0 = time.perf_counter()
    with torch.no_grad():
        if type(model).__name__ in SPLIT_MODELS:
            data = model.data_preprocessor(data, False)
            sample = data['data_samples'][0][0]
            det = model.detector.predict(data['inputs'][:, 0].contiguous(),
                                         [sample])[0]
            keep = torch.isin(det.pred_instances.labels,
                              labels.to(det.pred_instances.labels.device))
            counts['detections'] += int(keep.sum())
            counts['other_detections'] += int((~keep).sum())
            det.pred_instances = det.pred_instances[keep]
            t1 = time.perf_counter()
            out = model.tracker.track(data_sample=det)
            t2 = time.perf_counter()
        else:
            out = model.test_step(data)[0][0].pred_track_instances
            t1 = t2 = time.perf_counter()
            keep = torch.isin(out.labels, labels.to(out.labels.device))
            counts['detections'] += int(keep.sum())
            counts['other_detections'] += int((~keep).sum())
            out = out[keep]
    times['detect'] += t1 - t0
    times['track'] += t2 - t1
    return out


def track_footage(tracker: MOTTracker,
                  source: Union[str, FrameSource],
                  out_file: str,
                  progress: Union[bool, LogProgress] = True) -> TrackingResult:
    """Detect and track every frame of a video or frame folder, in order,
    and write the tracks as a MOTChallenge results file.

    Frame ``k`` (1-based) is mmdet's ``frame_id`` ``k - 1`` (the tracker
    starts afresh at frame 1); each frame goes through the config's test
    pipeline as in mmdet's ``inference_mot``. Track ids are mmdet's
    ``instances_id + 1`` (MOTChallenge ids start at 1). Detections of other
    classes than the target's are dropped before tracking (counted). The
    file is written atomically, after the last frame.

    Args:
        tracker (MOTTracker): From :func:`init_tracker`.
        source (str | FrameSource): A video, frame folder or sequence
            folder.
        out_file (str): The results file (``frame,id,x,y,w,h,conf,-1,-1,
            -1`` lines).
        progress (bool | LogProgress): Log progress with ETA over the
            frames (a ``LogProgress`` shared by several sources counts
            their frames together).

    Returns:
        TrackingResult: Counts and times.
    """
    from mmengine.registry import DefaultScope
    t_open = time.perf_counter()
    src = source if isinstance(source,
                               FrameSource) else FrameSource.open(source)
    times = dict(decode=time.perf_counter() - t_open, detect=0.0, track=0.0)
    counts = dict(detections=0, other_detections=0)
    n = src.num_frames
    log = progress if isinstance(progress, LogProgress) else (LogProgress(
        n, f'track {src.name}', 'frames', fraction=0.1) if progress else None)
    frames, ids, boxes, scores = [], [], [], []
    with DefaultScope.overwrite_default_scope('mmdet'):
        pipeline = _frame_pipeline(tracker.cfg)
        for start in range(1, n + 1, DECODE_CHUNK):
            chunk = list(range(start, min(n, start + DECODE_CHUNK - 1) + 1))
            t0 = time.perf_counter()
            imgs = src.read(chunk)
            times['decode'] += time.perf_counter() - t0
            for k, img in zip(chunk, imgs):
                out = _track_frame(tracker, pipeline, img, k - 1, n, times,
                                   counts)
                if len(out):
                    b = out.bboxes.detach().float().cpu().numpy()
                    frames.append(np.full(len(b), k, np.int64))
                    ids.append(out.instances_id.detach().cpu().numpy().astype(
                        np.int64) + 1)
                    boxes.append(
                        np.stack([
                            b[:, 0], b[:, 1], b[:, 2] - b[:, 0],
                            b[:, 3] - b[:, 1]
                        ], 1))
                    scores.append(out.scores.detach().float().cpu().numpy())
                if log is not None:
                    log.update(1)
    frames = np.concatenate(frames) if frames else np.zeros(0, np.int64)
    ids = np.concatenate(ids) if ids else np.zeros(0, np.int64)
    boxes = np.concatenate(boxes) if boxes else np.zeros((0, 4), np.float32)
    scores = np.concatenate(scores) if scores else np.zeros(0, np.float32)
    # degenerate boxes (w or h <= 0) cannot be a MOT line: counted out
    ok = (boxes[:, 2] > 0) & (boxes[:, 3] > 0) & np.isfinite(boxes).all(1)
    frames, ids, boxes, scores = frames[ok], ids[ok], boxes[ok], scores[ok]
    write_mot(out_file, frames, ids, boxes, scores)
    return TrackingResult(
        name=src.name,
        source=src.path,
        out_file=out_file,
        num_frames=n,
        frame_size=tuple(src.size),
        num_boxes=int(len(frames)),
        num_tracks=int(len(np.unique(ids))),
        detections=counts['detections'],
        other_detections=counts['other_detections'],
        empty_frames=int(n - len(np.unique(frames))),
        degenerate_boxes=int((~ok).sum()),
        times={
            k: round(v, 4)
            for k, v in times.items()
        })
