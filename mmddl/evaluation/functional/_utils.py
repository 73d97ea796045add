"""Input coercion shared by the functional metrics (numpy / torch / lists)."""
from typing import Any

import numpy as np


def to_numpy(x: Any, name: str, ndim: int = 1, dtype=None) -> np.ndarray:
    """Convert ``x`` (array, tensor, list) to a numpy array of ``ndim`` dims.

    Args:
        x (Any): Array-like or ``torch.Tensor``.
        name (str): Argument name used in error messages.
        ndim (int): Required number of dimensions.
        dtype (np.dtype, optional): Numpy dtype to cast to.

    Returns:
        np.ndarray: The converted array.

    Raises:
        ValueError: If the array has the wrong number of dimensions.
    """
    if hasattr(x, 'detach'):  # torch.Tensor without importing torch here
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    if arr.ndim != ndim:
        raise ValueError(f'`{name}` must be {ndim}-D, got shape {arr.shape}.')
    return arr


def to_binary_labels(x: Any, name: str = 'labels') -> np.ndarray:
    """Convert a 1-D label vector to bool, requiring values in {0, 1}.

    Args:
        x (Any): Array-like of 0/1 or bool.
        name (str): Argument name used in error messages.

    Returns:
        np.ndarray: Bool array.

    Raises:
        ValueError: If any value is not 0/1.
    """
    arr = to_numpy(x, name)
    if arr.dtype != bool:
        bad = ~np.isin(arr, (0, 1))
        if bad.any():
            raise ValueError(
                f'`{name}` must contain only 0/1 (or bool); found '
                f'{arr[bad][:5].tolist()} at positions '
                f'{np.flatnonzero(bad)[:5].tolist()}.')
        arr = arr.astype(bool)
    return arr


def check_same_length(**arrays: np.ndarray) -> None:
    """Raise a clear error unless all given arrays have the same length."""
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f'Length mismatch: {lengths}.')


class NonFiniteError(ValueError):
    """An array (a prediction, a score) holds NaN or inf."""


#: What to check when a model output is not finite.
NON_FINITE_HINT = ('a metric cannot score NaN / inf: check the model '
                   'weights (base and DDNet checkpoints, e.g. a diverged '
                   'training run) and the inputs of this sample')


def check_finite(arr: Any, name: str, where: str = '', hint: str = '') -> None:
    """Raise :class:`NonFiniteError` if ``arr`` contains NaN or inf.

    Args:
        arr (Any): Array-like or ``torch.Tensor`` to check.
        name (str): Argument or field name used in the message.
        where (str): Which sample / group it belongs to, e.g.
            ``"video 'a.mp4'"``. Defaults to ''.
        hint (str): What to check, appended to the message. Defaults to ''.
    """
    if hasattr(arr, 'detach'):
        arr = arr.detach().cpu().numpy()
    arr = np.asarray(arr, dtype=np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        nan = int(np.isnan(arr).sum())
        raise NonFiniteError(
            f'`{name}`{" of " + where if where else ""} holds non-finite '
            f'values: {nan} NaN and {int(bad.sum()) - nan} inf of '
            f'{arr.size} (first '
            f'at flat positions {np.flatnonzero(bad)[:5].tolist()})'
            f'{"; " + hint if hint else ""}.')
