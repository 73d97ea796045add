"""Strict loading of sub-model checkpoints into a test-time wrapper."""
import re
from typing import Dict, List, Tuple

import torch
import torch.nn as nn
from mmengine.runner.checkpoint import CheckpointLoader


def _first(keys, n: int = 5) -> str:
    keys = sorted(keys)
    more = f' ... ({len(keys)} in all)' if len(keys) > n else ''
    return ', '.join(keys[:n]) + more


def submodule_state(state: Dict[str,
                                torch.Tensor], part: str, model: nn.Module,
                    filename: str) -> Dict[str, torch.Tensor]:
    """The entries of ``state`` for the wrapper's sub-model ``part``.

    A bare checkpoint of the sub-model (keys as the Runner saves them for the
    model alone) is taken as is; a wrapper checkpoint (keys ``<part>.*``,
    perhaps beside other sub-models' ``<name>.*``) gives its ``<part>.*``
    entries with the prefix removed. DDP's ``module.`` prefix is dropped.

    Args:
        state (dict): The checkpoint's state dict.
        part (str): The sub-model's attribute name in the wrapper, e.g.
            ``'base'``.
        model (nn.Module): The sub-model.
        filename (str): The checkpoint path (for the error message).

    Returns:
        dict: State dict with exactly the keys and shapes of ``model``.

    Raises:
        RuntimeError: Missing or unexpected keys, or shape mismatches.
    """
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    prefix = part + '.'
    if any(k.startswith(prefix) for k in state):
        state = {
            k[len(prefix):]: v
            for k, v in state.items() if k.startswith(prefix)
        }
    own = model.state_dict()
    missing = set(own) - set(state)
    unexpected = set(state) - set(own)
    shapes = [
        f'{k} {tuple(state[k].shape)} vs {tuple(v.shape)}'
        for k, v in own.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or shapes:
        problems = []
        if missing:
            problems.append(f'missing keys {_first(missing)}')
        if unexpected:
            problems.append(f'unexpected keys {_first(unexpected)}')
        if shapes:
            problems.append(f'shape mismatches {_first(shapes, 3)}')
        raise RuntimeError(
            f'{filename}: the checkpoint does not match the {part} '
            f'({type(model).__name__}): ' + '; '.join(problems) +
            f'. Expected the {part} alone (keys like '
            f'{_first(own, 2)}) or a wrapper checkpoint ({prefix}*).')
    return state


def wrapper_state(state: Dict[str, torch.Tensor], parts: Dict[str, nn.Module],
                  source: str) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """A state dict for a wrapper from a bare sub-model or wrapper one.

    A state dict with ``<part>.*`` keys is a wrapper's: each part in it must
    match its sub-model exactly. Otherwise it is a bare sub-model's: its
    keys must be exactly those of one part (tried in the order of
    ``parts``), and get that part's prefix. DDP's ``module.`` is dropped.

    Args:
        state (dict): Keys relative to the wrapper.
        parts (dict[str, nn.Module]): The sub-models by attribute name
            (None entries are skipped).
        source (str): Where the state dict comes from (for errors).

    Returns:
        tuple[dict, list[str]]: The state with ``<part>.*`` keys for every
        given part and the names of those parts.

    Raises:
        RuntimeError: A part does not match, keys of no part are left, or
            a bare state dict matches no part (the first part's mismatch is
            named).
    """
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    parts = {p: m for p, m in parts.items() if m is not None}
    given = [p for p in parts if any(k.startswith(p + '.') for k in state)]
    if not given:
        for part, model in parts.items():
            if set(state) == set(model.state_dict()):
                given = [part]
                break
        else:
            part = next(iter(parts))
            submodule_state(state, part, parts[part], source)
        sub = submodule_state(state, given[0], parts[given[0]], source)
        return {f'{given[0]}.{k}': v for k, v in sub.items()}, given
    out = {}
    for part in given:
        out.update({
            f'{part}.{k}': v
            for k, v in submodule_state(
                {
                    k: v
                    for k, v in state.items() if k.startswith(part + '.')
                }, part, parts[part], source).items()
        })
    rest = set(state) - set(out)
    if rest:
        raise RuntimeError(f'{source}: keys of no sub-model '
                           f'({", ".join(parts)}): {_first(rest)}')
    return out, given


def load_submodule_checkpoint(model: nn.Module, filename: str,
                              part: str) -> Dict:
    """Load ``filename`` into the wrapper's sub-model ``part`` strictly.

    Args:
        model (nn.Module): The sub-model.
        filename (str): Checkpoint path or URL (mmengine loaders).
        part (str): The sub-model's attribute name in the wrapper.

    Returns:
        dict: The checkpoint's ``meta`` (empty if it has none), e.g. a
        DDNet's provenance (:mod:`mmddl.models.utils.provenance`).

    Raises:
        RuntimeError: The checkpoint does not match (see
            :func:`submodule_state`).
    """
    ckpt = CheckpointLoader.load_checkpoint(filename, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise RuntimeError(f'{filename}: no state dict in the checkpoint')
    model.load_state_dict(
        submodule_state(state, part, model, filename), strict=True)
    meta = ckpt.get('meta') if 'state_dict' in ckpt else None
    return meta if isinstance(meta, dict) else {}
