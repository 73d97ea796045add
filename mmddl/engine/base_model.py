"""The frozen base model of the discriminability pass: config, build, load."""
import copy
from typing import Any, Dict, Optional, Tuple, Union

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner.checkpoint import CheckpointLoader
from torch import nn


def base_model_cfg(base_config: Union[str, Dict, Config],
                   default_scope: Optional[str] = None
                   ) -> Tuple[Dict[str, Any], Optional[str]]:
    """The base model's config and the scope to build it in.

    Args:
        base_config (str | dict | Config): a config file or dict, either a
            full config with ``model`` (and ``default_scope``) or a model
            config.
        default_scope (str, optional): scope used when ``base_config`` has
            no ``default_scope``.

    Returns:
        Tuple[dict, str | None]: the model config and its scope.
    """
    cfg = Config.fromfile(base_config) if isinstance(base_config, str) \
        else base_config
    cfg = cfg.to_dict() if hasattr(cfg, 'to_dict') else copy.deepcopy(
        dict(cfg))
    scope = cfg.get('default_scope') or default_scope
    model_cfg = cfg['model'] if 'model' in cfg else cfg
    model_cfg = model_cfg.to_dict() if hasattr(model_cfg, 'to_dict') \
        else dict(model_cfg)
    model_cfg.pop('default_scope', None)
    if 'type' not in model_cfg:
        raise ValueError('base_config has no model type')
    return model_cfg, scope


def load_weights_strict(model: nn.Module, checkpoint: str) -> nn.Module:
    """Load ``checkpoint`` into ``model``; any missing or unexpected key
    raises.

    Args:
        model (nn.Module): the model.
        checkpoint (str): a checkpoint file or URL (``state_dict`` inside,
            or a bare state dict; ``module.`` prefixes are removed).

    Returns:
        nn.Module: ``model``.
    """
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{checkpoint}: holds no state dict')
    state = {k[7:] if k.startswith('module.') else k: v
             for k, v in state.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise RuntimeError(
            f'base checkpoint {checkpoint} does not match the base model: '
            f'missing keys {missing[:10]}, unexpected keys '
            f'{unexpected[:10]} ({len(missing)} / {len(unexpected)} in '
            'all)')
    return model


def build_base_model(model_cfg: Dict[str, Any], scope: Optional[str],
                     checkpoint: str,
                     device: Union[str, torch.device] = 'cpu') -> nn.Module:
    """Build the base model in ``scope``, load its weights strictly, eval.

    Args:
        model_cfg (dict): the model config (see :func:`base_model_cfg`).
        scope (str, optional): registry scope to build it in.
        checkpoint (str): the trained weights.
        device (str | torch.device): where to put the model.

    Returns:
        nn.Module: the model in eval mode.
    """
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(copy.deepcopy(model_cfg))
    return load_weights_strict(model, checkpoint).to(device).eval()


def model_device(model: nn.Module) -> torch.device:
    """Device of the first parameter (the CPU for a parameter-less model)."""
    param = next(iter(model.parameters()), None)
    return param.device if param is not None else torch.device('cpu')
