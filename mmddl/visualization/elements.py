"""Gallery rows from a D-score table (training elements) or a sweep dump
(test groups): the elements' pictures, D-scores and group labels."""
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .gallery import GalleryGroup, shown_order

#: Frames of a clip drawn in its strip.
STRIP_FRAMES = 4


def read_image(path: str) -> np.ndarray:
    """An image file as RGB uint8.

    Args:
        path (str): the file.

    Returns:
        np.ndarray: (H, W, 3) RGB.
    """
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f'cannot read the image {path!r}')
    return img[..., ::-1].copy()


class ClipReader:
    """Frame strips of one video's clips (decord).

    Args:
        path (str): the video file.
        strip_frames (int): frames drawn per clip, evenly spread.
    """

    def __init__(self, path: str, strip_frames: int = STRIP_FRAMES) -> None:
        import decord
        if not osp.isfile(path):
            raise FileNotFoundError(f'video {path!r} does not exist')
        try:
            self.reader = decord.VideoReader(path, num_threads=1)
        except Exception as e:  # decord raises its own error types
            raise RuntimeError(f'cannot decode the video {path!r}: {e}')
        self.path, self.strip_frames = path, strip_frames
        self.num_frames = len(self.reader)

    def strip(self, frame_inds: Sequence[int]) -> np.ndarray:
        """``strip_frames`` frames of a clip side by side (RGB uint8).

        Args:
            frame_inds (Sequence[int]): the clip's frame indices.

        Returns:
            np.ndarray: (H, strip_frames * W, 3).
        """
        inds = np.asarray(frame_inds, dtype=np.int64).reshape(-1)
        if inds.size == 0:
            raise ValueError(f'{self.path}: a clip with no frame')
        pick = inds[np.linspace(
            0, inds.size - 1, min(
                self.strip_frames,
                inds.size)).round().astype(int)] % self.num_frames
        frames = self.reader.get_batch(pick.tolist()).asnumpy()
        return np.concatenate(list(frames), axis=1)


def clip_frame_inds(position: int, clip_len: int, interval: int,
                    total: int) -> np.ndarray:
    """Frame indices of the clip starting at ``position`` (looping past the
    end, as ``SampleFrames``).

    Args:
        position (int): first frame.
        clip_len (int): frames per clip.
        interval (int): frame interval.
        total (int): frames of the video.

    Returns:
        np.ndarray: (clip_len,) indices.
    """
    return (position + np.arange(clip_len) * interval) % max(total, 1)


def load_class_names(path: Optional[str]) -> Optional[Dict[int, str]]:
    """``{label: name}`` from a file with one class name a line.

    Args:
        path (str, optional): the file; None gives None.

    Returns:
        Dict[int, str] | None: the names.
    """
    if path is None:
        return None
    with open(path) as f:
        names = [line.strip() for line in f if line.strip()]
    return {i: n for i, n in enumerate(names)}


def _label_text(label: Any, names: Optional[Dict[int, str]]) -> Optional[str]:
    if label is None:
        return None
    label = int(np.asarray(label).reshape(-1)[0])
    return (names or {}).get(label, f'class {label}')


def choose_groups(ids: Sequence[str],
                  wanted: Optional[Sequence[str]] = None,
                  num_groups: int = 4,
                  seed: int = 0) -> List[str]:
    """Group ids to draw: the ``wanted`` ones (an id or its file name), or
    ``num_groups`` drawn at random with ``seed``.

    Args:
        ids (Sequence[str]): every group id.
        wanted (Sequence[str], optional): chosen ids.
        num_groups (int): how many to draw otherwise.
        seed (int): the draw's seed.

    Returns:
        List[str]: the ids, in the order given or drawn.
    """
    ids = list(dict.fromkeys(str(i) for i in ids))
    if wanted:
        out = []
        for w in wanted:
            hits = [i for i in ids if i == w or osp.basename(i) == w]
            if not hits:
                examples = ', '.join(ids[:3])
                raise KeyError(f'group {w!r} not found among {len(ids)} '
                               f'groups (e.g. {examples})')
            out.append(hits[0])
        return out
    if num_groups < 1:
        raise ValueError(f'num_groups must be >= 1, got {num_groups}')
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(ids), size=min(num_groups, len(ids)), replace=False)
    return [ids[i] for i in sorted(pick.tolist())]


