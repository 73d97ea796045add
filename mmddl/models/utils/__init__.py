"""Model utilities: FLOP counting, strict sub-model checkpoint loading."""
from .checkpoint import load_submodule_checkpoint, submodule_state
from .flops import GFlopsCache, count_gflops

__all__ = [
    'GFlopsCache', 'count_gflops', 'load_submodule_checkpoint',
    'submodule_state'
]
