"""MARS video re-identification dataset (official ``info/`` split files)."""
import os.path as osp

import numpy as np
from mmengine.logging import print_log
from mmpretrain.registry import DATASETS

from ..base_group_dataset import (BaseGroupDataset, DatasetFormatError,
                                  check_files_exist, read_lines)

SPLITS = ('train', 'test', 'query', 'gallery')


def mars_pid_str(pid: int) -> str:
    """Folder / file-name prefix of a MARS pid (``-1`` -> ``'00-1'``).

    Args:
        pid (int): Person id; -1 for junk, 0 for distractors.
    """
    return '00-1' if pid == -1 else f'{pid:04d}'


def load_mat_table(path: str, key: str, columns=None) -> np.ndarray:
    """Integer matrix ``key`` from a MATLAB file, with clear errors.

    Args:
        path (str): ``.mat`` file.
        key (str): Variable name in the file.
        columns (int, optional): Required number of columns; None accepts any.
    """
    from scipy.io import loadmat
    if not osp.isfile(path):
        raise FileNotFoundError(f'MARS info file not found: {path}')
    mat = loadmat(path)
    if key not in mat:
        raise DatasetFormatError(
            f'{path}: variable {key!r} not found '
            f'(has {[k for k in mat if not k.startswith("__")]}).')
    arr = np.asarray(mat[key], dtype=np.float64)
    if columns is not None and (arr.ndim != 2 or arr.shape[1] != columns):
        raise DatasetFormatError(
            f'{path}: {key} must be (N, {columns}), got {arr.shape}.')
    if not np.all(arr == np.round(arr)):
        r = int(np.argwhere(arr != np.round(arr))[0][0])
        raise DatasetFormatError(
            f'{path}: {key} row {r + 1} has non-integer values.')
    return arr.astype(np.int64)


