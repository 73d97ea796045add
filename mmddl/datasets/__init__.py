"""Data sets in their real on-disk formats, samplers and transforms."""
from . import face, reid, samplers, transforms  # noqa: F401
from .activitynet import ActivityNetVideoDataset
from .base_group_dataset import BaseGroupDataset, DatasetFormatError
from .group_collate import group_collate

__all__ = [
    'ActivityNetVideoDataset', 'BaseGroupDataset', 'DatasetFormatError',
    'group_collate'
]
