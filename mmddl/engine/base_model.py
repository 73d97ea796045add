"""The frozen base model of the discriminability pass: config, build, load."""
import copy
from typing import Any, Dict, Optional, Tuple, Union

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from torch import nn

from mmddl.models.utils import load_submodule_checkpoint, resolve_model_config


def base_model_cfg(base_config: Union[None, str, Dict, Config],
                   default_scope: Optional[str] = None,
                   checkpoint: Optional[str] = None,
                   name: str = 'base_config'
                   ) -> Tuple[Dict[str, Any], Optional[str]]:
    """The base model's config and the scope to build it in.

    Args:
        base_config (str | dict | Config | None): a config file (relative
            paths are relative to the current directory: write
            ``'{{ fileDirname }}/x.py'`` in a config), a package path
            (``'mmaction::...'``), a full config or a model config, or None
            for the config saved in ``checkpoint``'s meta.
        default_scope (str, optional): scope used when the config names
            none.
        checkpoint (str, optional): the base checkpoint (for None).
        name (str): what ``base_config`` is, for error messages.

    Returns:
        Tuple[dict, str | None]: the model config and its scope.
    """
    return resolve_model_config(base_config, checkpoint, name, default_scope)


def load_weights_strict(model: nn.Module, checkpoint: str) -> nn.Module:
    """Load ``checkpoint`` into ``model``; any missing or unexpected key
    raises, naming the file.

    Args:
        model (nn.Module): the model.
        checkpoint (str): a checkpoint file or URL (a bare state dict of
            the model, or a DDL wrapper's with ``base.*`` keys; ``module.``
            prefixes are removed).

    Returns:
        nn.Module: ``model``.
    """
    load_submodule_checkpoint(model, checkpoint, 'base')
    return model


def build_base_model(model_cfg: Dict[str, Any],
                     scope: Optional[str],
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
