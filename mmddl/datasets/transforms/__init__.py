"""Data transforms of mmddl."""
from .checked_decord import (CheckedDecordDecode, CheckedDecordInit,
                             VideoDecodeError)
from .group_transforms import LoadGroupImages, PackGroupInputs
from .scored_sampling import LoadDScore, SampleScoredClips
from .two_stage_decode import ClipSource, DDLTwoStageDecode
from .two_stage_read import GroupImageSource, read_image_reduced

__all__ = [
    'SampleScoredClips', 'LoadDScore', 'CheckedDecordInit',
    'CheckedDecordDecode', 'VideoDecodeError', 'LoadGroupImages',
    'PackGroupInputs', 'ClipSource', 'DDLTwoStageDecode', 'GroupImageSource',
    'read_image_reduced'
]
