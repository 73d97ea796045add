"""Per-shard feature files on disk: resumable, streamed, never half-read."""
import hashlib
import json
import os
import os.path as osp
import shutil
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from mmddl.utils.atomic_write import (TMP_PREFIX, atomic_write, fsync_dir,
                                      write_error)
from mmddl.utils.content_hash import file_sha256

#: v2: the manifest records ``sources_sha256`` (sample-file identities).
STORE_FORMAT = 2
#: How finished shards are checked before reuse (see :class:`FeatureStore`).
VERIFY_MODES = ('size', 'sha256')
MANIFEST = 'manifest.json'
#: array files of a shard and the dtype each is stored in
ARRAY_FILES = {
    'feats': np.float32,
    'labels': np.int64,
    'positions': np.int64,
    'keys': None
}


def atomic_write_bytes(path: str, writer) -> None:
    """Write a feature-store file through ``writer(fileobj)`` atomically
    (see :func:`mmddl.utils.atomic_write`).

    Args:
        path (str): final path.
        writer (Callable): writes the content into the open binary file.
    """
    atomic_write(path, writer, 'feature file')


def _npy_bytes_writer(arr: np.ndarray, digest: 'hashlib._Hash'):
    """A writer for :func:`atomic_write_bytes` that also hashes the bytes."""

    class _Tee:

        def __init__(self, f) -> None:
            self.f = f

        def write(self, b) -> int:
            digest.update(b)
            return self.f.write(b)

    def write(f) -> None:
        np.lib.format.write_array(_Tee(f), arr, allow_pickle=False)

    return write


def npy_data_offset(path: str) -> Tuple[int, Tuple[int, ...], np.dtype]:
    """Byte offset of the data of a ``.npy`` file, its shape and dtype."""
    with open(path, 'rb') as f:
        major, _ = np.lib.format.read_magic(f)
        if major == 1:
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        if fortran:
            raise ValueError(f'{path}: Fortran-ordered arrays are not '
                             'supported')
        return f.tell(), shape, dtype


@dataclass
class FeatureShard:
    """One finished shard (see :class:`FeatureStore`).

    ``feats`` is a read-only float32 memmap (random access); use
    :meth:`iter_feature_chunks` to stream without mapping.
    """
    shard_id: int
    start: int
    stop: int
    folder: str
    feats: np.ndarray
    labels: np.ndarray
    positions: np.ndarray
    keys: np.ndarray
    skipped: List[Dict[str, str]] = field(default_factory=list)
    info: Dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def dim(self) -> int:
        """Feature dimension (0 for a shard without elements)."""
        return int(self.feats.shape[1]) if self.feats.ndim == 2 else 0

    def iter_feature_chunks(self,
                            chunk: int) -> Iterator[Tuple[int, np.ndarray]]:
        """``(row offset, float32 (<=chunk, d) array)`` read from disk."""
        if chunk < 1:
            raise ValueError(f'chunk must be >= 1, got {chunk}')
        path = osp.join(self.folder, 'feats.npy')
        offset, shape, dtype = npy_data_offset(path)
        if len(shape) != 2:
            raise ValueError(f'{path}: expected a 2-D array, got shape '
                             f'{shape}')
        n, d = shape
        row_bytes = d * dtype.itemsize
        with open(path, 'rb') as f:
            for lo in range(0, n, chunk):
                rows = min(chunk, n - lo)
                f.seek(offset + lo * row_bytes)
                arr = np.fromfile(f, dtype=dtype, count=rows * d)
                if arr.size != rows * d:
                    raise IOError(f'{path}: truncated while reading rows '
                                  f'{lo}..{lo + rows}')
                yield lo, arr.reshape(rows, d)


