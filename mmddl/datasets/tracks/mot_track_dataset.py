"""Tracks of MOTChallenge-format files as DDL groups (one group per track)."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.logging import print_log
from mmpretrain.registry import DATASETS

from ..base_group_dataset import (BaseGroupDataset, DatasetFormatError,
                                  check_files_exist)
from .crop_geometry import OUTSIDE, PARTIAL, box_status
from .frame_source import FrameSource
from .mot_format import PEDESTRIAN, read_mot

#: keys of one entry of ``sequences``
SEQUENCE_KEYS = ('source', 'ann_file', 'kind', 'camid', 'name', 'pids')
#: counters of ``metainfo['track_counts']`` (and of each sequence)
COUNT_KEYS = ('rows', 'zero_conf', 'other_class', 'boxes', 'partial_boxes',
              'outside_boxes', 'tracks', 'outside_tracks', 'short_tracks',
              'kept_tracks', 'crops', 'frames', 'empty_frames')


@DATASETS.register_module()
class MOTTrackDataset(BaseGroupDataset):
    """Each track of a MOT-format file is a group of crops of its frames.

    A sequence is a frame source (a MOTChallenge sequence folder with
    ``seqinfo.ini`` and ``img1/``, its ``img1/`` folder, a plain folder of
    frames or a video file: see :class:`FrameSource.open`) and a track file
    (``gt/gt.txt`` or a tracker output: see
    :func:`~mmddl.datasets.tracks.mot_format.read_mot`, which stops with
    ``file:line`` on a bad line or a frame beyond the source's frames).

    Boxes whose part inside the frame is under one pixel are dropped
    (``outside_boxes``); boxes partly outside are kept and clipped when
    cropped (``partial_boxes``); a track with no box left
    (``outside_tracks``) or with fewer than ``min_length`` boxes
    (``short_tracks``) is dropped. Frames without any kept crop are
    counted (``empty_frames``); gt rows skipped as MOTChallenge does are
    counted (``zero_conf``, ``other_class``). The counts are in
    ``metainfo['track_counts']`` (all sequences) and
    ``metainfo['sequences']`` (each), and logged once.

    Items (one per kept track, ordered by camera then track id):
    ``group_name`` (``'<sequence>/<track id>'``), ``sequence``, ``camid``,
    ``track_id``, ``frame_ids`` (n,) 1-based in frame order, ``bboxes``
    (n, 4) ``x, y, w, h`` as in the file (not clipped), ``box_scores`` (n,)
    (the conf field), ``visibility`` (n,) (gt; -1 for tracker output),
    ``image_size`` ``(h, w)``, ``source`` and ``source_type``
    (``'frames'`` | ``'video'``), ``img_paths`` (the frame files; for a
    video ``'<video>#<frame:06d>'`` names), ``group_id``, ``num_images``;
    with ``ids_are_identities`` or a sequence's ``pids`` also ``pid`` and
    ``is_query`` (cameras in ``query_camids``), as ``GroupReIDMetric``
    reads them. Load the crops with ``LoadTrackCrops`` and pack them with
    ``PackGroupInputs(meta_keys=TRACK_META_KEYS)``.

    Args:
        data_root (str): Root joined to relative paths.
        source (str): The frame source of a single sequence.
        ann_file (str): Its track file; default ``<source>/gt/gt.txt`` for
            a MOTChallenge sequence folder.
        kind (str): ``'auto'``, ``'gt'`` or ``'results'`` (see
            ``read_mot``).
        sequences (Sequence[dict], optional): Several sequences instead of
            ``source`` / ``ann_file``: dicts with ``source`` and optional
            ``ann_file``, ``kind``, ``camid`` (default: the position),
            ``name`` (default: the source's name; names must differ) and
            ``pids`` (``{track id: identity}`` covering every kept track).
        min_length (int): Fewest boxes a kept track has. Defaults to 1.
        keep_classes (Sequence[int], optional): gt classes kept (default
            pedestrians); None keeps all.
        keep_zero_conf (bool): Keep gt rows with conf 0.
        ids_are_identities (bool): ``pid`` = track id (gt whose ids name the
            same person in every sequence).
        query_camids (Sequence[int]): Cameras whose tracks are queries.
        **kwargs: See :class:`BaseGroupDataset` (``check_files`` stats
            every needed frame file at load time).
    """

    def __init__(self,
                 data_root: str = '',
                 source: str = '',
                 ann_file: str = '',
                 kind: str = 'auto',
                 sequences: Optional[Sequence[dict]] = None,
                 min_length: int = 1,
                 keep_classes: Optional[Sequence[int]] = (PEDESTRIAN, ),
                 keep_zero_conf: bool = False,
                 ids_are_identities: bool = False,
                 query_camids: Sequence[int] = (),
                 **kwargs):
        if sequences is not None and (source or ann_file):
            raise ValueError('give either sequences or source / ann_file')
        if sequences is None and not source:
            raise ValueError('MOTTrackDataset needs source (a sequence '
                             'folder, frame folder or video) or sequences')
        if int(min_length) < 1:
            raise ValueError(f'min_length must be >= 1, got {min_length}')
        for i, seq in enumerate(sequences or ()):
            bad = set(seq) - set(SEQUENCE_KEYS)
            if bad or 'source' not in seq:
                raise ValueError(
                    f'sequences[{i}]: keys {sorted(seq)}; needs source, '
                    f'may have {SEQUENCE_KEYS[1:]}')
        self.source, self.kind = source, kind
        self.sequences = None if sequences is None else [
            dict(s) for s in sequences
        ]
        self.min_length = int(min_length)
        self.keep_classes = (None if keep_classes is None else tuple(
            int(c) for c in keep_classes))
        self.keep_zero_conf = keep_zero_conf
        self.ids_are_identities = ids_are_identities
        self.query_camids = tuple(int(c) for c in query_camids)
        super().__init__(
            data_root=data_root, ann_file=ann_file, data_prefix='', **kwargs)

    def _sequence(self, pos: int, seq: dict, counts: Dict) -> List[dict]:
        """The kept tracks of one sequence; adds to ``counts``."""
        src = FrameSource.open(self._root_join(seq['source']))
        ann = seq.get('ann_file')
        ann = self._root_join(ann) if ann else ''
        if not ann and src.seqinfo is None:
            raise ValueError(f'{src.path}: not a MOTChallenge sequence folder '
                             '(no seqinfo.ini): give its track file '
                             '(ann_file)')
        ann = ann or osp.join(src.path, 'gt', 'gt.txt')
        table = read_mot(
            ann,
            seq.get('kind', self.kind),
            seq_length=src.num_frames,
            keep_classes=self.keep_classes,
            keep_zero_conf=self.keep_zero_conf)
        name = seq.get('name', src.name)
        camid = int(seq.get('camid', pos))
        pids = seq.get('pids')
        pids = None if pids is None else {int(k): v for k, v in pids.items()}
        c = dict.fromkeys(COUNT_KEYS, 0)
        c.update(
            rows=table.counts['rows'],
            zero_conf=table.counts['zero_conf'],
            other_class=sum(table.counts['other_class'].values()),
            boxes=len(table),
            frames=src.num_frames)
        items, used = [], set()
        for tid, rows in table.tracks().items():
            c['tracks'] += 1
            keep = []
            for r in rows:
                status = box_status(table.boxes[r], src.size)
                c['partial_boxes'] += status == PARTIAL
                c['outside_boxes'] += status == OUTSIDE
                if status != OUTSIDE:
                    keep.append(r)
            if not keep:
                c['outside_tracks'] += 1
                continue
            if len(keep) < self.min_length:
                c['short_tracks'] += 1
                continue
            keep = np.asarray(keep)
            frames = table.frames[keep]
            item = dict(
                group_name=f'{name}/{tid}',
                sequence=name,
                camid=camid,
                track_id=tid,
                frame_ids=frames,
                bboxes=table.boxes[keep].astype(np.float32),
                box_scores=table.confs[keep].astype(np.float32),
                visibility=table.visibility[keep].astype(np.float32),
                image_size=src.size,
                source=src.path,
                source_type=src.kind,
                img_paths=[src.frame_name(int(f)) for f in frames])
            if pids is not None:
                if tid not in pids:
                    raise DatasetFormatError(
                        f'{ann}: track {tid} (line {table.lines[keep[0]]}) '
                        f'has no identity in sequences[{pos}].pids.')
                item['pid'] = pids[tid]
            elif self.ids_are_identities:
                item['pid'] = tid
            if 'pid' in item:
                item['is_query'] = camid in self.query_camids
            used.update(frames.tolist())
            items.append(item)
        c['kept_tracks'] = len(items)
        c['crops'] = sum(len(it['frame_ids']) for it in items)
        c['empty_frames'] = src.num_frames - len(used)
        self._metainfo['sequences'].append(
            dict(
                name=name,
                camid=camid,
                source=src.path,
                source_type=src.kind,
                ann_file=ann,
                kind=table.kind,
                num_frames=src.num_frames,
                image_size=src.size,
                frame_rate=src.frame_rate,
                other_class_by_class=dict(table.counts['other_class']),
                counts=c))
        for k in COUNT_KEYS:
            counts[k] += c[k]
        return items

    def load_data_list(self) -> List[dict]:
        """Read every sequence's frames and track file, build the groups."""
        seqs = self.sequences or [
            dict(source=self.source, ann_file=self.ann_file)
        ]
        self._metainfo['sequences'] = []
        counts = dict.fromkeys(COUNT_KEYS, 0)
        items = []
        for pos, seq in enumerate(seqs):
            items += self._sequence(pos, seq, counts)
        names = [s['name'] for s in self._metainfo['sequences']]
        if len(set(names)) != len(names):
            raise ValueError(f'sequence names {names} repeat: give each '
                             'sequence its own name=')
        print_log(
            f'{type(self).__name__}: {counts["kept_tracks"]} tracks, '
            f'{counts["crops"]} crops from {len(seqs)} sequence(s); '
            f'dropped {counts["short_tracks"]} short (< {self.min_length} '
            f'boxes) and {counts["outside_tracks"]} outside tracks; '
            f'{counts["partial_boxes"]} boxes partly outside (clipped), '
            f'{counts["outside_boxes"]} wholly outside (dropped); '
            f'{counts["empty_frames"]} of {counts["frames"]} frames without '
            f'a crop; gt rows skipped: {counts["zero_conf"]} conf 0, '
            f'{counts["other_class"]} other classes.',
            logger='current')
        if not items:
            raise DatasetFormatError(
                f'no track left in {[s["ann_file"] for s in self._metainfo["sequences"]]}: '
                f'{counts["tracks"]} tracks, {counts["short_tracks"]} shorter '
                f'than {self.min_length}, {counts["outside_tracks"]} wholly '
                'outside their frames.')
        for gid, item in enumerate(items):
            item['group_id'] = gid
            item['num_images'] = len(item['frame_ids'])
        if self.check_files:
            check_files_exist(
                sorted({
                    p
                    for it in items if it['source_type'] == 'frames'
                    for p in it['img_paths']
                }), 'frame')
        self._metainfo.update(track_counts=counts, dataset_name='MOTTracks')
        if any('pid' in it for it in items):
            self._metainfo['protocol'] = dict(type='reid', ranks=[1, 5, 20])
        return items

    def extra_repr(self) -> List[str]:
        """Shown in ``repr(dataset)``."""
        return [
            f'Sequence: \t{s["name"]} ({s["source"]}, {s["ann_file"]})'
            for s in self._metainfo.get('sequences', [])
        ]
