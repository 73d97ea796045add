"""Training transforms that read D-scores from a :class:`ScoreTable`
(``SampleScoredClips`` for videos, ``LoadDScore`` for images); the policies
are described in docs/video_data.md."""
import os
import os.path as osp
from typing import Dict, Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log
from mmengine.registry import TRANSFORMS

from mmddl.structures.score_table import KEY_FIELDS, ScoreTable
from ..pickle_state import state_without
from .checked_decord import CheckedDecordInit

_CACHE: Dict[Tuple[str, int, int], ScoreTable] = {}


def load_table_cached(path: str) -> ScoreTable:
    """Load a score table once per process (re-read if the file changed)."""
    path = osp.abspath(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'D-score table {path!r} does not exist')
    st = os.stat(path)
    ck = (path, st.st_size, st.st_mtime_ns)
    if ck not in _CACHE:
        for old in [k for k in _CACHE if k[0] == path]:
            del _CACHE[old]
        _CACHE[ck] = ScoreTable.load(path)
    return _CACHE[ck]


class _ScoredTransform(BaseTransform):
    """Shared table handling (lazy loading, lookups, missing/skipped)."""

    def __init__(self,
                 table_file: Optional[str] = None,
                 on_skipped: str = 'error') -> None:
        if on_skipped not in ('error', 'refetch'):
            raise ValueError("on_skipped must be 'error' or 'refetch', got "
                             f'{on_skipped!r}')
        self.table_file = table_file
        self.on_skipped = on_skipped
        self._warned = set()

    def set_table(self, path: str) -> None:
        """Use the score table at ``path`` (called by DiscriminabilityHook)."""
        self.table_file = path

    @property
    def table(self) -> ScoreTable:
        """The loaded table (lazily)."""
        if self.table_file is None:
            raise RuntimeError(
                f'{type(self).__name__} has no D-score table: pass '
                'table_file=... or add DiscriminabilityHook to custom_hooks '
                '(it computes the table and sets it before training)')
        return load_table_cached(self.table_file)

    def _entries(self, key: str) -> Optional[Tuple[np.ndarray, np.ndarray]]:
        """Positions and D-scores of ``key``; None to refetch (skipped)."""
        table = self.table
        if key in table:
            return table.entries_for(key)
        if table.is_skipped(key):
            if self.on_skipped == 'refetch':
                if key not in self._warned:
                    self._warned.add(key)
                    print_log(
                        f'{type(self).__name__}: {key} was skipped '
                        f'when {self.table_file} was built '
                        f'({table.skip_reason(key)}); drawing another '
                        'sample instead',
                        logger='current',
                        level=30)
                return None
            raise KeyError(
                f'{key!r} was skipped when the D-score table '
                f'{self.table_file!r} was built ({table.skip_reason(key)}). '
                'Remove it from the training data list (or set '
                "on_skipped='refetch' to draw another sample instead)")
        examples = ', '.join(repr(k) for k in table.keys[:3])
        raise KeyError(
            f'{key!r} is not in the D-score table {self.table_file!r} '
            f'({table.num_samples} samples, e.g. {examples}); the table was '
            'computed for a different data list or data prefix - recompute '
            'it')

    def __getstate__(self) -> dict:
        return state_without(self, _warned=set())


