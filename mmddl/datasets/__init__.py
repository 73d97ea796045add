"""Data sets in their real on-disk formats, samplers and transforms."""
from . import face, reid, samplers, tracks, transforms  # noqa: F401
from .activitynet import ActivityNetVideoDataset
from .base_group_dataset import BaseGroupDataset, DatasetFormatError
from .group_collate import group_collate
from .video_list import CheckedVideoDataset, parse_video_list

__all__ = [
    'ActivityNetVideoDataset', 'BaseGroupDataset', 'CheckedVideoDataset',
    'DatasetFormatError', 'group_collate', 'parse_video_list'
]
