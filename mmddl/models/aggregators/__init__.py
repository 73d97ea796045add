"""Group samplers / aggregators (registered in mmengine's ROOT ``MODELS``)."""
from .ddl_aggregator import (BLIND_MODES, FUSION_LEVELS, MODES, ON_CONSTANT,
                             SCORE_MODES, ConstantScoresError, DDLAggregator)

__all__ = [
    'DDLAggregator', 'ConstantScoresError', 'MODES', 'SCORE_MODES',
    'BLIND_MODES', 'FUSION_LEVELS', 'ON_CONSTANT'
]
