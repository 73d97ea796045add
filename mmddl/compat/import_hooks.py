"""Post-import hooks: run a callback right after a named module is imported."""
import sys
import threading
import warnings
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Callable, Dict, List, Optional, Sequence

Callback = Callable[[ModuleType], None]

_CALLBACKS: Dict[str, List[Callback]] = {}
_LOCK = threading.RLock()


def _run_callbacks(module: ModuleType,
                   callbacks: Optional[List[Callback]] = None) -> None:
    """Run ``callbacks`` (default: all registered for ``module``).

    A failing callback emits a RuntimeWarning instead of breaking the import.
    """
    if callbacks is None:
        with _LOCK:
            callbacks = list(_CALLBACKS.get(module.__name__, ()))
    for callback in callbacks:
        try:
            callback(module)
        except Exception as exc:  # a broken patch must not break the import
            warnings.warn(
                f'mmddl.compat: post-import hook {callback.__qualname__} '
                f'for {module.__name__} failed: {exc!r}; the compatibility '
                'fix it applies is NOT active.',
                RuntimeWarning,
                stacklevel=2)


class _HookedLoader:
    """Loader wrapper that calls the hooks after the wrapped loader ran.

    Args:
        inner (importlib.abc.Loader): The loader found by the regular import
            machinery.
    """

    def __init__(self, inner) -> None:
        self._inner = inner

    def create_module(self, spec: ModuleSpec) -> Optional[ModuleType]:
        create = getattr(self._inner, 'create_module', None)
        return None if create is None else create(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        # Hide the wrapper again: tools such as inspect/linecache use it.
        if getattr(module, '__loader__', None) is self:
            module.__loader__ = self._inner
        spec = getattr(module, '__spec__', None)
        if spec is not None and spec.loader is self:
            spec.loader = self._inner
        _run_callbacks(module)

    def __getattr__(self, name: str):
        return getattr(self._inner, name)


class _PostImportFinder:
    """Meta-path finder that wraps the loader of hooked module names."""

    def find_spec(self,
                  fullname: str,
                  path: Optional[Sequence[str]],
                  target: Optional[ModuleType] = None) -> Optional[ModuleSpec]:
        with _LOCK:
            if fullname not in _CALLBACKS:
                return None
        for finder in list(sys.meta_path):
            find = getattr(finder, 'find_spec', None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, 'exec_module'):
            return spec
        spec.loader = _HookedLoader(spec.loader)
        return spec


def _install_finder() -> None:
    if not any(isinstance(f, _PostImportFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _PostImportFinder())


def when_imported(module_name: str, callback: Callback) -> bool:
    """Run ``callback(module)`` once ``module_name`` is imported.

    If the module is already in ``sys.modules`` the callback runs now. The
    callback stays registered and runs again if the module is re-imported
    (e.g. after removal from ``sys.modules``), so it must be idempotent.
    Registering the same callback twice has no effect.

    Args:
        module_name (str): Fully qualified module name.
        callback (Callback): Called with the imported module object.

    Returns:
        bool: True if the callback ran immediately (module already
        imported).
    """
    with _LOCK:
        callbacks = _CALLBACKS.setdefault(module_name, [])
        if callback not in callbacks:
            callbacks.append(callback)
        _install_finder()
    module = sys.modules.get(module_name)
    if module is None:
        return False
    _run_callbacks(module, [callback])
    return True
