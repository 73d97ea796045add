"""File identity (size, mtime) of every sample a score table is made from."""
import hashlib
import os
import os.path as osp
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

#: Sample fields a table key is read from, in this order (videos: the
#: filename, rawframe videos: the frame folder, images: the image path).
KEY_FIELDS = ('filename', 'frame_dir', 'img_path')
#: ``(size, mtime_ns)`` of a sample whose file does not exist (or whose key
#: names no local file).
MISSING = (-1, -1)


def sample_key(info: Dict[str, Any]) -> Optional[str]:
    """The sample key (first of :data:`KEY_FIELDS` present), or None."""
    for name in KEY_FIELDS:
        if info.get(name) is not None:
            return str(info[name])
    return None


def file_identity(path: str) -> Tuple[int, int]:
    """``(size, mtime_ns)`` of the file behind a sample key.

    A folder (rawframes) gives the total size of its files and the newest
    ``mtime_ns`` of the folder and its files; a RecordIO key
    ``'<file>.rec@<record>'`` gives the identity of the ``.rec`` file. A key
    that names no local file gives :data:`MISSING`.

    Args:
        path (str): the sample key.

    Returns:
        Tuple[int, int]: size in bytes and modification time in ns.
    """
    for cand in (path, path.rsplit('@', 1)[0] if '@' in path else None):
        if cand is None:
            continue
        try:
            st = os.stat(cand)
        except (OSError, ValueError):
            continue
        if not osp.isdir(cand):
            return int(st.st_size), int(st.st_mtime_ns)
        size, mtime = 0, int(st.st_mtime_ns)
        with os.scandir(cand) as it:
            for entry in it:
                if entry.is_file():
                    est = entry.stat()
                    size += int(est.st_size)
                    mtime = max(mtime, int(est.st_mtime_ns))
        return size, mtime
    return MISSING


@dataclass(eq=False)
class DataSources:
    """Key and file identity of every sample of a dataset, in order.

    Args:
        keys (np.ndarray): (S,) sample keys (``'index:<i>'`` when the
            dataset names none).
        stats (np.ndarray): (S, 2) int64 ``(size, mtime_ns)`` rows, see
            :func:`file_identity`.
    """
    keys: np.ndarray
    stats: np.ndarray

    def __post_init__(self) -> None:
        self.keys = np.asarray(self.keys, dtype=str).reshape(-1)
        self.stats = np.asarray(self.stats, dtype=np.int64).reshape(-1, 2)
        if len(self.stats) != len(self.keys):
            raise ValueError(f'DataSources: {len(self.stats)} stats rows for '
                             f'{len(self.keys)} keys')

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def empty(cls) -> 'DataSources':
        """No samples (a table written without source information)."""
        return cls(np.zeros(0, dtype=str), np.zeros((0, 2), np.int64))

    def digest(self, start: int = 0, stop: Optional[int] = None) -> str:
        """SHA-256 of the keys and identities of samples ``[start, stop)``."""
        stop = len(self) if stop is None else stop
        h = hashlib.sha256()
        h.update('\0'.join(self.keys[start:stop].tolist()).encode())
        h.update(b'\1')
        h.update(np.ascontiguousarray(self.stats[start:stop]).tobytes())
        return h.hexdigest()

    def changed(self, current: 'DataSources') -> List[Tuple[str, str]]:
        """Samples whose file differs in ``current``, with what changed.

        Args:
            current (DataSources): the identities now.

        Returns:
            List[Tuple[str, str]]: ``(key, description)`` in the order of
            ``current`` (samples only in ``self`` come last).
        """
        old = {
            k: tuple(s)
            for k, s in zip(self.keys.tolist(), self.stats.tolist())
        }
        out = []
        for key, now in zip(current.keys.tolist(), current.stats.tolist()):
            now = tuple(now)
            was = old.pop(key, None)
            if was is None:
                out.append((key, 'not in the table\'s data'))
            elif was != now:
                out.append((key, _describe_change(was, now)))
        out.extend((key, 'no longer in the data') for key in old)
        return out


def _describe_change(was: Sequence[int], now: Sequence[int]) -> str:
    if tuple(was) == MISSING:
        return f'was missing, now exists ({now[0]} bytes)'
    if tuple(now) == MISSING:
        return 'existed, now missing'
    if was[0] != now[0]:
        return f'size {was[0]} -> {now[0]} bytes'
    return 'same size, modified (mtime changed)'


def data_sources(dataset: Any) -> DataSources:
    """:class:`DataSources` of a dataset, read from ``get_data_info``.

    One ``stat`` per sample (a folder: one per file in it), no file
    contents: see ``docs/reliability.md`` for why identities are size and
    mtime, not content hashes.

    Args:
        dataset (Any): a dataset; without ``get_data_info`` (or when it
            fails) a sample is keyed ``'index:<i>'`` with :data:`MISSING`.

    Returns:
        DataSources: one row per sample.
    """
    get_info = getattr(dataset, 'get_data_info', None)
    keys, stats = [], []
    for i in range(len(dataset)):
        key = None
        if get_info is not None:
            try:
                key = sample_key(get_info(i))
            except Exception:  # noqa: BLE001 - keyed by index instead
                key = None
        if key is None:
            keys.append(f'index:{i}')
            stats.append(MISSING)
        else:
            keys.append(key)
            stats.append(file_identity(key))
    return DataSources(
        np.asarray(keys, dtype=str),
        np.asarray(stats, dtype=np.int64).reshape(-1, 2))
