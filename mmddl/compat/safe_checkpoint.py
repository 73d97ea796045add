"""Load mmengine Runner checkpoints under ``torch.load(weights_only=True)``."""
import contextlib
import functools
import importlib.util
import os
import pickle
import re
import types
from typing import Any, Callable, Iterator, List, Optional, Tuple, Union

from .import_hooks import when_imported

CHECKPOINT_MODULE = 'mmengine.runner.checkpoint'
SafeGlobal = Union[Callable, Tuple[Callable, str]]
# What HistoryBuffer._set_default_statistics registers.
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def torch_version() -> Optional[Tuple[int, int]]:
    """Return (major, minor) of the installed torch without importing it.

    Reads ``torch/version.py`` (cheap), else the package metadata; None if
    torch is not installed.
    """
    text = None
    try:
        spec = importlib.util.find_spec('torch')
        if spec is None:
            return None
        if spec.submodule_search_locations:
            for root in spec.submodule_search_locations:
                path = os.path.join(root, 'version.py')
                if os.path.isfile(path):
                    with open(path, encoding='utf-8') as f:
                        found = re.search(r"__version__\s*=\s*['\"]([^'\"]+)",
                                          f.read())
                    text = found.group(1) if found else None
                    break
        if text is None:
            from importlib.metadata import version
            text = version('torch')
        numbers = re.findall(r'\d+', text)
        return int(numbers[0]), int(numbers[1])
    except Exception:  # unreadable install: treat as unknown
        return None


def weights_only_is_default() -> bool:
    """True if the installed torch (>= 2.6) loads with weights_only=True."""
    ver = torch_version()
    return ver is not None and ver >= (2, 6)


def _history_buffer_cls() -> type:
    from mmengine.logging.history_buffer import HistoryBuffer
    return HistoryBuffer


def restricted_getattr(obj: Any, name: str) -> Any:
    """``builtins.getattr`` as seen by the weights-only unpickler.

    Only ``getattr(HistoryBuffer, name)`` for the class's own default
    statistics methods (``min``, ``max``, ``current``, ``mean``) resolves.

    Args:
        obj (Any): Object whose attribute is looked up.
        name (str): Attribute name.

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    history_buffer = _history_buffer_cls()
    if (obj is history_buffer and isinstance(name, str)
            and name in HISTORY_BUFFER_STATISTICS and isinstance(
                vars(history_buffer).get(name), types.FunctionType)):
        return vars(history_buffer)[name]
    raise pickle.UnpicklingError(
        'mmddl.compat refused getattr({!r}, {!r}) in a weights-only load: '
        'only HistoryBuffer statistics methods {} may be looked up.'.format(
            obj, name, HISTORY_BUFFER_STATISTICS))


def _numpy_globals() -> List[SafeGlobal]:
    """numpy types/functions used to pickle arrays, scalars and dtypes."""
    import numpy as np
    reconstruct = np.ndarray.__reduce__(np.zeros(1))[0]
    scalar = np.float64(0).__reduce__()[0]
    out: List[SafeGlobal] = [np.ndarray, np.dtype]
    # Files written under numpy 1.x name numpy.core, under 2.x numpy._core.
    for func in (reconstruct, scalar):
        for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
            out.append((func, f'{module}.{func.__name__}'))
    dtype_classes = {
        type(np.dtype(t))
        for t in set(np.sctypeDict.values()) if np.dtype(t).kind != 'O'
    }
    out.extend(sorted(dtype_classes, key=lambda c: c.__name__))
    return out


def mmengine_safe_globals() -> List[SafeGlobal]:
    """The allow-list for checkpoints written by mmengine's Runner.

    Returns:
        list: Entries for ``torch.serialization.safe_globals`` (objects or
        ``(object, 'module.name')`` pairs).
    """
    return [_history_buffer_cls(),
            (restricted_getattr, 'builtins.getattr')] + _numpy_globals()


@contextlib.contextmanager
def mmengine_checkpoint_globals() -> Iterator[None]:
    """Allow :func:`mmengine_safe_globals` in ``torch.load`` (context manager).

    Only entries not already allowed are added, and only those are removed on
    exit, so nesting and user allow-lists are preserved.
    """
    import torch.serialization as ts
    present = set(ts.get_safe_globals())
    to_add = [g for g in mmengine_safe_globals() if g not in present]
    with ts.safe_globals(to_add):
        yield


def _patch(checkpoint_module: types.ModuleType) -> None:
    """Wrap ``CheckpointLoader.load_checkpoint`` with the allow-list."""
    import torch.serialization as ts
    if not hasattr(ts, 'safe_globals'):
        return  # torch < 2.5: nothing to do
    loader_cls = checkpoint_module.CheckpointLoader
    current = loader_cls.__dict__['load_checkpoint']
    original = current.__func__
    if getattr(original, '__mmddl_compat__', False):
        return

    @functools.wraps(original)
    def load_checkpoint(cls, filename, map_location=None, logger='current'):
        with mmengine_checkpoint_globals():
            return original(cls, filename, map_location, logger)

    load_checkpoint.__mmddl_compat__ = True
    loader_cls.load_checkpoint = classmethod(load_checkpoint)


def install() -> str:
    """Hook mmengine's checkpoint loading if torch defaults to weights_only.

    Deferred until ``mmengine.runner.checkpoint`` is imported (immediate if it
    already is), so torch is not imported here.

    Returns:
        str: A one-line status.
    """
    if not weights_only_is_default():
        return (f'not needed: torch {torch_version()} does not default to '
                'weights_only=True')
    when_imported(CHECKPOINT_MODULE, _patch)
    return ('applied: mmengine CheckpointLoader.load_checkpoint allows '
            'mmengine checkpoint globals (narrow getattr)')
