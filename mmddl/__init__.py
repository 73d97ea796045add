"""mmddl: Discriminability Distillation (DDL) for OpenMMLab codebases.

Importing it applies :mod:`mmddl.compat` first, then registers all modules.
"""
from .compat import apply_all as _apply_compat

_apply_compat()

from . import core, datasets, engine, evaluation, models  # noqa: E402,F401
from .version import __version__  # noqa: E402,F401

__all__ = ['__version__']
