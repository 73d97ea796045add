"""Person re-identification datasets."""
from .mars import MARSDataset

__all__ = ['MARSDataset']
