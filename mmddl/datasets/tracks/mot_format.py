"""MOTChallenge text files (``gt.txt``, tracker outputs) and ``seqinfo.ini``,
read as data with a ``file:line`` error for every bad line."""
import configparser
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence

import numpy as np

from mmddl.utils import atomic_write
from ..base_group_dataset import (DatasetFormatError, format_error,
                                  parse_float, parse_int, read_lines)

#: fields of a MOT16/17/20 ground-truth line (``gt/gt.txt``)
GT_FIELDS = ('frame', 'id', 'x', 'y', 'w', 'h', 'conf', 'class', 'visibility')
#: fields of a MOTChallenge tracker output line (world x, y, z are -1)
RESULT_FIELDS = ('frame', 'id', 'x', 'y', 'w', 'h', 'conf', 'x3d', 'y3d',
                 'z3d')
#: MOTChallenge class of a pedestrian, the only class evaluated
PEDESTRIAN = 1
#: MOTChallenge class names (MOT16 paper, TrackEval's MotChallenge2DBox)
MOT_CLASSES = {
    1: 'pedestrian',
    2: 'person_on_vehicle',
    3: 'car',
    4: 'bicycle',
    5: 'motorbike',
    6: 'non_mot_vehicle',
    7: 'static_person',
    8: 'distractor',
    9: 'occluder',
    10: 'occluder_on_ground',
    11: 'occluder_full',
    12: 'reflection',
    13: 'crowd'
}
KINDS = ('auto', 'gt', 'results')
#: ``seqinfo.ini`` keys of the ``[Sequence]`` section and their types
SEQINFO_KEYS = (
    ('name', str),
    ('imDir', str),
    ('frameRate', float),
    ('seqLength', int),
    ('imWidth', int),
    ('imHeight', int),
    ('imExt', str),
)


@dataclass
class SeqInfo:
    """The ``[Sequence]`` section of a MOTChallenge ``seqinfo.ini``.

    Args:
        name (str): Sequence name (``MOT17-02-FRCNN``).
        im_dir (str): Frame folder relative to the sequence (``img1``).
        frame_rate (float): Frames per second.
        seq_length (int): Number of frames (named ``000001<imExt>`` ...).
        im_width (int): Frame width in pixels.
        im_height (int): Frame height in pixels.
        im_ext (str): Frame file extension (``.jpg``).
    """

    name: str
    im_dir: str = 'img1'
    frame_rate: float = 30.0
    seq_length: int = 0
    im_width: int = 0
    im_height: int = 0
    im_ext: str = '.jpg'

    def frame_path(self, seq_dir: str, frame: int) -> str:
        """The file of 1-based ``frame`` (``<seq_dir>/img1/000001.jpg``).

        Args:
            seq_dir (str): The sequence folder (holding ``seqinfo.ini``).
            frame (int): 1-based frame number.
        """
        return osp.join(seq_dir, self.im_dir, f'{frame:06d}{self.im_ext}')


def read_seqinfo(path: str) -> SeqInfo:
    """Read a ``seqinfo.ini`` (configparser, no interpolation: data only).

    Args:
        path (str): The file, or the sequence folder holding it.

    Raises:
        FileNotFoundError: No such file.
        DatasetFormatError: Naming the file and the missing / bad key.
    """
    if osp.isdir(path):
        path = osp.join(path, 'seqinfo.ini')
    if not osp.isfile(path):
        raise FileNotFoundError(f'seqinfo.ini not found: {path}')
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are camelCase
    try:
        parser.read(path)
    except configparser.Error as err:
        raise DatasetFormatError(f'{path}: not an ini file: {err}') from None
    if 'Sequence' not in parser:
        raise DatasetFormatError(f'{path}: no [Sequence] section.')
    sec = parser['Sequence']
    values = {}
    for key, cast in SEQINFO_KEYS:
        if key not in sec:
            raise DatasetFormatError(
                f'{path}: [Sequence] has no {key}= (needs '
                f'{", ".join(k for k, _ in SEQINFO_KEYS)}).')
        try:
            values[key] = cast(sec[key].strip())
        except ValueError:
            raise DatasetFormatError(
                f'{path}: {key} must be {cast.__name__}, got '
                f'{sec[key]!r}.') from None
    for key in ('seqLength', 'imWidth', 'imHeight'):
        if values[key] < 1:
            raise DatasetFormatError(
                f'{path}: {key} must be >= 1, got {values[key]}.')
    return SeqInfo(values['name'], values['imDir'], values['frameRate'],
                   values['seqLength'], values['imWidth'], values['imHeight'],
                   values['imExt'])


