"""mmengine's local file backend writes atomically (temp name, then rename):
checkpoints (``CheckpointHook`` -> ``save_checkpoint`` -> ``put``) and
``mmengine.dump`` files are never left half-written by a full disk or a kill."""
import functools
import os.path as osp
import types

from .import_hooks import when_imported

LOCAL_BACKEND_MODULE = 'mmengine.fileio.backends.local_backend'
CHECKPOINT_EXTENSIONS = ('.pth', '.pt', '.ckpt')


def what_file(filepath: str) -> str:
    """What a file is, for error messages (``checkpoint`` or ``file``).

    Args:
        filepath (str): the path.
    """
    return 'checkpoint' if str(filepath).endswith(CHECKPOINT_EXTENSIONS) \
        else 'file'


def _patch(module: types.ModuleType) -> None:
    """Route ``LocalBackend.put`` / ``put_text`` through
    :func:`mmddl.utils.atomic_write.atomic_write`."""
    from mmddl.utils.atomic_write import atomic_write
    backend = module.LocalBackend
    if getattr(backend.put, '__mmddl_atomic__', False):
        return

    @functools.wraps(backend.put)
    def put(self, obj: bytes, filepath) -> None:
        path = osp.abspath(str(filepath))
        atomic_write(path, lambda f: f.write(obj), what_file(path))

    @functools.wraps(backend.put_text)
    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        path = osp.abspath(str(filepath))
        atomic_write(
            path,
            lambda f: f.write(obj),
            what_file(path),
            text=True,
            encoding=encoding)

    put.__mmddl_atomic__ = put_text.__mmddl_atomic__ = True
    backend.put, backend.put_text = put, put_text


def install() -> str:
    """Make mmengine's ``LocalBackend.put`` / ``put_text`` atomic.

    Deferred until the backend module is imported (immediate if it is).

    Returns:
        str: A one-line status.
    """
    when_imported(LOCAL_BACKEND_MODULE, _patch)
    return ('applied: mmengine LocalBackend.put / put_text write a temporary '
            'file and rename it; errors name the file')
