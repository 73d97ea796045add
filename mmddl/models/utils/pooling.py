"""Global average pooling of backbone / neck outputs to ``(N, C)``."""
from typing import Sequence, Union

from torch import Tensor


def global_pool(x: Tensor) -> Tensor:
    """Average over every dimension after the channel one.

    (N, C, ...) -> (N, C); (N, C) is returned as is.

    Args:
        x (Tensor): A feature tensor (N, C, ...).

    Returns:
        Tensor: (N, C).
    """
    if not isinstance(x, Tensor):
        raise TypeError(f'expected a feature tensor, got {type(x).__name__}')
    if x.dim() < 2:
        raise ValueError(f'cannot pool a feature of shape {tuple(x.shape)}: '
                         'need (N, C, ...)')
    if x.dim() == 2:
        return x
    return x.flatten(2).mean(2)


def pool_last(feats: Union[Tensor, Sequence[Tensor]]) -> Tensor:
    """The feature (the last one of a tuple of stage outputs), globally
    average-pooled to ``(N, C)`` (:func:`global_pool`).

    Args:
        feats (Tensor | Sequence[Tensor]): A tensor or a tuple of tensors.

    Returns:
        Tensor: (N, C).
    """
    if isinstance(feats, (tuple, list)):
        feats = feats[-1]
    return global_pool(feats)