def table_groups(table,
                 config: Optional[str] = None,
                 group_by: Optional[str] = None,
                 wanted: Optional[Sequence[str]] = None,
                 num_groups: int = 4,
                 seed: int = 0,
                 class_names: Optional[Dict[int, str]] = None,
                 max_elements: Optional[int] = None,
                 strip_frames: int = STRIP_FRAMES) -> List[GalleryGroup]:
    """Gallery rows of a score table's training elements.

    Video tables (``clip_len`` in the table's info) group by video (the
    table key): each clip is a strip of frames decoded at the clip's
    frame indices. Image tables group by ``group_by`` (default the label:
    one identity per row; e.g. ``'track_row'`` for MARS tracklets); the
    images are read through the train data set of ``config``.

    Args:
        table (ScoreTable): the table.
        config (str, optional): the config the table was computed with
            (needed for images).
        group_by (str, optional): data-info field grouping images.
        wanted (Sequence[str], optional): group ids to draw.
        num_groups (int): random groups drawn otherwise.
        seed (int): seed of the draw.
        class_names (Dict[int, str], optional): label -> name.
        max_elements (int, optional): images read per group (the ones
            :func:`~mmddl.visualization.gallery.shown_order` draws); None
            reads all.
        strip_frames (int): frames per clip strip.

    Returns:
        List[GalleryGroup]: the rows.
    """
    if table.info.get('clip_len'):
        return _video_table_groups(table, wanted, num_groups, seed,
                                   class_names, strip_frames)
    if config is None:
        raise ValueError('an image score table needs --config (the config '
                         'the table was computed with) to read its images')
    return _image_table_groups(table, config, group_by or 'gt_label', wanted,
                               num_groups, seed, class_names, max_elements)


def _video_table_groups(table, wanted, num_groups, seed, class_names,
                        strip_frames) -> List[GalleryGroup]:
    clip_len = int(table.info['clip_len'])
    interval = int(table.info.get('frame_interval') or 1)
    keys = list(dict.fromkeys(table.keys.tolist()))
    out = []
    for key in choose_groups(keys, wanted, num_groups, seed):
        positions, dscores = table.entries_for(key)
        reader = ClipReader(key, strip_frames)
        pictures = [
            reader.strip(
                clip_frame_inds(int(p), clip_len, interval, reader.num_frames))
            for p in positions
        ]
        label = table.labels[np.flatnonzero(table.keys == key)[0]]
        out.append(
            GalleryGroup(key, dscores, pictures,
                         _label_text(label, class_names)))
    return out


def _image_dataset(config: str):
    """The train data set of ``config`` reading images, with its infos."""
    from mmengine.config import Config
    from mmengine.registry import DATASETS, init_default_scope

    import mmddl  # noqa: F401  (registers the data sets)
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    ds_cfg = (cfg.get('train_dataloader') or {}).get('dataset')
    if ds_cfg is None:
        raise KeyError(f'{config} has no train_dataloader.dataset')
    ds_cfg = ds_cfg.to_dict() if hasattr(ds_cfg, 'to_dict') else dict(ds_cfg)
    while 'dataset' in ds_cfg and 'ann_file' not in ds_cfg:
        ds_cfg = dict(ds_cfg['dataset'])  # RepeatDataset-like wrappers
    train_pipe = ds_cfg.get('pipeline') or []
    loads = any(t.get('type') == 'LoadImageFromFile' for t in train_pipe)
    ds_cfg.update(
        pipeline=[dict(type='LoadImageFromFile')] if loads else [],
        test_mode=True)
    return DATASETS.build(ds_cfg)


