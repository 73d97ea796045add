"""Model utilities."""
from .flops import GFlopsCache, count_gflops

__all__ = ['GFlopsCache', 'count_gflops']