@DATASETS.register_module()
class MARSDataset(BaseGroupDataset):
    """MARS tracklets (or their frames) as in deep-person-reid's ``Mars``.

    Files::

        <data_root>/bbox_{train,test}/<pid>/<pid>C<cam>T<tracklet>F<frame>.jpg
        <data_root>/info/{train,test}_name.txt  one image name per line
        <data_root>/info/tracks_train_info.mat  'track_train_info' rows
        <data_root>/info/tracks_test_info.mat   'track_test_info'  rows
            [start_index, end_index, pid, camid], 1-based inclusive indices
            into the name list
        <data_root>/info/query_IDX.mat  'query_IDX': 1-based rows of the test
            tracks that are queries

    Junk tracklets (pid -1) are dropped (count logged); distractors (pid 0)
    stay in the gallery. Every row is checked: index range, and that its image
    names carry its pid and camera. Gallery = test rows that are not queries
    (deep-person-reid convention); ``gallery_includes_queries=True`` keeps
    every test row in the gallery as the official MATLAB code does (the query
    tracklet is then also a gallery item; the same-pid-same-camera rule removes
    it from its own ranking).

    Items (``item='tracklet'``): ``group_name`` (e.g. ``0001C1T0001``),
    ``img_paths``, ``pid``, ``camid`` (0-based), ``is_query``, ``track_row``
    (0-based row in the .mat) and, for ``split='train'``, ``gt_label`` (pids
    relabelled 0..K-1 in sorted order). ``item='image'`` yields one item per
    frame (``img_path``, ``gt_label``, ``pid``, ``camid``, ``track_row``) for
    training image models with a standard pipeline (``LoadImageFromFile`` ...).

    Args:
        data_root (str): MARS root.
        split (str): ``'train'`` | ``'test'`` (query + gallery) | ``'query'`` |
            ``'gallery'``.
        item (str): ``'tracklet'`` | ``'image'``.
        min_seq_len (int): Drop tracklets shorter than this (count logged).
        gallery_includes_queries (bool): See above.
        ann_file (str): The info folder, default ``info``.
        **kwargs: See :class:`BaseGroupDataset`.
    """

    def __init__(self,
                 data_root: str = '',
                 split: str = 'test',
                 item: str = 'tracklet',
                 min_seq_len: int = 0,
                 gallery_includes_queries: bool = False,
                 ann_file: str = 'info',
                 **kwargs):
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}.')
        if item not in ('tracklet', 'image'):
            raise ValueError(
                f"item must be 'tracklet' or 'image', got {item!r}.")
        self.split, self.item = split, item
        self.min_seq_len = int(min_seq_len)
        self.gallery_includes_queries = gallery_includes_queries
        kwargs.setdefault('test_mode', split != 'train')
        super().__init__(
            data_root=data_root, ann_file=ann_file, data_prefix='', **kwargs)

    def _tracks(self, part: str):
        names_path = osp.join(self.ann_file, f'{part}_name.txt')
        names = [line for _, line in read_lines(names_path, 'MARS name list')]
        mat_path = osp.join(self.ann_file, f'tracks_{part}_info.mat')
        table = load_mat_table(mat_path, f'track_{part}_info', columns=4)
        tracks, seen = [], {}
        for r, (start, end, pid, cam) in enumerate(table.tolist()):
            where = f'{mat_path}: row {r + 1} {[start, end, pid, cam]}'
            if not 1 <= start <= end <= len(names):
                raise DatasetFormatError(
                    f'{where}: indices outside 1..{len(names)} '
                    f'of {names_path}.')
            if (start, end) in seen:
                raise DatasetFormatError(
                    f'{where}: the same images as row {seen[start, end]} '
                    '(a tracklet listed twice would count twice).')
            seen[start, end] = r + 1
            if not 1 <= cam <= 6:
                raise DatasetFormatError(f'{where}: camid must be 1..6.')
            imgs = names[start - 1:end]
            for n in imgs:
                if len(n) < 6 or n[:4] != mars_pid_str(pid) or n[5] != str(
                        cam):
                    raise DatasetFormatError(
                        f'{where}: image {n!r} does not belong to pid '
                        f'{pid} / camera {cam}.')
            paths = [
                osp.join(self.data_root, f'bbox_{part}', n[:4], n)
                for n in imgs
            ]
            tracks.append(
                dict(
                    group_name=osp.splitext(imgs[0])[0][:11],
                    img_paths=paths,
                    pid=pid,
                    camid=cam - 1,
                    track_row=r))
        return tracks

    def _select(self, tracks, rows, is_query, counts):
        out = []
        for r in rows:
            t = dict(tracks[r], is_query=is_query)
            if t['pid'] == -1:
                counts['junk'] += 1
            elif len(t['img_paths']) < self.min_seq_len:
                counts['short'] += 1
            else:
                out.append(t)
        return out

    def load_data_list(self):
        """Read the info files and build the requested split."""
        part = 'train' if self.split == 'train' else 'test'
        tracks = self._tracks(part)
        counts = dict(junk=0, short=0)
        if part == 'train':
            items = self._select(tracks, range(len(tracks)), False, counts)
            pids = sorted({t['pid'] for t in items})
            relabel = {p: i for i, p in enumerate(pids)}
            for t in items:
                t['gt_label'] = relabel[t['pid']]
            meta = dict(classes=tuple(str(p) for p in pids))
        else:
            qpath = osp.join(self.ann_file, 'query_IDX.mat')
            q = load_mat_table(qpath, 'query_IDX').ravel() - 1
            if (q.size == 0 or q.min() < 0 or q.max() >= len(tracks)
                    or len(set(q.tolist())) != q.size):
                raise DatasetFormatError(
                    f'{qpath}: query rows must be unique and within '
                    f'1..{len(tracks)}.')
            qset = set(q.tolist())
            g_rows = (
                range(len(tracks)) if self.gallery_includes_queries else
                [r for r in range(len(tracks)) if r not in qset])
            items = []
            if self.split in ('test', 'query'):
                items += self._select(tracks, q.tolist(), True, counts)
            if self.split in ('test', 'gallery'):
                items += self._select(tracks, g_rows, False, counts)
            meta = dict(protocol=dict(type='reid', ranks=[1, 5, 20]))
        print_log(
            f'MARSDataset({self.split}): dropped {counts["junk"]} junk '
            f'(pid -1) and {counts["short"]} short (< {self.min_seq_len}) '
            'tracklets.',
            logger='current')
        if not items:
            raise DatasetFormatError(
                f'MARS {self.split} split under {self.ann_file}: no '
                f'tracklet left (dropped {counts["junk"]} junk, '
                f'{counts["short"]} shorter than {self.min_seq_len}).')
        meta['dataset_name'] = 'MARS'
        if self.item == 'tracklet':
            return self._finish(items, **meta)
        images = [
            dict(
                img_path=p,
                pid=t['pid'],
                camid=t['camid'],
                track_row=t['track_row'],
                **({
                    'gt_label': t['gt_label']
                } if 'gt_label' in t else {})) for t in items
            for p in t['img_paths']
        ]
        if self.check_files:
            check_files_exist([im['img_path'] for im in images])
        self._metainfo.update(meta)
        return images