class FeatureStore:
    """A folder of per-shard feature files.

    A :class:`FeatureStore` is a folder with one sub-folder per shard (a
    contiguous range ``[start, stop)`` of dataset samples)::

        root/shard_000012/feats.npy       float32 (n, d), read as a memmap
                         /labels.npy      int64 (n,)
                         /positions.npy   int64 (n,)
                         /keys.npy        unicode (n,)
                         /manifest.json   written last

    Every file is written to a temporary name in the same folder, flushed,
    ``fsync``-ed and renamed. The manifest (shard range, element count, feature
    dim, the store fingerprint, the digest of the shard's sample files' sizes
    and mtimes, the byte size and SHA-256 of every array file, the skipped
    samples and the clip settings seen) is written last, and an old manifest is
    deleted before a shard is rewritten. So a shard is *finished* exactly when
    its manifest exists, parses, has this store's format and fingerprint, the
    shard range and sample-file digest asked for, and every file has the
    recorded size and (with ``verify='sha256'``, the default) hash. Anything
    else - a pass killed mid-shard, a truncated file, a file corrupted in
    place, a shard from another checkpoint, a sample file replaced since - is
    not finished and gets recomputed; it is never taken for a finished shard.

    Reading streams: :meth:`FeatureShard.iter_feature_chunks` reads ``chunk``
    rows at a time with plain file reads (no mapping), so a pass over any
    number of shards keeps one chunk of features in memory.

    Args:
        root (str): the store folder (created when needed). In a multi-node run
            it should be on a shared file system to resume a shard on any rank;
            on node-local disks each rank still resumes its own shards.
        fingerprint (Dict[str, Any], optional): JSON-serialisable description
            of what the features are computed from (data list, checkpoint,
            candidate settings, shard size). A shard written under another
            fingerprint is not finished.
        verify (str): how a finished shard is checked before it is reused:
            ``'sha256'`` (default: every file is re-hashed and compared with
            the manifest, so a file corrupted in place at the same size is
            recomputed; about 0.2 s per 276 MB shard, see
            ``docs/reliability.md``) or ``'size'`` (file sizes only).
    """

    def __init__(self,
                 root: str,
                 fingerprint: Optional[Dict[str, Any]] = None,
                 verify: str = 'sha256') -> None:
        check_verify(verify)
        self.root = osp.abspath(root)
        self.fingerprint = json.loads(
            json.dumps(fingerprint or {}, sort_keys=True))
        self.verify = verify
        os.makedirs(self.root, exist_ok=True)

    def __repr__(self) -> str:
        return f'FeatureStore({self.root!r})'

    # -------------------------------------------------------------- paths
    def shard_dir(self, shard_id: int) -> str:
        """Folder of shard ``shard_id``."""
        if shard_id < 0:
            raise ValueError(f'shard_id must be >= 0, got {shard_id}')
        return osp.join(self.root, f'shard_{shard_id:06d}')

    # ----------------------------------------------------------- checking
    def load_manifest(self, shard_id: int) -> Optional[Dict[str, Any]]:
        """The manifest of a *finished* shard, else None."""
        return self.check_shard(shard_id)[0]

    def check_shard(self,
                    shard_id: int,
                    start: Optional[int] = None,
                    stop: Optional[int] = None,
                    sources_sha256: Optional[str] = None,
                    verify: Optional[str] = None
                    ) -> Tuple[Optional[Dict[str, Any]], str]:
        """Whether shard ``shard_id`` is finished, and why not.

        Args:
            shard_id (int): the shard.
            start (int, optional): expected first sample index (checked when
                given).
            stop (int, optional): expected end sample index (checked when
                given).
            sources_sha256 (str, optional): expected digest of the shard's
                sample files (:meth:`DataSources.digest`; checked when given).
            verify (str, optional): ``'size'`` / ``'sha256'``; default: the
                store's.

        Returns:
            ``(manifest or None, reason)``; ``reason`` is ``'finished'`` or
            says what is missing or different.
        """
        folder = self.shard_dir(shard_id)
        path = osp.join(folder, MANIFEST)
        if not osp.isfile(path):
            return None, 'no manifest (not written, or interrupted)'
        try:
            with open(path, encoding='utf-8') as f:
                man = json.load(f)
        except (OSError, ValueError) as e:
            return None, f'unreadable manifest ({type(e).__name__}: {e})'
        if not isinstance(man, dict) or man.get('format') != STORE_FORMAT:
            return None, 'manifest of another store format'
        if man.get('shard_id') != shard_id:
            return None, f'manifest is for shard {man.get("shard_id")}'
        if man.get('fingerprint') != self.fingerprint:
            return None, 'computed from other data/checkpoint/settings'
        if start is not None and man.get('start') != start or \
                stop is not None and man.get('stop') != stop:
            return None, (f'covers samples [{man.get("start")}, '
                          f'{man.get("stop")}), expected [{start}, {stop})')
        if sources_sha256 is not None and \
                man.get('sources_sha256') != sources_sha256:
            return None, ('a sample file changed (size or mtime) since it '
                          'was computed')
        verify = check_verify(verify or self.verify)
        for name in ARRAY_FILES:
            rec = man.get('files', {}).get(name)
            fpath = osp.join(folder, f'{name}.npy')
            if rec is None or not osp.isfile(fpath):
                return None, f'{name}.npy is missing'
            if osp.getsize(fpath) != rec['size']:
                return None, (f'{name}.npy has {osp.getsize(fpath)} bytes, '
                              f'manifest says {rec["size"]}')
            if verify == 'sha256' and file_sha256(fpath, 1 << 22) != rec['sha256']:
                return None, f'{name}.npy content differs from its manifest'
        return man, 'finished'

    def is_finished(self,
                    shard_id: int,
                    start: Optional[int] = None,
                    stop: Optional[int] = None) -> bool:
        """Whether the shard is finished (see :meth:`check_shard`)."""
        return self.check_shard(shard_id, start, stop)[0] is not None

    def finished_shards(self) -> List[int]:
        """Ids of every finished shard in the store, sorted."""
        ids = []
        for name in sorted(os.listdir(self.root)):
            if name.startswith('shard_') and name[6:].isdigit():
                if self.is_finished(int(name[6:])):
                    ids.append(int(name[6:]))
        return ids

    # ------------------------------------------------------------ writing
    def write_shard(self,
                    shard_id: int,
                    start: int,
                    stop: int,
                    feats: Any,
                    labels: Any,
                    keys: Sequence[str],
                    positions: Any,
                    skipped: Sequence[Dict[str, str]] = (),
                    info: Optional[Dict[str, Any]] = None,
                    sources_sha256: Optional[str] = None) -> Dict[str, Any]:
        """Write one shard atomically (arrays, then the manifest).

        Args:
            shard_id (int): the shard.
            start (int): first dataset index of the shard.
            stop (int): one past its last dataset index.
            feats (Any): (n, d) features (stored as float32).
            labels (Any): (n,) labels.
            keys (Sequence[str]): (n,) sample keys.
            positions (Any): (n,) clip positions.
            skipped (Sequence[Dict[str, str]]): samples of the shard that could
                not be read (``{'key', 'reason'}``).
            info (Dict[str, Any], optional): extra JSON-serialisable shard
                information.
            sources_sha256 (str, optional): digest of the shard's sample files,
                checked by :meth:`check_shard` before reuse.

        Returns:
            The manifest.
        """
        feats = np.asarray(feats, dtype=np.float32)
        n = len(keys)
        if feats.ndim != 2 and not (feats.size == 0 and n == 0):
            raise ValueError('feats must be 2-D (n, d), got shape '
                             f'{feats.shape}')
        if feats.ndim != 2:
            feats = feats.reshape(0, 0)
        arrays = dict(
            feats=np.ascontiguousarray(feats),
            labels=np.asarray(labels, dtype=np.int64).reshape(-1),
            positions=np.asarray(positions, dtype=np.int64).reshape(-1),
            keys=np.asarray(list(keys), dtype=str).reshape(-1))
        for name, arr in arrays.items():
            if len(arr) != n:
                raise ValueError(f'shard {shard_id}: {name} has {len(arr)} '
                                 f'rows, keys has {n}')
        if not np.isfinite(arrays['feats']).all():
            raise ValueError(f'shard {shard_id}: features contain NaN or '
                             'inf')
        if not 0 <= start <= stop:
            raise ValueError(f'invalid shard range [{start}, {stop})')
        folder = self.shard_dir(shard_id)
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as e:
            raise write_error(folder, e, 'feature shard folder') from e
        man_path = osp.join(folder, MANIFEST)
        if osp.exists(man_path):  # never leave an old manifest over new data
            os.remove(man_path)
            fsync_dir(folder)
        for name in os.listdir(folder):  # leftovers of an interrupted write
            if name.startswith(TMP_PREFIX):
                os.remove(osp.join(folder, name))
        files = {}
        for name, arr in arrays.items():
            h = hashlib.sha256()
            path = osp.join(folder, f'{name}.npy')
            atomic_write_bytes(path, _npy_bytes_writer(arr, h))
            files[name] = dict(size=osp.getsize(path), sha256=h.hexdigest())
        man = dict(
            format=STORE_FORMAT,
            shard_id=int(shard_id),
            start=int(start),
            stop=int(stop),
            num_elements=n,
            dim=int(arrays['feats'].shape[1]),
            fingerprint=self.fingerprint,
            files=files,
            sources_sha256=sources_sha256,
            skipped=[
                dict(key=str(s['key']), reason=str(s['reason']))
                for s in skipped
            ],
            info=json.loads(json.dumps(info or {})))
        text = json.dumps(man, sort_keys=True, indent=1).encode('utf-8')
        atomic_write_bytes(man_path, lambda f: f.write(text))
        return man

    # ------------------------------------------------------------ reading
    def open_shard(self, shard_id: int, mmap: bool = True) -> FeatureShard:
        """Open a finished shard (features as a read-only memmap by default).

        The files are checked by size only: the pass opens shards that it
        has just written or verified.

        Raises:
            FileNotFoundError: the shard is not finished (message says why;
                a shard the pass had finished that is gone now means that
                another process changed the store).
        """
        man, why = self.check_shard(shard_id, verify='size')
        if man is None:
            raise FileNotFoundError(
                f'shard {shard_id} of {self.root} is not finished ({why}); '
                'if this pass had finished it, another process deleted or '
                'rewrote the feature store meanwhile (two runs sharing one '
                'work_dir / feature_dir?)')
        folder = self.shard_dir(shard_id)

        def load(name, mode=None):
            return np.load(
                osp.join(folder, f'{name}.npy'),
                mmap_mode=mode,
                allow_pickle=False)

        return FeatureShard(
            shard_id=shard_id,
            start=man['start'],
            stop=man['stop'],
            folder=folder,
            feats=load('feats', 'r' if mmap else None),
            labels=load('labels'),
            positions=load('positions'),
            keys=load('keys'),
            skipped=man['skipped'],
            info=man['info'])

    def iter_shards(self,
                    shard_ids: Sequence[int],
                    mmap: bool = True) -> Iterator[FeatureShard]:
        """Open the given finished shards one after the other."""
        for sid in shard_ids:
            yield self.open_shard(sid, mmap)

    def remove(self) -> None:
        """Delete the whole store folder."""
        shutil.rmtree(self.root, ignore_errors=True)


def check_verify(verify: str) -> str:
    """``verify`` if it is one of :data:`VERIFY_MODES`, else ValueError."""
    if verify not in VERIFY_MODES:
        raise ValueError(f'verify must be one of {VERIFY_MODES}, got '
                         f'{verify!r}')
    return verify
