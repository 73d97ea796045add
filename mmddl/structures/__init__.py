"""Data structures shared by the engine and the data pipeline."""
from .data_sources import DataSources, data_sources, file_identity
from .score_table import (KEY_FIELDS, CorruptScoreTableError, ScoreTable,
                          StaleScoreTableError, dataset_fingerprint,
                          make_fingerprint)

__all__ = [
    'KEY_FIELDS', 'ScoreTable', 'StaleScoreTableError',
    'CorruptScoreTableError', 'DataSources', 'data_sources', 'file_identity',
    'dataset_fingerprint', 'make_fingerprint'
]
