"""Samplers: the P x K identity sampler of re-ID / face training."""
from .pk_sampler import PKSampler

__all__ = ['PKSampler']
