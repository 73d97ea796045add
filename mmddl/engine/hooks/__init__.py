"""Runner hooks of mmddl."""
from .discriminability_hook import DiscriminabilityHook
from .epoch_seed_hook import EpochSeedHook

__all__ = ['DiscriminabilityHook', 'EpochSeedHook']
