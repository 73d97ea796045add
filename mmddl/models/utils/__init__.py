"""Model utilities: FLOP counting, strict sub-model checkpoint loading,
model config resolution, DDNet provenance."""
from .base_config import checkpoint_config, config_file, resolve_model_config
from .checkpoint import (load_submodule_checkpoint, submodule_state,
                         wrapper_state)
from .flops import GFlopsCache, count_gflops
from .provenance import (PROVENANCE_KEY, InputShapes, ProvenanceCheck,
                         ProvenanceError, make_provenance)

__all__ = [
    'GFlopsCache', 'InputShapes', 'PROVENANCE_KEY', 'ProvenanceCheck',
    'ProvenanceError', 'checkpoint_config', 'config_file', 'count_gflops',
    'load_submodule_checkpoint', 'make_provenance', 'resolve_model_config',
    'submodule_state', 'wrapper_state'
]
