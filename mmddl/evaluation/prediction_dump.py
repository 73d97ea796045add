"""Read ``tools/test.py --dump`` prediction pickles with an allow-list
unpickler: containers, numpy arrays and tensors only; no code runs."""
import io
import pickle
from typing import Any, Callable, Dict, Tuple

#: Tensor dtypes a dump may name (``torch.float32`` ...).
_TORCH_DTYPES = ('float16', 'bfloat16', 'float32', 'float64', 'uint8',
                 'int8', 'int16', 'int32', 'int64', 'bool', 'complex64',
                 'complex128')


def _storage_from_bytes(data: bytes) -> Any:
    """``torch.storage._load_from_bytes`` through torch's weights-only
    loader (the original calls ``torch.load(weights_only=False)``)."""
    import torch
    return torch.load(io.BytesIO(data), weights_only=True)


def _latin1_bytes(text: str, encoding: str = 'latin1') -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it for ``bytes``."""
    if encoding != 'latin1':
        raise pickle.UnpicklingError(f'refused _codecs.encode(..., '
                                     f'{encoding!r}) in a prediction dump')
    return text.encode('latin1')


def _allowed() -> Dict[Tuple[str, str], Callable]:
    """``{(module, name): object}`` a prediction dump may reference."""
    import collections

    import torch
    import torch._utils

    from mmddl.compat.safe_checkpoint import _numpy_globals
    out: Dict[Tuple[str, str], Callable] = {
        ('collections', 'OrderedDict'): collections.OrderedDict,
        ('_codecs', 'encode'): _latin1_bytes,
        ('torch._utils', '_rebuild_tensor_v2'):
        torch._utils._rebuild_tensor_v2,
        ('torch.storage', '_load_from_bytes'): _storage_from_bytes,
        ('torch', 'Size'): torch.Size,
        ('torch', 'device'): torch.device,
    }
    for name in _TORCH_DTYPES:
        out[('torch', name)] = getattr(torch, name)
    for entry in _numpy_globals():
        obj, full = entry if isinstance(entry, tuple) else (
            entry, f'{entry.__module__}.{entry.__name__}')
        module, _, name = full.rpartition('.')
        out[(module, name)] = obj
    return out


class RefusedPickleError(pickle.UnpicklingError):
    """A dump references a type or function outside the allow-list."""


class _AllowListUnpickler(pickle.Unpickler):

    def __init__(self, file, source: str) -> None:
        super().__init__(file)
        self.source = source
        self.allowed = _allowed()

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise RefusedPickleError(
                f'{self.source}: refused {module}.{name} (a prediction dump '
                'may hold containers, numbers, strings, numpy arrays and '
                'tensors only; mmddl never runs code from a data file)'
            ) from None


def load_prediction_dump(path: str) -> list:
    """The predicted data samples that ``tools/test.py --dump`` (mmengine's
    ``DumpResults``) wrote, read without running code from the file.

    Args:
        path (str): The ``.pkl`` file.

    Returns:
        list: One dict per sample.

    Raises:
        RefusedPickleError: The file references anything but the allowed
            types (an ``UnpicklingError`` naming the file and the type).
        ValueError: The file is not a list of dicts (or is truncated).
    """
    with open(path, 'rb') as f:
        try:
            data = _AllowListUnpickler(f, path).load()
        except RefusedPickleError:
            raise
        except Exception as err:  # truncated or not a pickle
            raise ValueError(f'{path}: not a readable prediction dump '
                             f'({type(err).__name__}: {err})') from err
    if not isinstance(data, list) or not all(
            isinstance(s, dict) for s in data):
        raise ValueError(f'{path}: a prediction dump is a list of dicts '
                         f'(tools/test.py --dump), got {type(data).__name__}')
    return data
