"""The D-score table: one row per scored training element, stored as `.npz`.

Fingerprinted (staleness) and checksummed (edits, damage)."""
import hashlib
import json
import os
import os.path as osp
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmddl.utils.atomic_write import atomic_write, write_error  # noqa: F401
from mmddl.utils.content_hash import checkpoint_sha256, file_sha256  # noqa: F401
from .data_sources import KEY_FIELDS, DataSources  # noqa: F401

#: v2: per-sample file identities (``source_keys`` / ``source_stats``) and
#: a checksum of every array in ``meta``.
FORMAT_VERSION = 2
_ARRAYS = ('keys', 'positions', 'labels', 'raw', 'dscores')
_SOURCE_ARRAYS = ('source_keys', 'source_stats')
#: What a damaged archive raises while it is read.
_READ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile,
                zlib.error, json.JSONDecodeError)

#: Human-readable names of fingerprint fields, used in stale-table messages.
FIELD_DESCRIPTIONS = {
    'ann_file_sha256': 'data list (contents of the ann_file)',
    'data_files_sha256': 'data files (size and mtime of every sample file)',
    'checkpoint_sha256': 'base checkpoint (file contents)',
    'metric': 'metric',
    'candidate_pipeline': 'candidate settings (candidates.pipeline)',
    'dataset': 'candidate settings (dataset type / prefix / arguments)',
    'base_model': 'candidate settings (base model config)',
    'num_classes': 'candidate settings (dscore.num_classes)',
}


class StaleScoreTableError(RuntimeError):
    """A stored table does not match the requested data/model/settings."""


class CorruptScoreTableError(ValueError):
    """A stored table cannot be read, or its checksum does not match."""


def to_jsonable(obj: Any) -> Any:
    """Normalise settings (configs, tuples, classes ...) to plain JSON data.

    Dict keys become strings and are sorted when dumped; tuples become lists;
    classes and functions become their qualified names (never a memory
    address, so fingerprints are stable across processes).
    """
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (str, bool, int, float)) or obj is None:
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, type) or callable(obj):
        return f'{getattr(obj, "__module__", "?")}.' \
               f'{getattr(obj, "__qualname__", type(obj).__name__)}'
    return repr(obj)


#: Version of the D-score computation; tables of another version are stale
#: (v2: exact hardest negative of the blocked Euclidean search).
ALGORITHM_VERSION = 'ddl-dscore-v2'


def make_fingerprint(ann_file: str, checkpoint: str,
                     **settings: Any) -> Dict[str, Any]:
    """Fingerprint of what a score table is computed from.

    Args:
        ann_file (str): the data list file (or image folder, see
            :func:`file_sha256`); hashed by contents.
        checkpoint (str): the base model's checkpoint; a local file is hashed
            by contents, anything else (an URL) is identified by its string.
        **settings: everything else the scores depend on (``metric``,
            ``candidate_pipeline``, ``dataset``, ``base_model`` ...); each
            becomes one field, normalised with :func:`to_jsonable`.

    Returns:
        A JSON-serialisable dict: ``ann_file_sha256``, ``checkpoint_sha256``,
        ``algorithm`` (:data:`ALGORITHM_VERSION`) and one entry per setting.
    """
    fp = dict(
        ann_file_sha256=file_sha256(ann_file),
        checkpoint_sha256=checkpoint_sha256(checkpoint),
        algorithm=ALGORITHM_VERSION)
    for k, v in settings.items():
        fp[k] = to_jsonable(v)
    # round-trip so comparisons with a loaded fingerprint are like for like
    return json.loads(json.dumps(fp, sort_keys=True))


def dataset_fingerprint(dataset: Any,
                        checkpoint: str,
                        dataset_kwargs: Optional[Dict[str, Any]] = None,
                        **settings: Any) -> Dict[str, Any]:
    """Fingerprint of a table computed on a built candidate dataset.

    Args:
        dataset (Any): the dataset; its ``ann_file`` (or, without one, the
            first existing folder of its ``data_prefix``) is hashed.
        checkpoint (str): the base model's checkpoint.
        dataset_kwargs (dict, optional): extra dataset arguments, recorded
            with the dataset type and prefix in the ``dataset`` field.
        **settings: the other fields (see :func:`make_fingerprint`).

    Returns:
        Dict[str, Any]: the fingerprint.
    """
    ann_file = getattr(dataset, 'ann_file', None)
    prefix = getattr(dataset, 'data_prefix', None) or {}
    if not ann_file:
        ann_file = next((p for p in prefix.values() if p and osp.isdir(p)),
                        None)
    if not ann_file:
        raise ValueError(f'{type(dataset).__name__}: the candidate dataset '
                         'has neither an ann_file nor a data folder to '
                         'fingerprint')
    return make_fingerprint(
        ann_file,
        checkpoint,
        dataset=dict(
            type=type(dataset),
            data_prefix=prefix,
            kwargs=dataset_kwargs or {}),
        **settings)


