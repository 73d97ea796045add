"""Write a file under a temporary name in its folder, then rename it.

A crash or a full disk never leaves a half-written file under the final name.
"""
import contextlib
import os
import os.path as osp
import uuid
from typing import IO, Any, Callable, Iterator, Optional

#: prefix of the temporary files (left over only by a killed process)
TMP_PREFIX = '.tmp-'


def write_error(path: str, err: OSError, what: str = 'file') -> OSError:
    """An ``OSError`` like ``err`` that names ``path`` and what to do.

    Args:
        path (str): the file being written.
        err (OSError): the original error (its ``errno`` is kept, so
            ``ENOSPC`` stays recognisable).
        what (str): what the file is, for the message.

    Returns:
        OSError: raise it ``from err``.
    """
    return OSError(
        err.errno, f'cannot write the {what} {path!r}: '
        f'{err.strerror or err} (check free space and write '
        'permission of its folder)')


def remove_quietly(path: Optional[str]) -> None:
    """Remove ``path`` if it exists; errors are ignored.

    Args:
        path (str, optional): the file (None: nothing).
    """
    if path is None:
        return
    try:
        os.remove(path)
    except OSError:
        pass


def fsync_dir(folder: str) -> None:
    """Flush a folder's entries (a rename in it) to disk, where possible.

    Args:
        folder (str): the folder.
    """
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_path(path: str) -> str:
    """A fresh temporary name beside ``path`` with the same extension.

    Args:
        path (str): the final path.

    Returns:
        str: ``<folder>/.tmp-<random>-<name>``.
    """
    name = osp.basename(path)[-200:]  # stay below the name length limit
    return osp.join(
        osp.dirname(path), f'{TMP_PREFIX}{uuid.uuid4().hex}-{name}')


@contextlib.contextmanager
def atomic_output(path: str, what: str = 'file') -> Iterator[str]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when
    the body succeeds.

    The body writes the whole file to the yielded path (which keeps the
    extension, so writers that infer the format from it work). It is then
    synced and renamed over ``path`` (``os.replace``, atomic on POSIX), so
    readers see the old file or the complete new one. On any error the
    temporary file is removed and an older file at ``path`` is kept; an
    ``OSError`` (``ENOSPC``, read-only folder ...) is raised again with
    the same ``errno``, naming ``path`` (see :func:`write_error`).

    Args:
        path (str): the final path (its folder is created).
        what (str): what the file is, for error messages.

    Yields:
        str: the temporary path to write.
    """
    path = osp.abspath(path)
    folder = osp.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise write_error(path, e, what) from e
    tmp = temp_path(path)
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException as e:
        remove_quietly(tmp)
        if isinstance(e, OSError):
            raise write_error(path, e, what) from e
        raise
    fsync_dir(folder)


def atomic_write(path: str,
                 writer: Callable[[IO[Any]], Any],
                 what: str = 'file',
                 text: bool = False,
                 encoding: str = 'utf-8') -> str:
    """Write ``path`` through ``writer(fileobj)`` atomically.

    See :func:`atomic_output`. Examples: ``atomic_write(p, lambda f:
    f.write(data))``, ``atomic_write(p, lambda f: json.dump(obj, f),
    'results', text=True)``, ``atomic_write(p, lambda f: fig.savefig(f,
    format='png'), 'figure')``.

    Args:
        path (str): the final path.
        writer (Callable): writes the whole content into the open file.
        what (str): what the file is, for error messages.
        text (bool): open the file in text mode (else binary).
        encoding (str): the text encoding (text mode only).

    Returns:
        str: ``path``.
    """
    with atomic_output(path, what) as tmp:
        if text:
            with open(tmp, 'w', encoding=encoding) as f:
                writer(f)
        else:
            with open(tmp, 'wb') as f:
                writer(f)
    return path


def save_figure(fig: Any,
                path: str,
                what: str = 'figure',
                **kwargs: Any) -> str:
    """``fig.savefig`` atomically (see :func:`atomic_output`).

    Args:
        fig (matplotlib.figure.Figure): the figure.
        path (str): the final path; its extension gives the format
            (default ``png``) unless ``format`` is passed.
        what (str): what the file is, for error messages.
        **kwargs: more arguments of ``savefig`` (``dpi`` ...).

    Returns:
        str: ``path``.
    """
    fmt = kwargs.pop('format', None) or (osp.splitext(path)[1][1:].lower()
                                         or 'png')
    with atomic_output(path, what) as tmp:
        fig.savefig(tmp, format=fmt, **kwargs)
    return path
