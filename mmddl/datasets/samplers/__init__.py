"""Samplers: the P x K identity sampler of re-ID / face training and the
held-out split of DDNet training groups."""
from .group_split import GroupSplitSampler
from .pk_sampler import PKSampler

__all__ = ['GroupSplitSampler', 'PKSampler']
