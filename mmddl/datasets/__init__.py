"""Data sets in their real on-disk formats, generators and transforms."""
from . import face, reid, transforms  # noqa: F401
from .activitynet import ActivityNetVideoDataset  # noqa: F401

__all__ = ['ActivityNetVideoDataset']
