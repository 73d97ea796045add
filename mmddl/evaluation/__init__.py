"""Metrics (registered in mmengine's root METRICS registry)."""
from . import functional  # noqa: F401
from .ddl_metric import DDLMetric
from .dscore_metric import DScoreMetric
from .group_metrics import GroupReIDMetric, GroupVerificationMetric

__all__ = [
    'DDLMetric', 'DScoreMetric', 'GroupVerificationMetric', 'GroupReIDMetric'
]
