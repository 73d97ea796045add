"""mmddl: Discriminability Distillation (DDL, ECCV 2020) for OpenMMLab codebases.

``import mmddl`` first applies the compatibility fixes of :mod:`mmddl.compat`
(they must run before ``mmaction.models`` is imported), then imports every
module that registers components into the OpenMMLab registries.
"""
from .compat import apply_all as _apply_compat

_apply_compat()

from . import core, datasets, engine, evaluation, models  # noqa: E402,F401
from .version import __version__  # noqa: E402,F401

__all__ = ['__version__']
