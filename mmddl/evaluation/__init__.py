"""Metrics (registered in mmengine's root METRICS registry)."""
from .dscore_metric import DScoreMetric

__all__ = ['DScoreMetric']
