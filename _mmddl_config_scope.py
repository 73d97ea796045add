"""Interpreter-start hook of ``mmddl-config-scope.pth`` (written by setup.py).

mmaction2's and mmpretrain's own ``tools/train.py`` / ``tools/test.py`` parse
the config before anything imports mmddl, and mmengine resolves ``pkg::``
bases only for the packages of its fixed ``MODULE2PACKAGE`` table. At start-up
this module only puts a finder on ``sys.meta_path`` (it imports nothing);
when a process imports ``mmengine.config.config``, the finder runs
``mmddl/compat/config_scope.py``'s ``patch`` on it, so ``_base_ =
['mmddl::...']`` resolves in every process. See docs/plugin_guide.md.
"""
import sys

CONFIG_MODULE = 'mmengine.config.config'
MARK = '_mmddl_config_scope'


def _patch(module) -> None:
    """Run ``mmddl/compat/config_scope.py`` standalone; patch ``module``."""
    import importlib.util
    import os.path as osp
    spec = importlib.util.find_spec('mmddl')  # locates, does not import
    if spec is None or not spec.submodule_search_locations:
        return  # mmddl is being uninstalled: nothing to resolve
    path = osp.join(spec.submodule_search_locations[0], 'compat',
                    'config_scope.py')
    impl_spec = importlib.util.spec_from_file_location(
        '_mmddl_config_scope_impl', path)
    impl = importlib.util.module_from_spec(impl_spec)
    impl_spec.loader.exec_module(impl)
    impl.patch(module)


class _Loader:
    """Runs the wrapped loader, then :func:`_patch` on the module."""

    def __init__(self, inner) -> None:
        self._inner = inner

    def create_module(self, spec):
        create = getattr(self._inner, 'create_module', None)
        return None if create is None else create(spec)

    def exec_module(self, module) -> None:
        self._inner.exec_module(module)
        if getattr(module, '__loader__', None) is self:
            module.__loader__ = self._inner
        if getattr(module.__spec__, 'loader', None) is self:
            module.__spec__.loader = self._inner
        try:
            _patch(module)
        except Exception as exc:  # a failed patch must not break mmengine
            import warnings
            warnings.warn(
                f'mmddl: mmddl:: config paths are not available ({exc!r})',
                RuntimeWarning)

    def __getattr__(self, name: str):
        return getattr(self._inner, name)


class _Finder:
    """Wraps the loader of ``mmengine.config.config`` (other names: None)."""

    _mmddl_config_scope = True
    _active = False  # other delegating finders may call back into this one

    def find_spec(self, fullname, path=None, target=None):
        if fullname != CONFIG_MODULE or _Finder._active:
            return None
        _Finder._active = True
        try:
            for finder in list(sys.meta_path):
                find = getattr(finder, 'find_spec', None)
                if find is None or getattr(finder, MARK, False):
                    continue
                spec = find(fullname, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            _Finder._active = False
        if hasattr(spec.loader, 'exec_module'):
            spec.loader = _Loader(spec.loader)
        return spec


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once per process)."""
    if not any(getattr(f, MARK, False) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
