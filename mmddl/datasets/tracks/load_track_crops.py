"""Cut a track's crops from its frames (each frame read once per group)."""
from collections import OrderedDict
from typing import Optional, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

from ..image_io import ImageDecodeError, read_image
from ..pickle_state import state_without
from ..transforms.group_transforms import DEFAULT_META_KEYS, spread_indices
from .crop_geometry import cut_crop
from .frame_source import FrameSource

#: ``PackGroupInputs(meta_keys=TRACK_META_KEYS)`` keeps a track's record
TRACK_META_KEYS = DEFAULT_META_KEYS + (
    'track_id', 'sequence', 'frame_ids', 'bboxes', 'crop_boxes', 'box_scores',
    'visibility', 'source', 'source_type', 'image_size')


@TRANSFORMS.register_module()
class LoadTrackCrops(BaseTransform):
    """Read a track's frames and cut its crops into ``imgs`` (n, H, W, 3)
    uint8 BGR, in frame order, like ``LoadGroupImages`` for an image group.

    Each crop is :func:`~mmddl.datasets.tracks.crop_geometry.cut_crop`:
    the box with ``margin`` around it, clipped to the frame, resized to
    ``size`` with ``cv2.INTER_LINEAR``. Frames come from ``img_paths``
    (frame folders; ``read_image`` names a bad file) or from the video
    ``source`` (decord; a frame that cannot be decoded names the video),
    each distinct frame decoded once per group; with ``cache_frames`` the
    last decoded frames are also kept across groups (tracks of one
    sequence share frames). A frame whose size is not the sequence's
    ``image_size`` stops naming the frame. ``PackGroupInputs`` then packs
    the crops as it packs any group.

    Sets ``imgs``, ``kept_indices`` (indices into the track's boxes),
    ``crop_boxes`` ((k, 4) ``x0, y0, x1, y1`` per kept crop) and
    ``img_shape``.

    Args:
        size (int | Tuple[int, int]): Crop ``(h, w)`` (the base's input,
            e.g. ``(256, 128)`` for the MARS configs).
        margin (float): Relative margin around the box on each side.
            Defaults to 0.1.
        max_images (int, optional): Keep ``max_images`` crops evenly spaced
            over a longer track (as ``LoadGroupImages``); default all.
        cache_frames (int): Decoded frames kept across groups (0: none).
    """

    def __init__(self,
                 size: Union[int, Tuple[int, int]] = (256, 128),
                 margin: float = 0.1,
                 max_images: Optional[int] = None,
                 cache_frames: int = 0):
        self.size = (size, size) if isinstance(size, int) else tuple(
            int(s) for s in size)
        if margin < 0:
            raise ValueError(f'margin must be >= 0, got {margin}')
        if max_images is not None and max_images < 1:
            raise ValueError(f'max_images must be >= 1, got {max_images}')
        self.margin = float(margin)
        self.max_images = max_images
        self.cache_frames = int(cache_frames)
        self._videos = {}
        self._cache = OrderedDict()

    def __getstate__(self):
        return state_without(self, _videos={}, _cache=OrderedDict())

    def _read(self, results: dict, frames: np.ndarray,
              paths: Optional[list]) -> list:
        """Frames of the track (each distinct one once), cache first."""
        source, group = results['source'], results.get('group_name', '?')
        uniq, inverse = np.unique(frames, return_inverse=True)
        got = {k: self._cache.get((source, k)) for k in uniq.tolist()}
        todo, imgs = [k for k, v in got.items() if v is None], []
        if todo and paths is None:  # a video
            if source not in self._videos:
                self._videos[source] = FrameSource('video', source, '', 0,
                                                   (0, 0))
            imgs = self._videos[source].read(todo)
        elif todo:
            path_of = dict(zip(frames.tolist(), paths))
            imgs = [
                read_image(path_of[k], f'{path_of[k]} of track {group!r}')
                for k in todo
            ]
        for k, img in zip(todo, imgs):
            if img.shape[:2] != tuple(results['image_size']):
                raise ImageDecodeError(
                    f'frame {k} of {source} (track {group!r}) is '
                    f'{img.shape[0]} x {img.shape[1]}; the sequence\'s '
                    f'frames are {results["image_size"][0]} x '
                    f'{results["image_size"][1]}.')
            got[k] = img
            if self.cache_frames > 0:
                self._cache[(source, k)] = img
        for k in uniq.tolist():  # most recently used last
            if (source, k) in self._cache:
                self._cache.move_to_end((source, k))
        while len(self._cache) > self.cache_frames:
            self._cache.popitem(last=False)
        return [got[k] for k in uniq[inverse].tolist()]

    def transform(self, results: dict) -> dict:
        """Cut and resize the track's crops.

        Args:
            results (dict): One track of ``MOTTrackDataset``: ``frame_ids``,
                ``bboxes`` (n, 4) xywh, ``image_size``, ``source``,
                ``source_type`` and, for frame folders, ``img_paths``.
        """
        frames = np.asarray(results['frame_ids'], np.int64)
        boxes = np.asarray(results['bboxes'], np.float64).reshape(-1, 4)
        idx = spread_indices(len(frames), self.max_images)
        paths = None
        if results['source_type'] == 'frames':
            paths = [results['img_paths'][i] for i in idx]
        imgs = self._read(results, frames[idx], paths)
        crops, regions = [], []
        for img, box in zip(imgs, boxes[idx]):
            crop, region = cut_crop(img, box, self.margin, self.size)
            crops.append(crop)
            regions.append(region)
        results['imgs'] = np.stack(crops)
        results['kept_indices'] = idx
        results['crop_boxes'] = np.asarray(regions, np.int64).reshape(-1, 4)
        results['img_shape'] = self.size
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(size={self.size}, margin='
                f'{self.margin}, max_images={self.max_images}, '
                f'cache_frames={self.cache_frames})')
