"""Compatibility fixes for the OpenMMLab stack mmddl runs on (README).

``import mmddl`` calls :func:`apply_all` before anything else. It is cheap
(imports neither torch nor mmaction: patches of modules that need them are
deferred with post-import hooks, :mod:`.import_hooks`) and idempotent. It
returns ``{fix name: status line}``; each status starts with ``applied`` or
``not needed``. Verified with torch 2.14.1, mmengine 0.10.7, mmaction2 1.2.0,
mmpretrain 1.2.0, numpy 2.x, setuptools 79.

1. ``drn_placeholder`` (:mod:`.drn_placeholder`)
   Cause: mmaction2 1.2.0's ``mmaction/models/localizers/__init__.py`` runs
   ``from .drn.drn import DRN`` but the wheel/sdist lack the ``drn``
   sub-package, so ``import mmaction.models`` raises
   ``ModuleNotFoundError: No module named 'mmaction.models.localizers.drn'``.
   Fix: a finder at the end of ``sys.meta_path`` serves a placeholder package
   whose ``DRN`` (registered in mmaction's MODELS) raises
   ``NotImplementedError`` naming the missing package when built.
   Not needed when ``<mmaction>/models/localizers/drn`` exists (checked on
   disk without importing); then nothing is installed.

2. ``pkg_resources_fallback`` (:mod:`.pkg_resources_fallback`)
   Cause: mmengine 0.10.7 resolves ``mmaction::``/``mmpretrain::`` config
   paths (``_base_``, ``Config.fromfile``, ``mmengine.hub``) through
   ``pkg_resources``, absent when setuptools is missing or too new.
   Fix: ``is_installed``/``get_installed_path``/``package2module`` of
   ``mmengine.utils.package_utils`` (and their re-exports) are replaced by
   ``importlib.metadata`` versions.
   Not needed when ``importlib.util.find_spec('pkg_resources')`` finds it
   (setuptools < 80 is pinned in requirements); then nothing is patched.

3. ``safe_checkpoint`` (:mod:`.safe_checkpoint`)
   Cause: torch >= 2.6 loads with ``weights_only=True`` by default; mmengine
   0.10.7's ``load_checkpoint`` / ``Runner(resume=True, load_from=...)``
   fail on the Runner's own checkpoints (``Weights only load failed``)
   because they contain HistoryBuffer, numpy arrays/scalars/dtypes and
   ``builtins.getattr`` (HistoryBuffer pickles its statistics methods as
   ``getattr(HistoryBuffer, 'min')``).
   Fix: ``CheckpointLoader.load_checkpoint`` runs inside a ``safe_globals``
   context allowing exactly those types; ``builtins.getattr`` is mapped to a
   restricted function that only resolves HistoryBuffer's statistics
   methods. weights_only stays on: other globals (e.g. ``os.system``) are
   still refused. Use :func:`mmengine_checkpoint_globals` around your own
   ``torch.load`` of such files.
   Not needed on torch < 2.6 (checked from package metadata); then nothing
   is hooked.

How to tell a fix is not needed on a new stack: the status of
``apply_all()`` says ``not needed``; or run without mmddl
``python -c "import mmaction.models"`` (fix 1), ``Config.fromfile`` of a
config with ``_base_ = ['mmaction::...']`` in an env without pkg_resources
(fix 2), and mmengine's ``load_checkpoint`` on a Runner checkpoint (fix 3).
The tests in ``tests/test_compat`` run exactly these checks.
"""
from typing import Dict

from . import drn_placeholder, pkg_resources_fallback, safe_checkpoint
from .safe_checkpoint import mmengine_checkpoint_globals, mmengine_safe_globals

__all__ = ['apply_all', 'mmengine_checkpoint_globals', 'mmengine_safe_globals']

_STATUS: Dict[str, str] = {}


def apply_all() -> Dict[str, str]:
    """Apply every compatibility fix that the installed stack needs.

    Idempotent: later calls return the first call's status.

    Returns:
        Mapping fix name -> status line (``applied: ...``/``not needed: ...``).
    """
    if not _STATUS:
        _STATUS['drn_placeholder'] = drn_placeholder.install()
        _STATUS['pkg_resources_fallback'] = pkg_resources_fallback.install()
        _STATUS['safe_checkpoint'] = safe_checkpoint.install()
    return dict(_STATUS)
