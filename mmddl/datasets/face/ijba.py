"""IJB-A 1:1 verification (10 splits) from the NIST ``IJB-A_11_sets`` CSVs."""
import csv
import os.path as osp
from collections import OrderedDict

import numpy as np
from mmpretrain.registry import DATASETS

from ..base_group_dataset import (BaseGroupDataset, DatasetFormatError,
                                  format_error, parse_float, parse_int,
                                  read_lines)

REQUIRED_COLUMNS = ('TEMPLATE_ID', 'SUBJECT_ID', 'FILE', 'MEDIA_ID', 'FACE_X',
                    'FACE_Y', 'FACE_WIDTH', 'FACE_HEIGHT')


@DATASETS.register_module()
class IJBADataset(BaseGroupDataset):
    """IJB-A verification templates of one or several splits.

    Reads ``<ann_dir>/split<k>/verify_metadata_<k>.csv`` (one row per
    template and image) and ``verify_comparisons_<k>.csv`` (``t1,t2`` per
    line) of every split; images are ``<data_prefix>/<FILE>`` (format in
    ``docs/face_reid_data.md``).

    Items: one per (split, template), in split order then first appearance:
    ``split``, ``template_id``, ``subject_id``, ``gt_label`` (index into
    ``classes`` = sorted subject ids), ``img_paths``, ``media_ids`` and
    ``bboxes`` (n, 4) float32 ``[x, y, w, h]`` (IJB-A images are uncropped:
    use ``LoadGroupImages(crop_bbox=True)``). A pair is genuine when both
    templates share the SUBJECT_ID. ``metainfo``: ``pairs``, ``pair_folds``
    (split number) and ``protocol = dict(type='tar_at_far_per_fold',
    fars=...)`` (mean and std over splits).

    Args:
        data_root (str): IJB-A root.
        splits (Sequence[int]): Split numbers to load (default 1..10).
        ann_dir (str): Protocol folder, default ``IJB-A_11_sets``.
        data_prefix (str): Image folder, default ``images``.
        fars (Sequence[float]): FAR targets reported by the metric.
        **kwargs: See :class:`BaseGroupDataset`.
    """

    def __init__(self,
                 data_root: str = '',
                 splits=tuple(range(1, 11)),
                 ann_dir: str = 'IJB-A_11_sets',
                 data_prefix='images',
                 fars=(1e-3, 1e-2, 1e-1),
                 **kwargs):
        self.splits = [int(s) for s in splits]
        self.fars = tuple(float(f) for f in fars)
        super().__init__(
            data_root=data_root,
            ann_file=ann_dir,
            data_prefix=data_prefix,
            **kwargs)

    def _read_metadata(self, path, split):
        if not osp.isfile(path):
            raise FileNotFoundError(f'IJB-A metadata file not found: {path}')
        templates = OrderedDict()
        with open(path, newline='') as f:
            reader = csv.DictReader(f)
            missing = [
                c for c in REQUIRED_COLUMNS
                if c not in (reader.fieldnames or [])
            ]
            if missing:
                raise format_error(
                    path, 1, f'header lacks columns {missing}; '
                    f'got {reader.fieldnames}.')
            for row in reader:
                ln = reader.line_num
                if None in row or any(v is None for v in row.values()):
                    raise format_error(
                        path, ln, 'number of fields differs from the header.')
                tid = parse_int(row['TEMPLATE_ID'], path, ln, 'TEMPLATE_ID')
                sid = parse_int(row['SUBJECT_ID'], path, ln, 'SUBJECT_ID')
                box = [
                    parse_float(row[c], path, ln, c)
                    for c in REQUIRED_COLUMNS[4:]
                ]
                if box[2] <= 0 or box[3] <= 0:
                    raise format_error(path, ln,
                                       f'non-positive face size {box[2:]}.')
                t = templates.setdefault(
                    tid,
                    dict(
                        split=split,
                        template_id=tid,
                        subject_id=sid,
                        files=[],
                        media_ids=[],
                        bboxes=[]))
                if t['subject_id'] != sid:
                    raise format_error(
                        path, ln, f'template {tid} mixes subjects '
                        f'{t["subject_id"]} and {sid}.')
                t['files'].append(row['FILE'])
                t['media_ids'].append(
                    parse_int(row['MEDIA_ID'], path, ln, 'MEDIA_ID'))
                t['bboxes'].append(box)
        if not templates:
            raise DatasetFormatError(f'{path}: no template rows.')
        return templates

    def _read_comparisons(self, path, templates):
        pairs = []
        for lineno, line in read_lines(path, 'IJB-A comparison file'):
            f = [t.strip() for t in line.split(',')]
            if len(f) != 2:
                raise format_error(
                    path, lineno,
                    f'expected "template_1,template_2", got {line!r}')
            a, b = (parse_int(t, path, lineno, 'template id') for t in f)
            for t in (a, b):
                if t not in templates:
                    raise format_error(
                        path, lineno,
                        f'template {t} is not in the metadata file.')
            pairs.append((a, b))
        if not pairs:
            raise DatasetFormatError(f'{path}: no comparisons.')
        return pairs

    def load_data_list(self):
        """Read metadata and comparisons of every requested split."""
        data_list, pairs, folds, key_to_gid = [], [], [], {}
        for k in self.splits:
            d = osp.join(self.ann_file, f'split{k}')
            templates = self._read_metadata(
                osp.join(d, f'verify_metadata_{k}.csv'), k)
            for tid, t in templates.items():
                key_to_gid[(k, tid)] = len(data_list)
                data_list.append(
                    dict(
                        group_name=f'split{k}/{tid}',
                        split=k,
                        template_id=tid,
                        subject_id=t['subject_id'],
                        img_paths=[
                            osp.join(self.img_prefix, p) for p in t['files']
                        ],
                        media_ids=t['media_ids'],
                        bboxes=np.asarray(t['bboxes'], np.float32)))
            for a, b in self._read_comparisons(
                    osp.join(d, f'verify_comparisons_{k}.csv'), templates):
                same = int(
                    templates[a]['subject_id'] == templates[b]['subject_id'])
                pairs.append((key_to_gid[(k, a)], key_to_gid[(k, b)], same))
                folds.append(k)
        subjects = sorted({it['subject_id'] for it in data_list})
        sidx = {s: i for i, s in enumerate(subjects)}
        for it in data_list:
            it['gt_label'] = sidx[it['subject_id']]
        return self._finish(
            data_list,
            classes=tuple(str(s) for s in subjects),
            pairs=np.asarray(pairs, np.int64),
            pair_folds=np.asarray(folds, np.int64),
            protocol=dict(type='tar_at_far_per_fold', fars=list(self.fars)),
            dataset_name='IJB-A')
