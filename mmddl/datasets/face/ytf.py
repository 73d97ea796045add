"""YouTube Faces (YTF) video verification dataset (10-fold, 5000 pairs)."""
import os.path as osp
import re

import numpy as np
from mmpretrain.registry import DATASETS

from ..base_group_dataset import (DatasetFormatError, format_error, parse_int,
                                  read_lines)
from .frame_folders import FrameFolderDataset, frame_sort_key  # noqa: F401


@DATASETS.register_module()
class YTFDataset(FrameFolderDataset):
    """YouTube Faces: one item per video, pairs from ``splits.txt``.

    Layout: ``<data_root>/<data_prefix>/<Name>/<video>/*.jpg`` where
    ``data_prefix`` is ``aligned_images_DB`` (default) or ``frame_images_DB``,
    and ``<data_root>/splits.txt``: one header line, then
    ``split number, pair id, first name, second name, is same`` (comma and/or
    whitespace separated; names like ``Aaron_Eckhart/0``).

    Items: ``group_name`` = ``'Name/video'``, ``img_paths`` (frames in frame
    number order), ``gt_label`` (index of the person in ``classes`` = sorted
    person names). Videos are those referenced by the pairs, sorted by name.
    ``metainfo``: ``pairs`` (group_id_a, group_id_b, is_same), ``pair_folds``
    (the split number), ``pair_ids`` and
    ``protocol = dict(type='kfold_accuracy')``.

    Args:
        data_root (str): Dataset root.
        ann_file (str): Pair list, default ``'splits.txt'``.
        data_prefix (str): Frame database directory.
        **kwargs: ``img_exts`` (frame file extensions, see
            :class:`FrameFolderDataset`) and :class:`BaseGroupDataset`'s.
    """

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = 'splits.txt',
                 data_prefix='aligned_images_DB',
                 **kwargs):
        super().__init__(
            data_root=data_root,
            ann_file=ann_file,
            data_prefix=data_prefix,
            **kwargs)

    def _parse_pairs(self):
        rows, seen = [], {}
        for lineno, line in read_lines(self.ann_file, 'YTF splits file'):
            fields = [t for t in re.split(r'[,\s]+', line) if t]
            if not rows and not seen and not fields[0].lstrip('-').isdigit():
                if 'split' not in line.lower():
                    raise format_error(
                        self.ann_file, lineno, 'expected the header line '
                        f'"split number, pair id, ..." or a pair, got {line!r}'
                    )
                seen['header'] = lineno  # the real file starts with a header
                continue
            if len(fields) != 5:
                raise format_error(
                    self.ann_file, lineno,
                    'expected 5 fields "split, pair id, first name, second '
                    f'name, is same", got {len(fields)}: {line!r}')
            split = parse_int(fields[0], self.ann_file, lineno, 'split number')
            pair_id = parse_int(fields[1], self.ann_file, lineno, 'pair id')
            same = parse_int(fields[4], self.ann_file, lineno, 'is same')
            if same not in (0, 1):
                raise format_error(self.ann_file, lineno,
                                   f'is same must be 0 or 1, got {same}.')
            for name in fields[2:4]:
                if name.count('/') != 1:
                    raise format_error(
                        self.ann_file, lineno,
                        f'video name must look like "Person/3", got {name!r}.')
            if (split, pair_id) in seen:
                raise format_error(
                    self.ann_file, lineno, f'duplicate pair (split {split}, '
                    f'pair id {pair_id}); first at line '
                    f'{seen[(split, pair_id)]}.')
            seen[(split, pair_id)] = lineno
            rows.append((split, pair_id, fields[2], fields[3], same, lineno))
        if not rows:
            raise DatasetFormatError(f'{self.ann_file}: no pairs found.')
        return rows

    def load_data_list(self):
        """Parse ``splits.txt`` and list every referenced video's frames."""
        rows = self._parse_pairs()
        first_line = {}
        for r in rows:
            for name in r[2:4]:
                first_line.setdefault(name, r[5])
        videos = sorted(first_line)
        persons = sorted({v.split('/')[0] for v in videos})
        person_idx = {p: i for i, p in enumerate(persons)}
        data_list = [
            dict(
                group_name=v,
                gt_label=person_idx[v.split('/')[0]],
                img_paths=self.list_frames(
                    osp.join(self.img_prefix, v),
                    f'{self.ann_file}:{first_line[v]}')) for v in videos
        ]
        gid = {v: i for i, v in enumerate(videos)}
        pairs = np.array([(gid[r[2]], gid[r[3]], r[4]) for r in rows],
                         dtype=np.int64)
        return self._finish(
            data_list,
            classes=tuple(persons),
            pairs=pairs,
            pair_folds=np.array([r[0] for r in rows], dtype=np.int64),
            pair_ids=np.array([r[1] for r in rows], dtype=np.int64),
            protocol=dict(type='kfold_accuracy'),
            dataset_name='YTF')
