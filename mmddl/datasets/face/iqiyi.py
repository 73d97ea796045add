"""iQIYI-VID-FACE style video set: frame folders and a ``name label`` list."""
import os.path as osp

import numpy as np
from mmpretrain.registry import DATASETS

from ..base_group_dataset import (DatasetFormatError, format_error, parse_int,
                                  read_lines)
from .frame_folders import FrameFolderDataset


@DATASETS.register_module()
class IQIYIVidFaceDataset(FrameFolderDataset):
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
        **kwargs: ``img_exts`` (frame file extensions, see
            :class:`FrameFolderDataset`) and :class:`BaseGroupDataset`'s.
    """

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = 'labels.txt',
                 data_prefix='frames',
                 fpr: float = 1e-4,
                 **kwargs):
        self.fpr = float(fpr)
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
            data_list.append(
                dict(
                    group_name=f[0],
                    gt_label=label,
                    img_paths=self.list_frames(
                        osp.join(self.img_prefix, f[0]),
                        f'{self.ann_file}:{lineno}')))
        if not data_list:
            raise DatasetFormatError(f'{self.ann_file}: no videos listed.')
        labels = np.array([d['gt_label'] for d in data_list])
        return self._finish(
            data_list,
            classes=tuple(str(c) for c in range(labels.max() + 1)),
            protocol=dict(type='tpr_at_fpr_all_pairs', fpr=self.fpr),
            dataset_name='iQIYI-VID-FACE')