@TRANSFORMS.register_module()
class SampleScoredClips(_ScoredTransform):
    """Sample one scored clip of a video and attach its ``gt_dscore``.

    Put it first in the pipeline, before the decoder: the table is read
    before the video is opened, so a video the pass skipped (e.g. a corrupt
    one) follows ``on_skipped`` and is never decoded. Without
    ``total_frames`` in the results (``VideoDataset``) it opens the video
    itself with :class:`CheckedDecordInit`; after a ``DecordInit`` it only
    samples (as ``SampleFrames`` would).

    Required keys: ``filename`` (or ``frame_dir`` with ``total_frames``),
    ``start_index`` (optional, default 0).
    Added keys: ``frame_inds``, ``clip_len``, ``frame_interval``,
    ``num_clips`` (=1), ``gt_dscore`` (float), ``dscore_position`` (int),
    and ``video_reader`` / ``total_frames`` when it opened the video.

    Args:
        clip_len (int, optional): Frames per clip; defaults to the table's
            ``clip_len`` (the candidate pipeline's).
        frame_interval (int, optional): As ``SampleFrames``; defaults to the
            table's.
        sampling (str): ``'random'`` (uniform over the video's scored clips),
            ``'weighted'`` (probability proportional to the D-score) or
            ``'all'`` (deterministic, for validation: every scored clip in
            position order as one view each; ``num_clips`` = their number,
            ``gt_dscore`` the (N,) float32 D-scores, ``dscore_position`` the
            (N,) positions).
        out_of_bound_opt (str): ``'loop'`` or ``'repeat_last'`` (as
            ``SampleFrames``).
        table_file (str, optional): The score table (or set later with
            :meth:`set_table`).
        on_skipped (str): For a video recorded as skipped in the table:
            ``'error'`` raises naming it, ``'refetch'`` returns None so
            that the training data set draws another sample (logged once
            per video and process).
    """

    def __init__(self,
                 clip_len: Optional[int] = None,
                 frame_interval: Optional[int] = None,
                 sampling: str = 'random',
                 out_of_bound_opt: str = 'loop',
                 table_file: Optional[str] = None,
                 on_skipped: str = 'error') -> None:
        super().__init__(table_file, on_skipped)
        if sampling not in ('random', 'weighted', 'all'):
            raise ValueError("sampling must be 'random', 'weighted' or 'all', "
                             "got "
                             f'{sampling!r}')
        if out_of_bound_opt not in ('loop', 'repeat_last'):
            raise ValueError("out_of_bound_opt must be 'loop' or "
                             f"'repeat_last', got {out_of_bound_opt!r}")
        self.clip_len = clip_len
        self.frame_interval = frame_interval
        self.sampling = sampling
        self.out_of_bound_opt = out_of_bound_opt
        self._opener = CheckedDecordInit()

    def _clip_setting(self, name: str) -> int:
        value = getattr(self, name)
        if value is None:
            value = self.table.info.get(name)
            if value is None:
                raise ValueError(
                    f'SampleScoredClips: {name} not given and the table '
                    f'{self.table_file!r} records none (it was not built '
                    'from video clips)')
        return int(value)

    def clip_frame_inds(self,
                        start: int,
                        total_frames: int,
                        start_index: int = 0) -> np.ndarray:
        """Frame indices of the clip starting at ``start`` (SampleFrames')."""
        clip_len = self._clip_setting('clip_len')
        interval = self._clip_setting('frame_interval')
        inds = start + np.arange(clip_len) * interval
        if self.out_of_bound_opt == 'loop':
            inds = np.mod(inds, total_frames)
        else:
            safe = inds < total_frames
            inds = np.where(safe, inds, np.max(safe * inds))
        return (inds + start_index).astype(np.int32)

    def transform(self, results: dict) -> Optional[dict]:
        key = next((str(results[k]) for k in KEY_FIELDS if k in results), None)
        if key is None:
            raise KeyError(f'SampleScoredClips needs one of {KEY_FIELDS} in '
                           'the results')
        entries = self._entries(key)
        if entries is None:
            return None
        if 'total_frames' not in results:
            if 'filename' not in results:
                raise KeyError(
                    f'SampleScoredClips: {key} has no total_frames; a '
                    'frame folder needs a data set that reads it '
                    '(RawframeDataset)')
            results = self._opener(results)
        positions, dscores = entries
        if self.sampling == 'all':
            return self._all_clips(key, results, positions, dscores)
        if self.sampling == 'random':
            i = np.random.randint(len(positions))
        else:
            i = np.random.choice(len(positions), p=dscores / dscores.sum())
        start, total = int(positions[i]), int(results['total_frames'])
        if start >= total:
            raise ValueError(f'{key}: scored clip starts at frame {start} but '
                             f'the video has {total} frames; the table '
                             f'{self.table_file!r} does not match the data')
        results['frame_inds'] = self.clip_frame_inds(
            start, total, int(results.get('start_index', 0)))
        results['clip_len'] = self._clip_setting('clip_len')
        results['frame_interval'] = self._clip_setting('frame_interval')
        results['num_clips'] = 1
        results['gt_dscore'] = float(dscores[i])
        results['dscore_position'] = start
        return results

    def _all_clips(self, key: str, results: dict, positions: np.ndarray,
                   dscores: np.ndarray) -> dict:
        """Every scored clip of the video as one view (``sampling='all'``)."""
        order = np.argsort(positions, kind='stable')
        positions, dscores = positions[order], dscores[order]
        total = int(results['total_frames'])
        if int(positions[-1]) >= total:
            raise ValueError(f'{key}: scored clip starts at frame '
                             f'{int(positions[-1])} but the video has {total} '
                             f'frames; the table {self.table_file!r} does not '
                             'match the data')
        start_index = int(results.get('start_index', 0))
        results['frame_inds'] = np.concatenate([
            self.clip_frame_inds(int(p), total, start_index) for p in positions
        ])
        results['clip_len'] = self._clip_setting('clip_len')
        results['frame_interval'] = self._clip_setting('frame_interval')
        results['num_clips'] = len(positions)
        results['gt_dscore'] = dscores.astype(np.float32)
        results['dscore_position'] = positions.astype(np.int64)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(clip_len={self.clip_len}, '
                f'frame_interval={self.frame_interval}, '
                f'sampling={self.sampling!r}, '
                f'out_of_bound_opt={self.out_of_bound_opt!r}, '
                f'table_file={self.table_file!r})')


@TRANSFORMS.register_module()
class LoadDScore(_ScoredTransform):
    """Attach an image's ``gt_dscore`` from the score table.

    Required keys: ``key`` (default ``img_path``). Added keys: ``gt_dscore``.

    Args:
        key (str): The results field holding the table key.
        table_file (str, optional): The score table (or set later with
            :meth:`set_table`).
        on_skipped (str): ``'error'`` or ``'refetch'`` (as
            :class:`SampleScoredClips`).
    """

    def __init__(self,
                 key: str = 'img_path',
                 table_file: Optional[str] = None,
                 on_skipped: str = 'error') -> None:
        super().__init__(table_file, on_skipped)
        self.key = key

    def transform(self, results: dict) -> Optional[dict]:
        if self.key not in results:
            raise KeyError(f'LoadDScore needs {self.key!r} in the results')
        key = str(results[self.key])
        entries = self._entries(key)
        if entries is None:
            return None
        positions, dscores = entries
        if len(positions) != 1:
            raise ValueError(f'{key}: the table {self.table_file!r} has '
                             f'{len(positions)} elements for it (clip '
                             'positions); LoadDScore expects one per image')
        results['gt_dscore'] = float(dscores[0])
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(key={self.key!r}, '
                f'table_file={self.table_file!r})')
