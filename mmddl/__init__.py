"""mmddl: Discriminability Distillation (DDL) for OpenMMLab codebases.

Importing it checks mmcv, applies :mod:`mmddl.compat`, then registers all.
"""
from .version import __version__, check_mmcv

check_mmcv()

from .compat import apply_all as _apply_compat  # noqa: E402

_apply_compat()

from . import core, datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__']
