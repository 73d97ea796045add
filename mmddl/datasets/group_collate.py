"""Collate function for datasets whose items are groups of images."""
from typing import Any, Dict, List, Sequence

import numpy as np
import torch
from mmengine.registry import FUNCTIONS


def _stack_group(inputs: Any, index: int) -> torch.Tensor:
    """One group's images as a ``(n, C, H, W)`` tensor."""
    if isinstance(inputs, torch.Tensor):
        group = inputs
    elif isinstance(inputs, (list, tuple)):
        if not inputs:
            raise ValueError(f'group {index} of the batch has no images.')
        shapes = {tuple(t.shape) for t in inputs}
        if len(shapes) > 1:
            raise ValueError(f'group {index}: images of different sizes '
                             f'{sorted(shapes)}; resize them in the pipeline.')
        group = torch.stack([
            torch.as_tensor(np.asarray(t))
            if not isinstance(t, torch.Tensor) else t for t in inputs
        ])
    else:
        raise TypeError(f'group {index}: inputs must be a tensor or a list '
                        f'of (C, H, W) tensors, got {type(inputs).__name__}.')
    if group.dim() != 4 or group.shape[0] == 0:
        raise ValueError(f'group {index}: expected (n, C, H, W) images with '
                         f'n >= 1, got shape {tuple(group.shape)}.')
    return group


@FUNCTIONS.register_module()
def group_collate(data_batch: Sequence[Dict[str, Any]]) -> Dict[str, List]:
    """Collate packed groups: ``inputs`` -> list of ``(n_i, C, H, W)``.

    Use in a config as ``collate_fn=dict(type='group_collate')``. Each item
    is a dict from ``PackInputs`` whose ``inputs`` is a list of ``(C, H, W)``
    tensors (``PackInputs`` on a list of images) or a ``(n, C, H, W)``
    tensor.

    Args:
        data_batch (Sequence[dict]): Items with ``inputs`` and, optionally,
            ``data_samples``.

    Returns:
        dict: ``inputs`` (list of tensors, one per group) and
        ``data_samples`` (list, one per group) when the items have them.
    """
    if not data_batch:
        raise ValueError('group_collate got an empty batch.')
    out = dict(inputs=[
        _stack_group(item['inputs'], i) for i, item in enumerate(data_batch)
    ])
    if 'data_samples' in data_batch[0]:
        out['data_samples'] = [item['data_samples'] for item in data_batch]
    return out