def write_seqinfo(path: str, info: SeqInfo) -> str:
    """Write ``info`` as a MOTChallenge ``seqinfo.ini`` (atomically).

    Args:
        path (str): The file.
        info (SeqInfo): What to write.

    Returns:
        str: ``path``.
    """
    rate = info.frame_rate
    rate = int(rate) if float(rate).is_integer() else rate
    text = ('[Sequence]\n'
            f'name={info.name}\nimDir={info.im_dir}\nframeRate={rate}\n'
            f'seqLength={info.seq_length}\nimWidth={info.im_width}\n'
            f'imHeight={info.im_height}\nimExt={info.im_ext}\n\n')
    return atomic_write(path, lambda f: f.write(text), 'seqinfo.ini', True)


@dataclass
class MOTTable:
    """The rows of a MOT file kept after filtering, one array per field.

    Args:
        path (str): The file read.
        kind (str): ``'gt'`` or ``'results'``.
        frames (np.ndarray): (N,) 1-based frame numbers.
        ids (np.ndarray): (N,) track ids.
        boxes (np.ndarray): (N, 4) ``x, y, w, h`` (top-left, pixels).
        confs (np.ndarray): (N,) confidence (gt: the consider flag).
        classes (np.ndarray): (N,) MOT class (results: -1).
        visibility (np.ndarray): (N,) visible fraction (results: -1).
        lines (np.ndarray): (N,) 1-based line number of each row.
        counts (dict): ``rows`` (lines read), ``kept``, ``zero_conf`` (gt
            rows with conf 0, ignored by MOTChallenge) and ``other_class``
            (gt rows of a class not kept, by class number).
    """

    path: str
    kind: str
    frames: np.ndarray
    ids: np.ndarray
    boxes: np.ndarray
    confs: np.ndarray
    classes: np.ndarray
    visibility: np.ndarray
    lines: np.ndarray
    counts: Dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frames)

    def tracks(self) -> Dict[int, np.ndarray]:
        """Row indices of each track id, in frame order (ids ascending)."""
        out = {}
        order = np.lexsort((self.frames, self.ids))
        ids = self.ids[order]
        for tid in np.unique(ids):
            out[int(tid)] = order[ids == tid]
        return out


def _index(token: str, path: str, lineno: int, name: str) -> int:
    """An integer field; integral floats (``'3.0'``) are accepted."""
    try:
        return parse_int(token, path, lineno, name)
    except DatasetFormatError:
        value = parse_float(token, path, lineno, name)
    if not float(value).is_integer():
        raise format_error(path, lineno,
                           f'{name} must be an integer, got {token!r}.')
    return int(value)


