"""Resolve a model reference (file, package path, dict, or a checkpoint's
saved config) into a model config and the scope to build it in."""
import copy
import os
import os.path as osp
from typing import Any, Dict, Optional, Tuple, Union

from mmengine.config import Config
from mmengine.runner.checkpoint import CheckpointLoader

from .stored_config import StoredConfigError, parse_stored_config

ModelRef = Union[None, str, dict, Config]


def _to_dict(cfg: Any) -> dict:
    return cfg.to_dict() if hasattr(cfg, 'to_dict') else copy.deepcopy(
        dict(cfg))


def config_file(path: str, name: str = 'base') -> Tuple[str, Optional[str]]:
    """The file behind a config reference and its package scope.

    Args:
        path (str): ``package::rel/path.py`` (an installed OpenMMLab
            package's config, as in ``_base_``) or a file path. A relative
            path is relative to the current directory: in a config write
            ``'{{ fileDirname }}/x.py'`` to make it relative to that config.
        name (str): What the reference is, for error messages.

    Returns:
        tuple[str, str | None]: Absolute file path, package scope or None.

    Raises:
        FileNotFoundError: The file does not exist (its path is named).
    """
    if '::' in path:
        try:
            return Config._get_cfg_path(path, '')
        except (FileNotFoundError, ValueError, AssertionError,
                ModuleNotFoundError) as err:
            raise FileNotFoundError(
                f'{name}: package config {path!r} not found ({err})') from err
    full = osp.abspath(osp.expanduser(path))
    if not osp.isfile(full):
        hint = '' if osp.isabs(path) else (
            f' (relative to the current directory {os.getcwd()}; in a '
            "config write '{{ fileDirname }}/...' to make a path relative "
            'to that config file)')
        raise FileNotFoundError(f'{name}: config file {full} not found'
                                f'{hint}')
    return full, None


def checkpoint_config(checkpoint: str, name: str = 'base') -> Config:
    """The config saved in a checkpoint's ``meta['cfg']``.

    mmengine's Runner saves its whole config there (after the command
    line's ``--cfg-options`` were merged), so the model is rebuilt exactly
    as it was trained. The text is read as data
    (:func:`~mmddl.models.utils.stored_config.parse_stored_config`), never
    executed: a checkpoint is data.

    Args:
        checkpoint (str): Checkpoint path or URL.
        name (str): What the checkpoint is for, for error messages.

    Returns:
        Config: The saved config.

    Raises:
        ValueError: The checkpoint holds no saved config, or one that is
            not plain data (:class:`StoredConfigError`, naming the line).
    """
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
    text = meta.get('cfg') if isinstance(meta, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise ValueError(
            f'{name}: no model config given and {checkpoint} holds no saved '
            "config (meta['cfg'], written by mmengine's Runner); set "
            f'{name} to a config file, a package path or a model dict.')
    try:
        return Config(parse_stored_config(text, f"{checkpoint} meta['cfg']"))
    except StoredConfigError as err:
        raise StoredConfigError(
            f'{name}: {err}. Pass the model config instead (a config file, '
            f'a package path or a model dict as {name}).') from None


def resolve_model_config(ref: ModelRef,
                         checkpoint: Optional[str] = None,
                         name: str = 'base',
                         default_scope: Optional[str] = None
                         ) -> Tuple[Dict[str, Any], Optional[str]]:
    """A model config and its scope from any form of model reference.

    Args:
        ref (str | dict | Config | None): A config file (see
            :func:`config_file`), a package path such as
            ``'mmaction::recognition/i3d/x.py'``, a full config (with
            ``model``) or a model config (with ``type``), or None: the
            config saved in ``checkpoint`` (see :func:`checkpoint_config`).
        checkpoint (str, optional): The model's checkpoint (used when
            ``ref`` is None).
        name (str): What the reference is, for error messages.
        default_scope (str, optional): Scope when the config names none.

    Returns:
        tuple[dict, str | None]: The model config and its scope.

    Raises:
        FileNotFoundError: A named config file does not exist.
        ValueError: Nothing to resolve, or no model type in the config.
    """
    scope = None
    if ref is None:
        if not checkpoint:
            raise ValueError(
                f'{name}: give a model config (file, package path or dict) '
                f'or a {name} checkpoint whose meta holds its config.')
        ref = checkpoint_config(checkpoint, name)
    elif isinstance(ref, str):
        path, scope = config_file(ref, name)
        ref = Config.fromfile(path)
    elif not isinstance(ref, (dict, Config)):
        raise TypeError(f'{name} must be a config file, a package path, a '
                        f'config dict or None, got {type(ref).__name__}')
    cfg = _to_dict(ref)
    scope = cfg.get('default_scope') or scope or default_scope
    model = _to_dict(cfg['model']) if 'model' in cfg else cfg
    model.pop('default_scope', None)
    if 'type' not in model:
        raise ValueError(f'{name}: the config has no model type (neither '
                         "`model=dict(type=...)` nor a model dict's type)")
    return model, scope