def _image_table_groups(table, config, group_by, wanted, num_groups, seed,
                        class_names, max_elements) -> List[GalleryGroup]:
    from mmddl.structures.data_sources import sample_key
    dataset = _image_dataset(config)
    index, groups = {}, {}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        key = sample_key(info)
        if group_by not in info:
            raise KeyError(f'{config}: sample {i} ({key}) has no field '
                           f'{group_by!r} to group by')
        index[key] = i
        groups.setdefault(str(np.asarray(info[group_by]).tolist()),
                          []).append(key)
    out = []
    for gid in choose_groups(list(groups), wanted, num_groups, seed):
        keys = [k for k in groups[gid] if k in table]
        if not keys:
            raise KeyError(f'group {gid}: none of its {len(groups[gid])} '
                           'images is in the score table (another data '
                           'list?)')
        dscores = np.array([table.dscore_for(k) for k in keys])
        shown = range(len(keys)) if max_elements is None else \
            [i for i in shown_order(dscores, max_elements) if i >= 0]
        pictures: List[Optional[np.ndarray]] = [None] * len(keys)
        for i in shown:  # only the drawn images are read
            data = dataset[index[keys[i]]]
            img = data.get('img') if isinstance(data, dict) else None
            if img is None:
                raise KeyError(f'{config}: sample {keys[i]} gave no decoded '
                               'img')
            pictures[i] = np.ascontiguousarray(img[..., ::-1])
        label = table.labels[np.flatnonzero(table.keys == keys[0])[0]]
        out.append(
            GalleryGroup(gid, dscores, pictures,
                         _label_text(label, class_names)))
    return out


def read_dump(dump_dir: str) -> Tuple[np.ndarray, np.ndarray, Dict]:
    """``group_ptr``, ``scores`` and ``sweep_groups.json`` of a sweep dump
    (read and checked by :func:`mmddl.analysis.sweep.load_sweep_dump`).

    Args:
        dump_dir (str): the folder written by ``tools/analysis/ddl_sweep.py``.

    Returns:
        Tuple[np.ndarray, np.ndarray, Dict]: (G+1,) offsets, (E,) D-scores
        and the groups file's content.
    """
    from mmddl.analysis.sweep import load_sweep_dump
    dump = load_sweep_dump(dump_dir)
    return (dump.group_ptr.astype(np.int64), dump.scores.astype(np.float64),
            dump.groups)


def dump_labels(ptr: np.ndarray, meta: Dict) -> np.ndarray:
    """(E,) label of every element of a dump (its group's ``gt_label``, -1
    when the dump records none).

    Args:
        ptr (np.ndarray): (G+1,) group offsets.
        meta (Dict): the groups file's content.

    Returns:
        np.ndarray: int64 labels.
    """
    out = np.full(int(ptr[-1]), -1, dtype=np.int64)
    for g, rec in enumerate(meta['groups']):
        label = rec.get('gt_label', rec.get('label'))
        if label is not None:
            out[ptr[g]:ptr[g + 1]] = int(np.asarray(label).reshape(-1)[0])
    return out


def dump_groups(dump_dir: str,
                wanted: Optional[Sequence[str]] = None,
                num_groups: int = 4,
                seed: int = 0,
                class_names: Optional[Dict[int, str]] = None,
                strip_frames: int = STRIP_FRAMES) -> List[GalleryGroup]:
    """Gallery rows of a sweep dump's test groups (predicted D-scores).

    Args:
        dump_dir (str): the sweep dump folder.
        wanted (Sequence[str], optional): group ids to draw.
        num_groups (int): random groups drawn otherwise.
        seed (int): seed of the draw.
        class_names (Dict[int, str], optional): label -> name.
        strip_frames (int): frames per clip strip (video).

    Returns:
        List[GalleryGroup]: the rows.
    """
    ptr, scores, meta = read_dump(dump_dir)
    task = meta.get('task')
    if task not in ('video', 'face', 'reid'):
        raise ValueError(f'{dump_dir}: unknown task {task!r} in '
                         'sweep_groups.json')
    recs = {str(r['id']): (g, r) for g, r in enumerate(meta['groups'])}
    out = []
    for gid in choose_groups(list(recs), wanted, num_groups, seed):
        g, rec = recs[gid]
        d = scores[ptr[g]:ptr[g + 1]]
        elements = rec.get('elements') or []
        if len(elements) != d.size:
            raise ValueError(f'{dump_dir}: group {gid} has {d.size} scores '
                             f'but {len(elements)} elements')
        if task == 'video':
            reader = ClipReader(gid, strip_frames)
            pictures = [reader.strip(e['frame_inds']) for e in elements]
        else:
            pictures = [read_image(p) for p in elements]
        out.append(
            GalleryGroup(
                gid, d, pictures,
                _label_text(
                    rec.get('gt_label', rec.get('label')), class_names)))
    return out
