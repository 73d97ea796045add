"""IJB-B / IJB-C 1:1 template verification in insightface's released format."""
import os.path as osp
from collections import OrderedDict

import numpy as np
from mmpretrain.registry import DATASETS

from ..base_group_dataset import (BaseGroupDataset, DatasetFormatError,
                                  format_error, parse_float, parse_int,
                                  read_lines)

IJB_FARS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)


def load_int_table(path: str, columns: int, what: str) -> np.ndarray:
    """Read a whitespace-separated integer table, with file:line errors.

    Args:
        path (str): Text file, one row of ``columns`` integers per line.
        columns (int): Required number of columns.
        what (str): What the file is, for error messages.

    Returns:
        np.ndarray: (rows, columns) int64 table.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        DatasetFormatError: If the table is malformed, empty or has the
            wrong number of columns.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    try:
        table = np.loadtxt(path, dtype=np.int64, ndmin=2)
    except ValueError as e:
        raise DatasetFormatError(f'{path}: malformed {what}: {e}') from None
    if table.size == 0:
        raise DatasetFormatError(f'{path}: {what} is empty.')
    if table.shape[1] != columns:
        raise DatasetFormatError(
            f'{path}: {what} must have {columns} integer columns, '
            f'found {table.shape[1]}.')
    return table


@DATASETS.register_module()
class IJBDataset(BaseGroupDataset):
    """IJB-B / IJB-C templates as items (insightface ``IJB_release`` layout).

    Reads ``meta/<prefix>_face_tid_mid.txt``,
    ``meta/<prefix>_name_5pts_score.txt`` (checked line by line to list the
    same images in the same order) and
    ``meta/<prefix>_template_pair_label.txt``; images are in ``loose_crop/``
    (format in ``docs/face_reid_data.md``).

    Items, one per template sorted by id: ``template_id``, ``img_paths``,
    ``media_ids`` (per image, for media-then-template pooling),
    ``landmarks`` (n, 5, 2) float32 and ``det_scores`` (n,) float32.
    ``metainfo`` holds ``pairs`` (group_id_a, group_id_b, label) as int32 and
    ``protocol = dict(type='tar_at_far', fars=...)``.

    Args:
        data_root (str): ``IJBC`` / ``IJBB`` folder.
        prefix (str): File name prefix.
        ann_file (str): Pair file (default
            ``meta/<prefix>_template_pair_label.txt``).
        media_file (str): Template/media file, default
            ``meta/<prefix>_face_tid_mid.txt``.
        landmark_file (str): Landmark file, default
            ``meta/<prefix>_name_5pts_score.txt``.
        data_prefix (str): Image folder, default ``loose_crop``.
        fars (Sequence[float]): FAR targets reported by the metric.
        **kwargs: See :class:`BaseGroupDataset`.
    """

    def __init__(self,
                 data_root: str = '',
                 prefix: str = 'ijbc',
                 ann_file: str = '',
                 media_file: str = '',
                 landmark_file: str = '',
                 data_prefix='loose_crop',
                 fars=IJB_FARS,
                 **kwargs):
        self.prefix = prefix
        self.fars = tuple(float(f) for f in fars)
        self._media_file = media_file or f'meta/{prefix}_face_tid_mid.txt'
        self._landmark_file = (
            landmark_file or f'meta/{prefix}_name_5pts_score.txt')
        super().__init__(
            data_root=data_root,
            ann_file=ann_file or f'meta/{prefix}_template_pair_label.txt',
            data_prefix=data_prefix,
            **kwargs)

    def _read_media(self, path):
        rows = []
        for lineno, line in read_lines(path, 'IJB template/media file'):
            f = line.split()
            if len(f) != 3:
                raise format_error(
                    path, lineno,
                    f'expected "image_name template_id media_id", '
                    f'got {line!r}')
            rows.append((f[0], parse_int(f[1], path, lineno, 'template id'),
                         parse_int(f[2], path, lineno, 'media id')))
        return rows

    def _read_landmarks(self, path, names):
        lmks, scores, n = [], [], 0
        for n, (lineno, line) in enumerate(
                read_lines(path, 'IJB landmark file'), start=1):
            f = line.split()
            if len(f) != 12:
                raise format_error(
                    path, lineno,
                    'expected "image_name" + 10 landmark numbers '
                    f'+ detection score (12 fields), got {len(f)}.')
            if n > len(names):
                raise format_error(
                    path, lineno, f'more lines than the {len(names)} images '
                    'of the template/media file.')
            if f[0] != names[n - 1]:
                raise format_error(
                    path, lineno, f'image {f[0]!r} but line {n} of the '
                    f'template/media file is {names[n - 1]!r}; the two files '
                    'must list the same images in the same order.')
            lmks.append(
                [parse_float(v, path, lineno, 'landmark') for v in f[1:11]])
            scores.append(parse_float(f[11], path, lineno, 'detection score'))
        if n != len(names):
            raise DatasetFormatError(
                f'{path}: {n} images but the template/media file '
                f'lists {len(names)}.')
        return np.asarray(lmks, np.float32).reshape(-1, 5, 2), np.asarray(
            scores, np.float32)

    def load_data_list(self):
        """Read the three meta files; group images by template."""
        media_path = self._root_join(self._media_file)
        rows = self._read_media(media_path)
        if not rows:
            raise DatasetFormatError(f'{media_path}: no images listed.')
        names = [r[0] for r in rows]
        lmks, scores = self._read_landmarks(
            self._root_join(self._landmark_file), names)
        groups = OrderedDict()
        for i, (_, tid, _) in enumerate(rows):
            groups.setdefault(tid, []).append(i)
        tids = sorted(groups)
        data_list = []
        for tid in tids:
            idx = groups[tid]
            data_list.append(
                dict(
                    group_name=str(tid),
                    template_id=tid,
                    img_paths=[
                        osp.join(self.img_prefix, names[i]) for i in idx
                    ],
                    media_ids=[rows[i][2] for i in idx],
                    landmarks=lmks[idx],
                    det_scores=scores[idx]))
        table = load_int_table(self.ann_file, 3, 'template pair file')
        for col in (0, 1):
            unknown = ~np.isin(table[:, col], tids)
            if unknown.any():
                r = int(np.flatnonzero(unknown)[0])
                raise DatasetFormatError(
                    f'{self.ann_file}: row {r + 1}: template '
                    f'{int(table[r, col])} is not in {media_path} '
                    f'({int(unknown.sum())} rows reference unknown '
                    'templates).')
        bad = ~np.isin(table[:, 2], (0, 1))
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise DatasetFormatError(
                f'{self.ann_file}: row {r + 1}: label must be 0 or 1, '
                f'got {int(table[r, 2])}.')
        # tids are sorted, so searchsorted is a lookup
        sorted_tids = np.asarray(tids, np.int64)
        pairs = np.stack([
            np.searchsorted(sorted_tids, table[:, 0]),
            np.searchsorted(sorted_tids, table[:, 1]), table[:, 2]
        ], 1)
        return self._finish(
            data_list,
            pairs=pairs.astype(np.int32),
            protocol=dict(type='tar_at_far', fars=list(self.fars)),
            dataset_name=self.prefix.upper())