def fingerprint_diff(stored: Dict[str, Any], expected: Dict[str,
                                                            Any]) -> List[str]:
    """Names of the fingerprint fields that differ (missing = differing)."""
    stored = json.loads(json.dumps(stored, sort_keys=True))
    expected = json.loads(json.dumps(to_jsonable(expected), sort_keys=True))
    missing = '<missing>'
    return sorted(
        k for k in set(stored) | set(expected)
        if stored.get(k, missing) != expected.get(k, missing))


@dataclass(eq=False, repr=False)
class ScoreTable:
    """D-scores of the training elements.

    A row is one candidate element: a clip (``position`` = its first frame
    index, not counting the dataset's ``start_index``) or an image
    (``position`` = 0) of the sample ``key`` (the video ``filename`` /
    ``img_path`` as the dataset gives it). Stored as one ``np.savez``
    archive (no pickle, written atomically): the arrays below plus ``meta``,
    a 0-d unicode array holding a JSON object (format version, mean, std,
    metric, fingerprint, skipped, info).

    Args:
        keys (np.ndarray): (N,) sample keys (video filename / image path).
        positions (np.ndarray): (N,) first frame index of each clip (0 for
            images).
        labels (np.ndarray): (N,) class index.
        raw (np.ndarray): (N,) raw discriminability D (Eq. 2-3).
        dscores (np.ndarray): (N,) D-scores (Eq. 4, over the whole set or
            within each class: ``info['normalization']``).
        mean (float): mean of ``raw`` over the table (Eq. 4's with the
            ``'global'`` normalization).
        std (float): standard deviation of ``raw`` over the table (as
            ``mean``).
        metric (str): ``'cosine'`` or ``'euclidean'``.
        fingerprint (Dict[str, Any]): what the table was computed from (see
            :func:`make_fingerprint`).
        skipped (List[Dict[str, str]]): samples that could not be scored, as
            ``{'key': ..., 'reason': ...}`` dicts.
        info (Dict[str, Any]): extra JSON-serialisable information (e.g.
            ``clip_len``, ``frame_interval``, ``num_classes``).
        sources (DataSources, optional): key and file identity of every sample
            of the data the table was computed from (stored as ``source_keys``
            / ``source_stats``; they name the files that changed when the
            ``data_files_sha256`` fingerprint field differs).
    """
    keys: np.ndarray
    positions: np.ndarray
    labels: np.ndarray
    raw: np.ndarray
    dscores: np.ndarray
    mean: float
    std: float
    metric: str
    fingerprint: Dict[str, Any] = field(default_factory=dict)
    skipped: List[Dict[str, str]] = field(default_factory=list)
    info: Dict[str, Any] = field(default_factory=dict)
    sources: Optional[DataSources] = None

    def __post_init__(self) -> None:
        self.keys = np.asarray(self.keys, dtype=str).reshape(-1)
        self.positions = np.asarray(self.positions).reshape(-1).astype(
            np.int64)
        self.labels = np.asarray(self.labels).reshape(-1).astype(np.int64)
        self.raw = np.asarray(self.raw, dtype=np.float64).reshape(-1)
        self.dscores = np.asarray(self.dscores, dtype=np.float64).reshape(-1)
        n = len(self.keys)
        for name in _ARRAYS[1:]:
            if len(getattr(self, name)) != n:
                raise ValueError(f'ScoreTable: {name} has '
                                 f'{len(getattr(self, name))} entries, keys '
                                 f'has {n}')
        if n and not (np.isfinite(self.raw).all()
                      and np.isfinite(self.dscores).all()):
            raise ValueError('ScoreTable: raw/dscores contain NaN or inf')
        if n and self.positions.min() < 0:
            raise ValueError('ScoreTable: negative clip position')
        self.mean, self.std = float(self.mean), float(self.std)
        self.skipped = [
            dict(key=str(s['key']), reason=str(s['reason']))
            for s in self.skipped
        ]
        self._index: Optional[Dict[str, Tuple[np.ndarray, np.ndarray]]] = None
        self._skipped_index = {s['key']: s['reason'] for s in self.skipped}
        if self.sources is None:
            self.sources = DataSources.empty()

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:
        return (f'ScoreTable({len(self)} elements of {self.num_samples} '
                f'samples, metric={self.metric!r}, mean={self.mean:.4g}, '
                f'std={self.std:.4g}, skipped={len(self.skipped)})')

    @property
    def num_samples(self) -> int:
        """Number of distinct scored samples (videos / images)."""
        return len(np.unique(self.keys))

    def _build_index(self) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
        if self._index is None:
            index = {}
            order = np.lexsort((self.positions, self.keys))
            keys, pos = self.keys[order], self.positions[order]
            dsc = self.dscores[order]
            # group rows by key; duplicate (key, position) rows (e.g. all
            # clips of a video shorter than one clip start at 0) are merged
            # by averaging their D-scores.
            bounds = np.flatnonzero(keys[1:] != keys[:-1]) + 1
            for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(keys)]):
                if hi <= lo:
                    continue
                upos, inv = np.unique(pos[lo:hi], return_inverse=True)
                sums = np.bincount(inv, weights=dsc[lo:hi])
                cnts = np.bincount(inv)
                index[str(keys[lo])] = (upos, sums / cnts)
            self._index = index
        return self._index

    def __contains__(self, key: str) -> bool:
        return key in self._build_index()

    def is_skipped(self, key: str) -> bool:
        """Whether ``key`` was recorded as skipped (could not be scored)."""
        return key in self._skipped_index

    def skip_reason(self, key: str) -> Optional[str]:
        """Why ``key`` was skipped, or None."""
        return self._skipped_index.get(key)

    def entries_for(self, key: str) -> Tuple[np.ndarray, np.ndarray]:
        """Distinct positions (sorted) of ``key`` and their D-scores.

        Raises:
            KeyError: ``key`` is not in the table (message says whether it
                was skipped and why).
        """
        index = self._build_index()
        if key not in index:
            if self.is_skipped(key):
                raise KeyError(f'{key!r} was skipped when the score table was '
                               f'built: {self.skip_reason(key)}')
            raise KeyError(f'{key!r} is not in the score table')
        return index[key]

    def positions_for(self, key: str) -> np.ndarray:
        """Sorted distinct clip positions scored for ``key``."""
        return self.entries_for(key)[0].copy()

    def dscore_for(self, key: str, position: int = 0) -> float:
        """D-score of the element of ``key`` starting at ``position``."""
        pos, dsc = self.entries_for(key)
        i = int(np.searchsorted(pos, position))
        if i >= len(pos) or pos[i] != position:
            raise KeyError(f'{key!r} has no scored element at position '
                           f'{position}; scored positions: {pos.tolist()}')
        return float(dsc[i])

    def _meta(self) -> Dict[str, Any]:
        return dict(
            format_version=FORMAT_VERSION,
            mean=self.mean,
            std=self.std,
            metric=self.metric,
            fingerprint=to_jsonable(self.fingerprint),
            skipped=self.skipped,
            info=to_jsonable(self.info))

    def _arrays(self) -> Dict[str, np.ndarray]:
        return dict(
            keys=self.keys,
            positions=self.positions,
            labels=self.labels,
            raw=self.raw,
            dscores=self.dscores,
            source_keys=self.sources.keys,
            source_stats=self.sources.stats)

    def save(self, path: str) -> str:
        """Write the table atomically to ``path`` (a ``.npz`` file).

        Returns:
            ``path``.

        Raises:
            OSError: the write failed (no space, read-only folder ...); the
                message names ``path`` and an older file there is kept.
        """
        path = osp.abspath(path)
        arrays = self._arrays()
        meta = self._meta()
        meta['checksum'] = table_checksum(arrays, meta)
        return atomic_write(
            path, lambda f: np.savez(
                f, meta=np.array(json.dumps(meta, sort_keys=True)), **arrays),
            'score table')

    @classmethod
    def load(cls,
             path: str,
             expected_fingerprint: Optional[Dict[str,
                                                 Any]] = None) -> 'ScoreTable':
        """Load a table written by :meth:`save` (never unpickles).

        Args:
            path (str): the ``.npz`` file.
            expected_fingerprint (Dict[str, Any], optional): when given, the
                stored fingerprint must equal it, else
                :class:`StaleScoreTableError` is raised naming the differing
                fields.

        Returns:
            The table.

        Raises:
            CorruptScoreTableError: the file is truncated, not an ``.npz``
                of this format, holds pickled objects, or its arrays do not
                match their checksum (the message says to delete it).
        """
        if not osp.isfile(path):
            raise FileNotFoundError(f'score table {path!r} does not exist')
        try:
            with np.load(path, allow_pickle=False) as z:
                names = _ARRAYS + _SOURCE_ARRAYS + ('meta', )
                missing = [k for k in names if k not in z.files]
                meta = json.loads(str(z['meta'])) if 'meta' in z.files \
                    else {}
                if meta.get('format_version', FORMAT_VERSION) != \
                        FORMAT_VERSION:
                    raise CorruptScoreTableError(
                        f'score table {path!r} has format version '
                        f'{meta.get("format_version")}, expected '
                        f'{FORMAT_VERSION}; delete it to recompute')
                if missing:
                    raise ValueError(f'missing arrays {missing}')
                arrays = {k: z[k] for k in _ARRAYS + _SOURCE_ARRAYS}
        except CorruptScoreTableError:
            raise
        except _READ_ERRORS as e:
            raise CorruptScoreTableError(
                f'{path!r} is not a readable score table ('
                f'{type(e).__name__}: {e}); it may be truncated or '
                'damaged: delete it to recompute') from e
        if meta.get('checksum') != table_checksum(arrays, meta):
            raise CorruptScoreTableError(
                f'score table {path!r} does not match its checksum: it was '
                'modified or damaged after it was written; delete it to '
                'recompute')
        sources = DataSources(
            arrays.pop('source_keys'), arrays.pop('source_stats'))
        table = cls(
            **arrays,
            mean=meta['mean'],
            std=meta['std'],
            metric=meta['metric'],
            fingerprint=meta['fingerprint'],
            skipped=meta['skipped'],
            info=meta.get('info', {}),
            sources=sources)
        if expected_fingerprint is not None:
            check_fingerprint(table.fingerprint, expected_fingerprint, path)
        return table


