"""Group samplers / aggregators (registered in mmengine's ROOT ``MODELS``)."""
from .ddl_aggregator import (BLIND_MODES, FUSION_LEVELS, MODES, SCORE_MODES,
                             DDLAggregator)

__all__ = [
    'DDLAggregator', 'MODES', 'SCORE_MODES', 'BLIND_MODES', 'FUSION_LEVELS'
]
