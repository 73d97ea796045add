"""Runner hooks of mmddl."""
from .discriminability_hook import DiscriminabilityHook

__all__ = ['DiscriminabilityHook']
