"""Placeholder for the ``drn`` localizer package missing in mmaction2 1.2.0."""
import importlib.machinery
import importlib.util
import os.path as osp
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Optional, Sequence

LOCALIZERS = 'mmaction.models.localizers'
DRN_PACKAGE = LOCALIZERS + '.drn'
DRN_MODULE = DRN_PACKAGE + '.drn'


def _mmaction_version() -> str:
    try:
        from importlib.metadata import version
        return version('mmaction2')
    except Exception:  # metadata missing: the message just omits it
        return '(unknown version)'


def missing_message() -> str:
    """Return the error text used by the placeholder."""
    return (f'{DRN_PACKAGE} is missing from the installed mmaction2 '
            f'{_mmaction_version()} (its wheel and sdist do not ship that '
            'sub-package); mmddl.compat registered a placeholder so that the '
            'rest of mmaction.models imports. DRN cannot be used with this '
            'installation: install mmaction2 from its git repository, which '
            'contains mmaction/models/localizers/drn, to use it.')


def drn_is_missing(root_package: str = 'mmaction') -> Optional[bool]:
    """Tell whether the installed mmaction2 lacks the ``drn`` sub-package.

    Looks on disk with the regular path finder; imports nothing.

    Args:
        root_package (str): Top-level package to inspect (a parameter for
            tests).

    Returns:
        bool, optional: None if the package is not installed, True if
        ``<root>/models/localizers/drn`` is missing, False if it is present
        (or the placeholder/real module is already imported).
    """
    if f'{root_package}.models.localizers.drn' in sys.modules:
        return False
    try:
        spec = importlib.util.find_spec(root_package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    paths = [
        osp.join(root, 'models', 'localizers')
        for root in spec.submodule_search_locations
    ]
    return importlib.machinery.PathFinder.find_spec('drn', paths) is None


class _PlaceholderDRN:
    """Placeholder for mmaction2's DRN localizer (sub-package not installed).

    Raises:
        NotImplementedError: always, naming the missing package.
    """

    def __init__(self, *args, **kwargs) -> None:
        raise NotImplementedError(missing_message())


def _package_getattr(name: str):
    """Module ``__getattr__`` of the placeholder package: explain the gap."""
    if name.startswith('__') and name.endswith('__'):
        raise AttributeError(name)
    raise AttributeError(f'{DRN_PACKAGE}.{name}: {missing_message()}')


class _PlaceholderLoader:
    """Loader that fills the placeholder package and module."""

    def create_module(self, spec: ModuleSpec) -> None:
        return None  # default module creation

    def exec_module(self, module: ModuleType) -> None:
        module.__doc__ = missing_message()
        module.__mmddl_placeholder__ = True
        if module.__name__ == DRN_PACKAGE:
            module.__getattr__ = _package_getattr
            return
        drn_cls = type('DRN', (_PlaceholderDRN, ), {
            '__module__': DRN_MODULE,
            '__doc__': _PlaceholderDRN.__doc__
        })
        module.DRN = drn_cls
        module.__all__ = ['DRN']
        from mmaction.registry import MODELS
        if 'DRN' not in MODELS.module_dict:
            MODELS.register_module(name='DRN', module=drn_cls)


class DRNPlaceholderFinder:
    """Meta-path finder serving the placeholder ``drn`` package/module."""

    def find_spec(self,
                  fullname: str,
                  path: Optional[Sequence[str]],
                  target: Optional[ModuleType] = None) -> Optional[ModuleSpec]:
        if fullname not in (DRN_PACKAGE, DRN_MODULE):
            return None
        return importlib.util.spec_from_loader(
            fullname, _PlaceholderLoader(), is_package=fullname == DRN_PACKAGE)


def install() -> str:
    """Install the placeholder finder if mmaction2 lacks ``drn``.

    Must run before ``mmaction.models`` is first imported (a failed import is
    also recovered: Python removes the half-imported modules).

    Returns:
        str: A one-line status.
    """
    loaded = sys.modules.get(DRN_PACKAGE)
    if getattr(loaded, '__mmddl_placeholder__', False):
        return (f'applied: placeholder for missing {DRN_PACKAGE} '
                '(already loaded)')
    missing = drn_is_missing()
    if missing is None:
        return 'not needed: mmaction is not installed'
    if not missing:
        return f'not needed: {DRN_PACKAGE} is present'
    if not any(isinstance(f, DRNPlaceholderFinder) for f in sys.meta_path):
        sys.meta_path.append(DRNPlaceholderFinder())
    return f'applied: placeholder for missing {DRN_PACKAGE}'
