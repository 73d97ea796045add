"""Data structures shared by the engine and the data pipeline."""
from .score_table import (KEY_FIELDS, ScoreTable, StaleScoreTableError,
                          dataset_fingerprint, make_fingerprint)

__all__ = ['KEY_FIELDS', 'ScoreTable', 'StaleScoreTableError',
           'dataset_fingerprint', 'make_fingerprint']
