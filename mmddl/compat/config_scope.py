"""``mmddl::`` config paths in ``_base_`` and model references.

Standard library only at module level: the ``.pth`` start-up hook runs it.
"""
import importlib.util
import os.path as osp
import sys
from types import ModuleType
from typing import Optional, Tuple

SCOPE = 'mmddl'
PREFIX = SCOPE + '::'
CONFIG_MODULE = 'mmengine.config.config'
#: Marks the patched ``_get_cfg_path``: one patch per process, also when
#: this file runs twice (standalone and as mmddl.compat's module).
MARK = '_mmddl_config_scope'


def configs_root() -> str:
    """The folder that ``mmddl::`` paths are relative to.

    ``<mmddl>/.mim/configs`` (wheels, editable installs: setup.py makes it),
    else the ``configs`` folder beside the package (a plain checkout).

    Raises:
        ModuleNotFoundError: If the mmddl package cannot be found.
        FileNotFoundError: If neither folder exists.
    """
    module = sys.modules.get(SCOPE)
    locations = list(getattr(module, '__path__', None) or [])
    if not locations:
        spec = importlib.util.find_spec(SCOPE)  # locates, does not import
        if spec is None or not spec.submodule_search_locations:
            raise ModuleNotFoundError(
                'mmddl:: config paths need the mmddl package, which is not '
                'importable here (pip install mmddl)')
        locations = list(spec.submodule_search_locations)
    package = locations[0]
    candidates = (osp.join(package, '.mim', 'configs'),
                  osp.join(osp.dirname(package), 'configs'))
    for root in candidates:
        if osp.isdir(root):
            return osp.realpath(root)  # editable installs: the source tree
    raise FileNotFoundError(
        f'mmddl:: config paths: none of {list(candidates)} exists; reinstall '
        'mmddl (its build puts the configs in mmddl/.mim/configs)')


def resolve(cfg_path: str) -> str:
    """Return the file of an ``mmddl::`` config path.

    Args:
        cfg_path (str): ``'mmddl::rel/path.py'``, relative to
            :func:`configs_root` (the repository's ``configs/``).

    Raises:
        ValueError: If the path is absolute or leaves the configs folder.
        FileNotFoundError: If no such config is shipped (names both paths).
    """
    rel = cfg_path[len(PREFIX):]
    root = configs_root()
    path = osp.normpath(osp.join(root, rel))
    if osp.isabs(rel) or not path.startswith(osp.normpath(root) + osp.sep):
        raise ValueError(
            f'{cfg_path!r}: an mmddl:: path is relative to the configs '
            f'mmddl ships ({root}) and must stay inside that folder')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{cfg_path!r}: mmddl ships no such config ({path} does not '
            f'exist; the shipped configs are under {root})')
    return path


def patch(config_module: ModuleType) -> None:
    """Make ``Config._get_cfg_path`` resolve ``mmddl::`` paths.

    Other paths go to mmengine's own function unchanged. An ``mmddl::`` base
    gets no ``_scope_`` (like a relative base): mmddl registers its modules
    in mmaction2's and mmpretrain's registries and has no scope of its own.

    Args:
        config_module (ModuleType): ``mmengine.config.config``.
    """
    config_cls = config_module.Config
    original = config_cls.__dict__['_get_cfg_path'].__func__
    if getattr(original, MARK, False):
        return

    def _get_cfg_path(cfg_path: str,
                      filename: str) -> Tuple[str, Optional[str]]:
        if isinstance(cfg_path, str) and cfg_path.startswith(PREFIX):
            return resolve(cfg_path), None
        return original(cfg_path, filename)

    setattr(_get_cfg_path, MARK, True)
    _get_cfg_path.__wrapped__ = original
    _get_cfg_path.__doc__ = original.__doc__
    config_cls._get_cfg_path = staticmethod(_get_cfg_path)


def install() -> str:
    """Patch mmengine's ``Config`` now, or when it is first imported.

    Idempotent; the ``.pth`` hook may have patched it already.

    Returns:
        str: A one-line status.
    """
    module = sys.modules.get(CONFIG_MODULE)
    if module is not None and hasattr(module, 'Config'):
        patch(module)
        when = 'now (mmengine.config was imported)'
    else:
        from .import_hooks import when_imported  # not when run standalone
        when_imported(CONFIG_MODULE, patch)
        when = 'when mmengine.config is imported'
    return (f'applied: Config._get_cfg_path resolves {PREFIX} paths, '
            f'patched {when}')
