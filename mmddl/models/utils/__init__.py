"""Model utilities: FLOP counting, strict sub-model checkpoint loading,
model config resolution."""
from .base_config import checkpoint_config, config_file, resolve_model_config
from .checkpoint import (load_submodule_checkpoint, submodule_state,
                         wrapper_state)
from .flops import GFlopsCache, count_gflops

__all__ = [
    'GFlopsCache', 'checkpoint_config', 'config_file', 'count_gflops',
    'load_submodule_checkpoint', 'resolve_model_config', 'submodule_state',
    'wrapper_state'
]
