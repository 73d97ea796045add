"""Data transforms of mmddl."""
from .checked_decord import (CheckedDecordDecode, CheckedDecordInit,
                             VideoDecodeError)
from .group_transforms import LoadGroupImages, PackGroupInputs
from .scored_sampling import LoadDScore, SampleScoredClips

__all__ = [
    'SampleScoredClips', 'LoadDScore', 'CheckedDecordInit',
    'CheckedDecordDecode', 'VideoDecodeError', 'LoadGroupImages',
    'PackGroupInputs'
]
