"""Version of mmddl and the mmcv range (full or lite) it runs with."""
import importlib.util
import os.path as osp
import re
from typing import Optional, Tuple

__version__ = '0.1.0'

#: mmcv releases mmddl runs with: mmcv 1.x has another API, and mmaction2
#: 1.2.0 asserts ``mmcv < 2.2.0``. Full mmcv and mmcv-lite both qualify.
MMCV_MIN = '2.0.0'
MMCV_MAX = '2.2.0'
MMCV_HINT = (f"install one of them: pip install 'mmcv-lite>={MMCV_MIN},"
             f"<{MMCV_MAX}' (no compiled ops, enough for mmddl), or mim "
             f"install 'mmcv>={MMCV_MIN},<{MMCV_MAX}'")


def _release(text: str) -> Tuple[int, ...]:
    """Leading numeric release of a version string (``2.0.0rc4`` -> 2,0,0)."""
    found = re.match(r'\s*(\d+(?:\.\d+)*)', text)
    if found is None:
        raise ValueError(f'cannot read a version number from {text!r}')
    return tuple(int(x) for x in found.group(1).split('.'))


def installed_mmcv_version() -> Optional[str]:
    """Version of the ``mmcv`` module on the path, without importing it.

    Reads ``mmcv/version.py`` of whichever distribution provides the module
    (``mmcv`` or ``mmcv-lite``).

    Returns:
        Optional[str]: The version, or None if no ``mmcv`` module is found.
    """
    spec = importlib.util.find_spec('mmcv')
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        path = osp.join(root, 'version.py')
        if osp.isfile(path):
            with open(path, encoding='utf-8') as f:
                found = re.search(r"__version__\s*=\s*['\"]([^'\"]+)",
                                  f.read())
            if found:
                return found.group(1)
    raise ImportError(
        f'mmcv is importable from {list(spec.submodule_search_locations)} '
        'but has no readable mmcv/version.py; reinstall mmcv or mmcv-lite')


def check_mmcv(version: Optional[str] = None) -> str:
    """Check that a usable mmcv (full or lite) is installed.

    Args:
        version (str, optional): Version to check; default: the installed
            one (:func:`installed_mmcv_version`).

    Returns:
        str: The accepted version.

    Raises:
        ImportError: If mmcv is missing or outside ``[MMCV_MIN, MMCV_MAX)``.
    """
    if version is None:
        version = installed_mmcv_version()
    if version is None:
        raise ImportError(
            'mmddl needs mmcv (full) or mmcv-lite, and neither is '
            f'installed; {MMCV_HINT}')
    if not _release(MMCV_MIN) <= _release(version) < _release(MMCV_MAX):
        raise ImportError(
            f'mmcv {version} is installed, but mmddl needs '
            f'>={MMCV_MIN},<{MMCV_MAX} (mmaction2 1.2.0 rejects 2.2.0 and '
            f'later; 1.x has another API); {MMCV_HINT}')
    return version
