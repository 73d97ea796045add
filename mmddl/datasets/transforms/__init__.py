"""Data transforms of mmddl."""
from .checked_decord import (CheckedDecordDecode, CheckedDecordInit,
                             VideoDecodeError)
from .scored_sampling import LoadDScore, SampleScoredClips

__all__ = [
    'SampleScoredClips', 'LoadDScore', 'CheckedDecordInit',
    'CheckedDecordDecode', 'VideoDecodeError'
]
