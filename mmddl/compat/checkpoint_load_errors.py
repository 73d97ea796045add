"""A checkpoint that cannot be loaded gives an error naming it (``torch.load``
of a truncated file raises a zip / EOF / ``EINVAL`` error naming no file);
every load through mmengine's ``CheckpointLoader`` is covered."""
import errno
import functools
import pickle
import types

from .import_hooks import when_imported

CHECKPOINT_MODULE = 'mmengine.runner.checkpoint'
#: error types kept as they are (with the file named); others -> RuntimeError
KEPT_TYPES = (pickle.UnpicklingError, RuntimeError, EOFError, ValueError)
DAMAGED_HINT = ('The file is truncated or is not a PyTorch checkpoint (an '
                'interrupted save or a full disk?): give another file, or '
                'save it again.')


def _damaged(err: BaseException) -> bool:
    text = str(err)
    return (isinstance(err, (EOFError, KeyError))
            or (isinstance(err, OSError) and err.errno == errno.EINVAL)
            or 'zip archive' in text or 'central directory' in text
            or 'invalid load key' in text)


def naming_error(filename: str, err: Exception) -> Exception:
    """``err`` again, its message naming ``filename``.

    Args:
        filename (str): the checkpoint path or URL.
        err (Exception): the error of the load.

    Returns:
        Exception: an error of the same type (an ``OSError`` keeps its
        ``errno``; a type outside :data:`KEPT_TYPES` becomes
        ``RuntimeError``); raise it ``from err``.
    """
    detail = (str(err) or 'no detail').rstrip('.')
    msg = (f'cannot load the checkpoint {filename!r}: '
           f'{type(err).__name__}: {detail}')
    if _damaged(err):
        msg += f'. {DAMAGED_HINT}'
    if isinstance(err, OSError):
        return OSError(err.errno, msg)
    if isinstance(err, KEPT_TYPES):
        try:
            new = type(err)(msg)
        except Exception:  # a constructor with other arguments
            new = None
        if isinstance(new, type(err)) and str(new) == msg:
            return new
    return RuntimeError(msg)


def _patch(checkpoint_module: types.ModuleType) -> None:
    """Wrap ``CheckpointLoader.load_checkpoint``: errors name the file."""
    loader_cls = checkpoint_module.CheckpointLoader
    original = loader_cls.__dict__['load_checkpoint'].__func__
    if getattr(original, '__mmddl_names_file__', False):
        return

    @functools.wraps(original)
    def load_checkpoint(cls, filename, map_location=None, logger='current'):
        try:
            return original(cls, filename, map_location, logger)
        except Exception as e:
            if str(filename) in str(e):
                raise
            raise naming_error(str(filename), e) from e

    load_checkpoint.__mmddl_names_file__ = True
    loader_cls.load_checkpoint = classmethod(load_checkpoint)


def install() -> str:
    """Make errors of ``CheckpointLoader.load_checkpoint`` name the file.

    Deferred until ``mmengine.runner.checkpoint`` is imported (immediate if
    it already is).

    Returns:
        str: A one-line status.
    """
    when_imported(CHECKPOINT_MODULE, _patch)
    return ('applied: mmengine CheckpointLoader.load_checkpoint errors name '
            'the checkpoint file')
