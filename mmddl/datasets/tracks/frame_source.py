"""The frames of a sequence: a MOTChallenge sequence folder, a plain folder of
frames or a video file (decord), numbered from 1 as MOT files count them."""
import os
import os.path as osp
import re
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..base_group_dataset import DatasetFormatError
from ..image_io import read_image
from ..pickle_state import state_without
from ..transforms.checked_decord import _fail, decode_frames
from .mot_format import read_seqinfo

#: extensions of frame files in a plain folder (no ``seqinfo.ini``)
FRAME_EXTS = ('.jpg', '.jpeg', '.png', '.bmp')


def natural_key(name: str) -> list:
    """Sort key of a file name with its digit runs compared as numbers.

    Args:
        name (str): File name.
    """
    return [int(t) if t.isdigit() else t for t in re.split(r'(\d+)', name)]


class FrameSource:
    """A sequence's frames, read by 1-based frame number as BGR ``uint8``.

    Build it with :meth:`open`. Picklable: a video's decord reader is opened
    on first use and not pickled (data loader workers open their own).

    Args:
        kind (str): ``'frames'`` or ``'video'``.
        path (str): The sequence folder, frame folder or video file.
        name (str): Sequence name (``seqinfo.ini``'s ``name``, else the
            folder / file name).
        num_frames (int): Frames in the sequence.
        size (Tuple[int, int]): Frame ``(h, w)``.
        frame_rate (float, optional): Frames per second when known.
        frame_paths (Sequence[str], optional): File of each frame
            (``'frames'``).
        seqinfo (str, optional): The ``seqinfo.ini`` read, if any.
    """

    def __init__(self,
                 kind: str,
                 path: str,
                 name: str,
                 num_frames: int,
                 size: Tuple[int, int],
                 frame_rate: Optional[float] = None,
                 frame_paths: Optional[Sequence[str]] = None,
                 seqinfo: Optional[str] = None):
        if kind not in ('frames', 'video'):
            raise ValueError(f"kind must be 'frames' or 'video', got {kind!r}")
        self.kind, self.path, self.name = kind, path, name
        self.num_frames = int(num_frames)
        self.size = (int(size[0]), int(size[1]))
        self.frame_rate = frame_rate
        self.frame_paths = None if frame_paths is None else list(frame_paths)
        self.seqinfo = seqinfo
        self._reader = None

    def __getstate__(self):
        return state_without(self, _reader=None)

    def __repr__(self) -> str:
        return (f'FrameSource({self.kind!r}, {self.path!r}, '
                f'frames={self.num_frames}, size={self.size})')

    # ----------------------------------------------------------- building
    @classmethod
    def open(cls, path: str) -> 'FrameSource':
        """Probe a sequence folder, frame folder or video file.

        * a folder with ``seqinfo.ini``: MOTChallenge sequence, frames
          ``<imDir>/000001<imExt>`` ...; the first frame must have
          ``imHeight x imWidth``;
        * a frame folder whose parent holds a ``seqinfo.ini`` naming it as
          ``imDir`` (``MOT17-02/img1``): the same sequence;
        * another folder: its image files in natural order (``f2.jpg``
          before ``f10.jpg``) are frames 1, 2 ...;
        * a file: a video, frame ``k`` is decord's frame ``k - 1``.

        Args:
            path (str): The folder or file.

        Raises:
            FileNotFoundError: No such path.
            DatasetFormatError: A folder without frames, a ``seqinfo.ini``
                that does not match its frames.
            VideoDecodeError: A video that cannot be opened.
        """
        if osp.isdir(path):
            seq_dir = path.rstrip('/')
            ini = osp.join(seq_dir, 'seqinfo.ini')
            parent_ini = osp.join(osp.dirname(seq_dir), 'seqinfo.ini')
            if not osp.isfile(ini) and osp.isfile(parent_ini) and (
                    read_seqinfo(parent_ini).im_dir.strip('/')
                    == osp.basename(seq_dir)):
                seq_dir, ini = osp.dirname(seq_dir), parent_ini
            if osp.isfile(ini):
                return cls._mot_sequence(seq_dir, ini)
            return cls._frame_folder(seq_dir)
        if osp.isfile(path):
            src = cls('video', path,
                      osp.splitext(osp.basename(path))[0], 0, (0, 0))
            try:
                reader = src._video()
            except Exception as err:  # decord: RuntimeError / DECORDError
                _fail(dict(filename=path), 'open', err)
            first = src.read([1])[0]
            src.num_frames = len(reader)
            src.size = first.shape[:2]
            src.frame_rate = float(reader.get_avg_fps())
            return src
        raise FileNotFoundError(f'frame source not found: {path} (expected a '
                                'sequence folder, a frame folder or a video)')

    @classmethod
    def _mot_sequence(cls, seq_dir: str, ini: str) -> 'FrameSource':
        info = read_seqinfo(ini)
        paths = [
            info.frame_path(seq_dir, k) for k in range(1, info.seq_length + 1)
        ]
        if not osp.isfile(paths[0]):
            raise DatasetFormatError(
                f'{ini}: frame 1 {paths[0]} does not exist (imDir='
                f'{info.im_dir}, imExt={info.im_ext}).')
        got = read_image(paths[0]).shape[:2]
        if got != (info.im_height, info.im_width):
            raise DatasetFormatError(
                f'{ini}: imHeight x imWidth = {info.im_height} x '
                f'{info.im_width}, but frame 1 {paths[0]} is {got[0]} x '
                f'{got[1]}.')
        return cls('frames', seq_dir, info.name, info.seq_length, got,
                   info.frame_rate, paths, ini)

    @classmethod
    def _frame_folder(cls, folder: str) -> 'FrameSource':
        names = sorted((n for n in os.listdir(folder)
                        if osp.splitext(n)[1].lower() in FRAME_EXTS),
                       key=natural_key)
        if not names:
            raise DatasetFormatError(
                f'{folder}: no seqinfo.ini and no frame files '
                f'({", ".join(FRAME_EXTS)}).')
        paths = [osp.join(folder, n) for n in names]
        size = read_image(paths[0]).shape[:2]
        return cls('frames', folder, osp.basename(folder), len(paths), size,
                   None, paths)

    # ------------------------------------------------------------ reading
    def _video(self):
        if self._reader is None:
            import decord
            self._reader = decord.VideoReader(self.path, num_threads=1)
        return self._reader

    def frame_name(self, frame: int) -> str:
        """The file of 1-based ``frame``, or ``<video>#<frame>`` for a video.

        Args:
            frame (int): 1-based frame number.
        """
        if self.kind == 'frames':
            return self.frame_paths[frame - 1]
        return f'{self.path}#{frame:06d}'

    def read(self, frames: Sequence[int]) -> List[np.ndarray]:
        """Frames by 1-based number, each distinct frame decoded once.

        Args:
            frames (Sequence[int]): 1-based frame numbers (any order,
                repeats allowed).

        Returns:
            list[np.ndarray]: (h, w, 3) uint8 BGR frames in the order of
            ``frames``.

        Raises:
            IndexError: A frame outside ``1..num_frames`` (when known).
            ImageDecodeError / VideoDecodeError: Naming the file.
        """
        frames = np.asarray(frames, np.int64).ravel()
        if frames.size and (frames.min() < 1 or
                            (self.num_frames
                             and frames.max() > self.num_frames)):
            raise IndexError(f'{self.path}: frames {frames.min()}..'
                             f'{frames.max()} outside 1..{self.num_frames}')
        if self.kind == 'video':
            rgb = decode_frames(self._video(), frames - 1, self.path)
            return [np.ascontiguousarray(f[..., ::-1]) for f in rgb]
        uniq, inverse = np.unique(frames, return_inverse=True)
        imgs = [read_image(self.frame_paths[k - 1]) for k in uniq]
        return [imgs[i] for i in inverse]
