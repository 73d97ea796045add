"""Compatibility fixes for the pinned OpenMMLab stack (``docs/compat.md``)."""
from typing import Dict

from . import (atomic_file_backend, checkpoint_load_errors, config_scope,
               drn_placeholder, mmcv_lite_warning, pkg_resources_fallback,
               safe_checkpoint)
from .safe_checkpoint import mmengine_checkpoint_globals, mmengine_safe_globals

__all__ = ['apply_all', 'mmengine_checkpoint_globals', 'mmengine_safe_globals']

_STATUS: Dict[str, str] = {}


def apply_all() -> Dict[str, str]:
    """Apply every compatibility fix that the installed stack needs.

    Idempotent: later calls return the first call's status.

    Returns:
        Dict[str, str]: Fix name -> status line (``applied: ...`` or
        ``not needed: ...``).
    """
    if not _STATUS:
        _STATUS['drn_placeholder'] = drn_placeholder.install()
        _STATUS['pkg_resources_fallback'] = pkg_resources_fallback.install()
        _STATUS['safe_checkpoint'] = safe_checkpoint.install()
        _STATUS['checkpoint_load_errors'] = checkpoint_load_errors.install()
        _STATUS['atomic_file_backend'] = atomic_file_backend.install()
        _STATUS['config_scope'] = config_scope.install()
        _STATUS['mmcv_lite_warning'] = mmcv_lite_warning.install()
    return dict(_STATUS)