def read_mot(path: str,
             kind: str = 'auto',
             seq_length: Optional[int] = None,
             keep_classes: Optional[Sequence[int]] = (PEDESTRIAN, ),
             keep_zero_conf: bool = False) -> MOTTable:
    """Read a MOTChallenge ground-truth or tracker-output file.

    Ground truth (``kind='gt'``, 9 fields ``frame,id,x,y,w,h,conf,class,
    visibility``): as MOTChallenge evaluates it, rows with conf 0 (the
    "consider" flag) and rows whose class is not in ``keep_classes`` are
    skipped and counted (``counts``). Tracker output (``kind='results'``,
    10 fields ``frame,id,x,y,w,h,conf,-1,-1,-1``): every row is kept.
    ``'auto'`` takes the kind from the first line's field count.

    Every line is checked; a bad one stops with ``file:line`` and what was
    expected: wrong field count, a field that is not a number, w or h
    <= 0, frame < 1 or beyond ``seq_length``, id < 0 (a detection file has
    id -1; tracks need ids), gt visibility outside [0, 1], the same
    ``(frame, id)`` twice (both lines named).

    Args:
        path (str): The text file.
        kind (str): ``'auto'``, ``'gt'`` or ``'results'``.
        seq_length (int, optional): Frames of the sequence / video; frame
            numbers beyond it are an error.
        keep_classes (Sequence[int], optional): gt classes kept (default
            pedestrians); None keeps every class.
        keep_zero_conf (bool): Keep gt rows with conf 0.

    Returns:
        MOTTable: The kept rows, in file order.
    """
    if kind not in KINDS:
        raise ValueError(f'kind must be one of {KINDS}, got {kind!r}.')
    rows, seen = [], {}
    counts = dict(rows=0, kept=0, zero_conf=0, other_class={})
    for lineno, line in read_lines(path, 'MOT track file'):
        tokens = [t.strip() for t in line.split(',')]
        if kind == 'auto':
            kind = {9: 'gt', 10: 'results'}.get(len(tokens), 'auto')
            if kind == 'auto':
                raise format_error(
                    path, lineno, f'{len(tokens)} fields; expected 9 '
                    f'({",".join(GT_FIELDS)}: MOT16/17/20 gt.txt) or 10 '
                    f'({",".join(RESULT_FIELDS)}: tracker output).')
        names = GT_FIELDS if kind == 'gt' else RESULT_FIELDS
        if len(tokens) != len(names):
            raise format_error(
                path, lineno, f'{len(tokens)} fields; expected '
                f'{len(names)} ({",".join(names)}) as in the '
                f'{"gt.txt" if kind == "gt" else "tracker output"} lines.')
        frame = _index(tokens[0], path, lineno, 'frame')
        tid = _index(tokens[1], path, lineno, 'id')
        vals = [
            parse_float(t, path, lineno, n)
            for t, n in zip(tokens[2:], names[2:])
        ]
        if not np.isfinite(vals).all():
            raise format_error(path, lineno, f'non-finite value in {line!r}.')
        x, y, w, h, conf = vals[:5]
        if frame < 1:
            raise format_error(path, lineno,
                               f'frame must be >= 1 (1-based), got {frame}.')
        if seq_length is not None and frame > seq_length:
            raise format_error(
                path, lineno, f'frame {frame} is beyond the sequence '
                f'length {seq_length}: the boxes do not match the frames.')
        if tid < 0:
            raise format_error(
                path, lineno, f'id must be >= 0, got {tid} (a detection '
                'file has id -1; tracks need track ids).')
        if w <= 0 or h <= 0:
            raise format_error(
                path, lineno, f'box width and height must be > 0, got '
                f'w={w:g}, h={h:g}.')
        cls, vis = -1, -1.0
        if kind == 'gt':
            cls = _index(tokens[7], path, lineno, 'class')
            vis = vals[6]
            if not 0.0 <= vis <= 1.0:
                raise format_error(
                    path, lineno,
                    f'visibility must be in [0, 1], got {vis:g}.')
        if (frame, tid) in seen:
            raise format_error(
                path, lineno, f'frame {frame} has id {tid} twice (also '
                f'line {seen[frame, tid]}).')
        seen[frame, tid] = lineno
        counts['rows'] += 1
        if kind == 'gt' and conf == 0 and not keep_zero_conf:
            counts['zero_conf'] += 1
            continue
        if (kind == 'gt' and keep_classes is not None
                and cls not in keep_classes):
            counts['other_class'][cls] = counts['other_class'].get(cls, 0) + 1
            continue
        rows.append((frame, tid, x, y, w, h, conf, cls, vis, lineno))
    if kind == 'auto':  # an empty file: a tracker that found no one
        kind = 'results'
    counts['kept'] = len(rows)
    arr = np.asarray(rows, np.float64).reshape(-1, 10)
    as_int = lambda c: arr[:, c].astype(np.int64)  # noqa: E731
    return MOTTable(
        path=path,
        kind=kind,
        frames=as_int(0),
        ids=as_int(1),
        boxes=arr[:, 2:6].copy(),
        confs=arr[:, 6].copy(),
        classes=as_int(7),
        visibility=arr[:, 8].copy(),
        lines=as_int(9),
        counts=counts)


