"""Videos stored as folders of frame images: listing in frame order."""
import os
import os.path as osp
import re
from typing import List, Sequence

from ..base_group_dataset import BaseGroupDataset

_FRAME_NUM = re.compile(r'(\d+)\.[^.]+$')


def frame_sort_key(filename: str):
    """Sort key of a frame file: its trailing frame number, then its name.

    ``aligned_detect_0.555.jpg`` sorts as 555, so frame 999 comes before
    frame 1000 (a lexicographic sort would not); names without a number come
    last.

    Args:
        filename (str): Frame file name.

    Returns:
        tuple: ``(0, number, filename)`` or ``(1, 0, filename)``.
    """
    m = _FRAME_NUM.search(filename)
    return (0, int(m.group(1)), filename) if m else (1, 0, filename)


class FrameFolderDataset(BaseGroupDataset):
    """A group dataset whose groups are videos, each a folder of frames.

    Args:
        img_exts (Sequence[str]): Frame file extensions (any case).
        **kwargs: See :class:`BaseGroupDataset`.
    """

    def __init__(self, img_exts: Sequence[str] = ('.jpg', '.png'), **kwargs):
        self.img_exts = tuple(e.lower() for e in img_exts)
        super().__init__(**kwargs)

    def list_frames(self, video_dir: str, where: str) -> List[str]:
        """The frame files of ``video_dir`` in frame-number order
        (:func:`frame_sort_key`).

        Args:
            video_dir (str): The video's folder.
            where (str): Where it is referenced (``file:line``), for the
                messages.

        Returns:
            list[str]: The frame paths.

        Raises:
            FileNotFoundError: The folder does not exist or holds no frame.
        """
        if not osp.isdir(video_dir):
            raise FileNotFoundError(f'Video folder {video_dir} (referenced at '
                                    f'{where}) does not exist.')
        names = sorted((n for n in os.listdir(video_dir)
                        if n.lower().endswith(self.img_exts)),
                       key=frame_sort_key)
        if not names:
            raise FileNotFoundError(
                f'Video folder {video_dir} (referenced at {where}) has no '
                f'{self.img_exts} frames.')
        return [osp.join(video_dir, n) for n in names]
