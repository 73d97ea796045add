"""iQIYI-VID-FACE style video set: frame folders and a ``name label`` list."""
import os
import os.path as osp

import numpy as np
from mmpretrain.registry import DATASETS

from ..base_group_dataset import (BaseGroupDataset, DatasetFormatError,
                                  format_error, parse_int, read_lines)
from .ytf import frame_sort_key


@DATASETS.register_module()
class IQIYIVidFaceDataset(BaseGroupDataset):
    """Videos of faces, verified over ALL pairs (TPR at FPR = 1e-4).

    The iQIYI-VID-FACE test labels were never published, so the list format
    is this project's convention (``docs/face_reid_data.md``):
    ``<data_root>/<ann_file>`` holds one ``videoname label`` per line (label:
    non-negative integer identity) and ``<data_root>/<data_prefix>/
    <videoname>/`` the video's face frames.

    Items: ``group_name`` = videoname, ``img_paths`` (frame-number order) and
    ``gt_label``. No pair list is materialised: ``protocol =
    dict(type='tpr_at_fpr_all_pairs', fpr=...)`` tells the metric to score
    every unordered pair (``functional.tpr_at_fpr_all_pairs``).

    Args:
        data_root (str): Dataset root.
        ann_file (str): The list file, default ``labels.txt``.
        data_prefix (str): Folder of frame folders, default ``frames``.
        fpr (float): Target FPR reported by the metric.
        img_exts (Sequence[str]): Frame file extensions.
        **kwargs: See :class:`BaseGroupDataset`.
    """

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = 'labels.txt',
                 data_prefix='frames',
                 fpr: float = 1e-4,
                 img_exts=('.jpg', '.png'),
                 **kwargs):
        self.fpr = float(fpr)
        self.img_exts = tuple(e.lower() for e in img_exts)
        super().__init__(
            data_root=data_root,
            ann_file=ann_file,
            data_prefix=data_prefix,
            **kwargs)

    def load_data_list(self):
        """Parse the list and collect each video's frames."""
        data_list, seen = [], {}
        for lineno, line in read_lines(self.ann_file, 'iQIYI video list'):
            f = line.split()
            if len(f) != 2:
                raise format_error(
                    self.ann_file, lineno,
                    f'expected "videoname label", got {line!r}')
            label = parse_int(f[1], self.ann_file, lineno, 'label')
            if label < 0:
                raise format_error(self.ann_file, lineno,
                                   f'label must be >= 0, got {label}.')
            if f[0] in seen:
                raise format_error(
                    self.ann_file, lineno,
                    f'video {f[0]!r} already listed at line {seen[f[0]]}.')
            seen[f[0]] = lineno
            vdir = osp.join(self.img_prefix, f[0])
            if not osp.isdir(vdir):
                raise FileNotFoundError(
                    f'Frame folder {vdir} ({self.ann_file}:{lineno}) '
                    'does not exist.')
            frames = sorted((n for n in os.listdir(vdir)
                             if n.lower().endswith(self.img_exts)),
                            key=frame_sort_key)
            if not frames:
                raise FileNotFoundError(
                    f'Frame folder {vdir} ({self.ann_file}:{lineno}) '
                    'has no frames.')
            data_list.append(
                dict(
                    group_name=f[0],
                    gt_label=label,
                    img_paths=[osp.join(vdir, n) for n in frames]))
        if not data_list:
            raise DatasetFormatError(f'{self.ann_file}: no videos listed.')
        labels = np.array([d['gt_label'] for d in data_list])
        return self._finish(
            data_list,
            classes=tuple(str(c) for c in range(labels.max() + 1)),
            protocol=dict(type='tpr_at_fpr_all_pairs', fpr=self.fpr),
            dataset_name='iQIYI-VID-FACE')
