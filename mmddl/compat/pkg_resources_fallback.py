"""``importlib.metadata`` replacements for mmengine's ``pkg_resources`` use."""
import importlib.util
import os.path as osp
import sys
from types import ModuleType

from .import_hooks import when_imported

PACKAGE_UTILS = 'mmengine.utils.package_utils'
_PATCHED_NAMES = ('is_installed', 'get_installed_path', 'package2module')


def pkg_resources_available() -> bool:
    """Tell whether ``import pkg_resources`` can work (does not import it)."""
    try:
        return importlib.util.find_spec('pkg_resources') is not None
    except (ImportError, ValueError):
        return False


def is_installed(package: str) -> bool:
    """Check whether a distribution (or an importable module) is installed.

    Args:
        package (str): Distribution name (e.g. ``mmaction2``) or module name.
    """
    from importlib import metadata  # lazy: costs ~50 ms to import
    try:
        metadata.distribution(package)
        return True
    except metadata.PackageNotFoundError:
        spec = importlib.util.find_spec(package)
        return spec is not None and spec.origin is not None


def package2module(package: str) -> str:
    """Infer the top-level module name of a distribution.

    Args:
        package (str): Distribution name, e.g. ``mmaction2`` -> ``mmaction``.

    Raises:
        ValueError: If the distribution declares no top-level module.
    """
    from importlib import metadata  # lazy: costs ~50 ms to import
    dist = metadata.distribution(package)
    top_level = dist.read_text('top_level.txt')
    if top_level and top_level.strip():
        return top_level.split('\n')[0]
    # Wheels built without setuptools have no top_level.txt.
    wanted = dist.metadata['Name']
    for module, dists in metadata.packages_distributions().items():
        if wanted in dists and not module.startswith('_'):
            return module
    raise ValueError(f'can not infer the module name of {package}')


def get_installed_path(package: str) -> str:
    """Get the installed directory of a package.

    Args:
        package (str): Distribution name or module name.

    Raises:
        PackageNotFoundError: If neither a distribution nor a module exists.
        RuntimeError: If ``package`` is a namespace package.
    """
    from importlib import metadata  # lazy: costs ~50 ms to import
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        spec = importlib.util.find_spec(package)
        if spec is None:
            raise
        if spec.origin is None:
            raise RuntimeError(
                f'{package} is a namespace package, which is invalid '
                'for `get_install_path`')
        return osp.dirname(spec.origin)
    location = str(dist.locate_file(''))
    possible_path = osp.join(location, package)
    if osp.exists(possible_path):
        return possible_path
    module = package2module(package)
    module_path = osp.join(location, module)
    if osp.exists(module_path):
        return module_path
    # Editable installs: the metadata lives apart from the sources.
    spec = importlib.util.find_spec(module)
    if spec is not None and spec.origin is not None:
        return osp.dirname(spec.origin)
    return module_path


_REPLACEMENTS = {
    'is_installed': is_installed,
    'get_installed_path': get_installed_path,
    'package2module': package2module,
}


def _patch(package_utils: ModuleType) -> None:
    """Swap the functions in ``package_utils`` and in its re-exporters."""
    originals = {}
    for name in _PATCHED_NAMES:
        current = getattr(package_utils, name, None)
        if current is not None and current is not _REPLACEMENTS[name]:
            originals[name] = current
        setattr(package_utils, name, _REPLACEMENTS[name])
    if not originals:
        return
    for mod_name, module in list(sys.modules.items()):
        if module is None or not mod_name.startswith('mmengine'):
            continue
        for name, original in originals.items():
            if getattr(module, name, None) is original:
                setattr(module, name, _REPLACEMENTS[name])


def install() -> str:
    """Patch mmengine's package utilities if ``pkg_resources`` is missing.

    Deferred until ``mmengine.utils.package_utils`` is imported (immediate if
    it already is).

    Returns:
        str: A one-line status.
    """
    if pkg_resources_available():
        return 'not needed: pkg_resources is importable'
    when_imported(PACKAGE_UTILS, _patch)
    return ('applied: importlib.metadata replaces pkg_resources in '
            f'{PACKAGE_UTILS}')
