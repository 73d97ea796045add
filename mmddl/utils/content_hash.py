"""Content hashes of files and checkpoints (SHA-256): the one place the
project fingerprints what it reads."""
import hashlib
import os
import os.path as osp
from typing import Dict, Tuple

#: :func:`checkpoint_sha256` results by (path, size, mtime_ns).
_DIGESTS: Dict[Tuple[str, int, int], str] = {}


def file_sha256(path: str, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's contents, or of a directory's listing.

    A directory (e.g. an image folder used instead of an annotation list) is
    hashed over its sorted relative file paths and sizes (not contents).

    Args:
        path (str): A local file or directory.
        chunk (int): Read size in bytes.

    Returns:
        str: The hex digest.

    Raises:
        FileNotFoundError: ``path`` is neither a file nor a directory.
    """
    h = hashlib.sha256()
    if osp.isdir(path):
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                full = osp.join(root, name)
                h.update(f'{osp.relpath(full, path)}\0'
                         f'{osp.getsize(full)}\n'.encode())
        return h.hexdigest()
    if not osp.isfile(path):
        raise FileNotFoundError(f'cannot fingerprint {path!r}: no such file')
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            h.update(block)
    return h.hexdigest()


def checkpoint_sha256(path: str) -> str:
    """Identity of a checkpoint: the SHA-256 of a local file's contents
    (:func:`file_sha256`, cached per path, size and mtime), else ``'uri:'``
    + the SHA-256 of the string (a URL or a path that does not exist here).

    Args:
        path (str): The checkpoint file or URL.

    Returns:
        str: The hex digest.
    """
    if not osp.isfile(path):
        return 'uri:' + hashlib.sha256(str(path).encode()).hexdigest()
    st = os.stat(path)
    key = (osp.abspath(path), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = file_sha256(path)
    return _DIGESTS[key]


def tree_sha256(root: str, suffix: str = '') -> str:
    """SHA-256 of the contents of the files under ``root`` whose names end
    with ``suffix``: per file (walked in sorted order, ``__pycache__``
    skipped) its path relative to ``root``, a NUL byte, then its bytes.

    Args:
        root (str): The folder.
        suffix (str): File name ending (e.g. ``'.py'``); empty: every file.

    Returns:
        str: The hex digest.
    """
    h = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != '__pycache__')
        for name in sorted(f for f in files if f.endswith(suffix)):
            path = osp.join(folder, name)
            h.update(osp.relpath(path, root).encode() + b'\0')
            with open(path, 'rb') as f:
                h.update(f.read())
    return h.hexdigest()