def _num(v: float) -> str:
    """A number as MOT files write it: no trailing zeros, 3 decimals."""
    s = f'{float(v):.3f}'.rstrip('0').rstrip('.')
    return '0' if s == '-0' else s


def format_mot(frames: Sequence[int],
               ids: Sequence[int],
               boxes: np.ndarray,
               confs: Optional[Sequence[float]] = None,
               classes: Optional[Sequence[int]] = None,
               visibility: Optional[Sequence[float]] = None,
               kind: str = 'results') -> str:
    """MOT text lines, sorted by frame then id (results) or id then frame
    (gt, as MOT17's files are).

    Args:
        frames (Sequence[int]): 1-based frame numbers.
        ids (Sequence[int]): Track ids.
        boxes (np.ndarray): (N, 4) ``x, y, w, h``.
        confs (Sequence[float], optional): Scores / consider flags
            (default 1).
        classes (Sequence[int], optional): gt classes (default pedestrian).
        visibility (Sequence[float], optional): gt visibility (default 1).
        kind (str): ``'gt'`` (9 fields) or ``'results'`` (10 fields).

    Returns:
        str: The file's text.
    """
    if kind not in ('gt', 'results'):
        raise ValueError(f"kind must be 'gt' or 'results', got {kind!r}.")
    n = len(frames)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    confs = np.ones(n) if confs is None else np.asarray(confs, np.float64)
    classes = (
        np.full(n, PEDESTRIAN) if classes is None else np.asarray(
            classes, np.int64))
    vis = np.ones(n) if visibility is None else np.asarray(visibility)
    for name, arr in (('ids', ids), ('boxes', boxes), ('confs', confs),
                      ('classes', classes), ('visibility', vis)):
        if len(arr) != n:
            raise ValueError(f'{len(arr)} {name} for {n} frames.')
    frames, ids = np.asarray(frames, np.int64), np.asarray(ids, np.int64)
    order = (
        np.lexsort((frames, ids)) if kind == 'gt' else np.lexsort(
            (ids, frames)))
    lines = []
    for i in order:
        head = [str(frames[i]), str(ids[i])] + [_num(v) for v in boxes[i]]
        tail = ([_num(confs[i]), str(classes[i]),
                 _num(vis[i])]
                if kind == 'gt' else [_num(confs[i]), '-1', '-1', '-1'])
        lines.append(','.join(head + tail) + '\n')
    return ''.join(lines)


def write_mot(path: str, *args, **kwargs) -> str:
    """Write :func:`format_mot`'s lines to ``path`` atomically (a killed
    run leaves the previous file).

    Args:
        path (str): The text file.
        *args: See :func:`format_mot`.
        **kwargs: See :func:`format_mot`.

    Returns:
        str: ``path``.
    """
    text = format_mot(*args, **kwargs)
    return atomic_write(path, lambda f: f.write(text), 'MOT track file', True)


def write_mot_table(path: str, table: MOTTable) -> str:
    """Write a :class:`MOTTable` back in its own kind.

    Args:
        path (str): The text file.
        table (MOTTable): Rows to write.

    Returns:
        str: ``path``.
    """
    return write_mot(
        path,
        table.frames,
        table.ids,
        table.boxes,
        table.confs,
        table.classes,
        table.visibility,
        kind=table.kind)