def table_checksum(arrays: Dict[str, np.ndarray], meta: Dict[str, Any]) -> str:
    """SHA-256 over every array (name, dtype, shape, bytes) and ``meta``
    (without its ``checksum`` entry)."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        arr = np.ascontiguousarray(arrays[name])
        h.update(f'{name}\0{arr.dtype.str}\0{arr.shape}\0'.encode())
        h.update(arr.view(np.uint8).reshape(-1) if arr.size else b'')
    rest = {k: v for k, v in meta.items() if k != 'checksum'}
    h.update(json.dumps(rest, sort_keys=True).encode())
    return h.hexdigest()


def check_fingerprint(stored: Dict[str, Any],
                      expected: Dict[str, Any],
                      path: str = '<table>',
                      changed_files: Sequence[Tuple[str, str]] = ()) -> None:
    """Raise :class:`StaleScoreTableError` if the fingerprints differ.

    Args:
        stored (dict): the table's fingerprint.
        expected (dict): the fingerprint of the current data and settings.
        path (str): the table file, for the message.
        changed_files (Sequence[Tuple[str, str]]): ``(key, what changed)``
            of sample files (see :meth:`DataSources.changed`), named in the
            message.
    """
    diff = fingerprint_diff(stored, expected)
    if not diff:
        return
    names = [
        f'{FIELD_DESCRIPTIONS.get(k, "candidate settings (" + k + ")")}'
        for k in diff
    ]
    details = '; '.join(
        f'{k}: stored {_short(stored.get(k, "<missing>"))} != requested '
        f'{_short(to_jsonable(expected).get(k, "<missing>"))}' for k in diff)
    if changed_files:
        details += f'. {len(changed_files)} sample file(s) changed: ' + \
            '; '.join(f'{k} ({why})' for k, why in changed_files[:5])
    raise StaleScoreTableError(
        f'The D-score table {path!r} is stale: it was computed for a '
        f'different {", ".join(names)}. Differences: {details}. Delete the '
        "file (or, in DiscriminabilityHook, point table.file elsewhere, or "
        "set table.reuse=False or table.on_stale='recompute') to recompute "
        'it with the current data, base checkpoint and settings.')


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[:limit - 3] + '...'
