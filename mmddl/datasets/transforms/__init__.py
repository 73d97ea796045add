"""Data transforms of mmddl."""
from .scored_sampling import LoadDScore, SampleScoredClips

__all__ = ['SampleScoredClips', 'LoadDScore']
