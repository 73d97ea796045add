"""Load and pack a whole group (video / template / tracklet) of images."""
import logging
from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log
from mmpretrain.registry import TRANSFORMS
from mmpretrain.structures import DataSample

from ..face.alignment import (align_face, arcface_template, crop_bbox,
                              similarity_transform)
from ..image_io import read_image
from .two_stage_read import GroupImageSource, pack_images, read_image_reduced

DEFAULT_META_KEYS = ('group_id', 'group_name', 'num_images', 'img_paths',
                     'template_id', 'media_ids', 'det_scores', 'split', 'pid',
                     'camid', 'is_query', 'subject_id', 'sample_idx',
                     'kept_indices', 'ddl_group_source')


def _hw(size: Union[int, Tuple[int, int]]) -> Tuple[int, int]:
    if isinstance(size, int):
        return size, size
    return tuple(int(s) for s in size)


def spread_indices(n: int, most: Optional[int]) -> np.ndarray:
    """Indices of at most ``most`` of ``n`` items, evenly spaced from the
    first to the last (all ``n`` when ``most`` is None or not smaller).

    Args:
        n (int): Number of items.
        most (int, optional): Most indices to keep.

    Returns:
        np.ndarray: Ascending indices.
    """
    if most is None or n <= most:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, most).round().astype(int))


@TRANSFORMS.register_module()
class LoadGroupImages(BaseTransform):
    """Read every image of a group into ``imgs`` (n, H, W, 3) uint8 BGR.

    Per image, in this order of preference:
    1. ``align=True`` and the item has ``landmarks`` (n, 5, 2) with finite
       values for that image -> 5-point similarity warp to the ArcFace
       template at ``size`` (insightface IJB-B/C protocol);
    2. ``crop_bbox=True`` and the item has ``bboxes`` (n, 4) xywh -> crop the
       box enlarged by ``bbox_scale`` (IJB-A), then resize;
    3. otherwise resize to ``size``.

    Two-stage reading (``two_stage=True``, for ``DDLGroupEncoder``): ``imgs``
    holds every image at ``ddnet_size`` only (the DDNet's input, not resized
    again by the model), a JPEG decoded at 1/2, 1/4 or 1/8 size (DCT scaling)
    when the reduced image still covers ``ddnet_size`` (landmarks and boxes
    scaled by the decoded / full size ratio), other formats in full (counted
    in ``read_counts``, logged once); the same geometry then resizes with
    ``cv2.INTER_AREA``. ``ddl_group_source`` is a
    :class:`~mmddl.datasets.transforms.GroupImageSource` from which the
    model reads the selected images at ``size``, bit-identical to one-stage
    reading (``PackGroupInputs`` packs it into the data sample).

    Args:
        size (int | Tuple[int, int]): Output (h, w) or int.
        align (bool): Use landmarks when present.
        crop_bbox (bool): Use boxes when present.
        bbox_scale (float): Box enlargement factor.
        max_images (int, optional): If set and a group is larger, keep
            ``max_images`` images evenly spaced (the kept indices go to
            ``kept_indices``); by default every image is loaded.
        two_stage (bool): Two-stage reading (see above). Defaults to False.
        ddnet_size (int | Tuple[int, int], optional): The DDNet's input
            (h, w) (the model's ``ddnet_input_size``); required by
            ``two_stage``.
    """

    def __init__(self,
                 size: Union[int, Tuple[int, int]] = 112,
                 align: bool = True,
                 crop_bbox: bool = True,
                 bbox_scale: float = 1.0,
                 max_images: Optional[int] = None,
                 two_stage: bool = False,
                 ddnet_size: Optional[Union[int, Tuple[int, int]]] = None):
        self.size = _hw(size)
        self.align, self.crop, self.bbox_scale = align, crop_bbox, bbox_scale
        self.max_images = max_images
        self.two_stage = bool(two_stage)
        self.ddnet_size = None if ddnet_size is None else _hw(ddnet_size)
        if self.two_stage and self.ddnet_size is None:
            raise ValueError('LoadGroupImages(two_stage=True) needs '
                             'ddnet_size, the DDNet input (h, w) (the '
                             "model's ddnet_input_size)")
        self.read_counts = dict(reduced=0, full=0, full_not_jpeg=0)

    def _place(self, img: np.ndarray, lmk, box, size: Tuple[int, int],
               interpolation: int) -> np.ndarray:
        """Align / crop / resize one image to ``size`` (both stages)."""
        if self.align and lmk is not None and np.isfinite(lmk).all():
            return align_face(img, lmk, size)
        if self.crop and box is not None:
            img = crop_bbox(img, box, self.bbox_scale)
        return cv2.resize(img, (size[1], size[0]), interpolation=interpolation)

    def _one(self, img, i, results):
        lmk, boxes = results.get('landmarks'), results.get('bboxes')
        return self._place(img, None if lmk is None else lmk[i],
                           None if boxes is None else boxes[i], self.size,
                           cv2.INTER_LINEAR)

    def _stage1(self, path: str, name: str, i: int,
                results: dict) -> np.ndarray:
        """Image ``i`` at ``ddnet_size``, read at a reduced size if enough."""
        lmk, boxes = results.get('landmarks'), results.get('bboxes')
        lmk = None if lmk is None else np.asarray(lmk[i], np.float64)
        box = None if boxes is None else np.asarray(boxes[i], np.float64)
        dh, dw = self.ddnet_size
        limit, min_size = float('inf'), None
        if self.align and lmk is not None and np.isfinite(lmk).all():
            m = similarity_transform(
                lmk.reshape(5, 2), arcface_template(self.ddnet_size))
            # output px per input px: a reduction r keeps r * scale <= 1
            limit = 1.0 / max(np.sqrt(abs(np.linalg.det(m[:, :2]))), 1e-12)
            box = None
        elif self.crop and box is not None:
            limit = min(box[2] * self.bbox_scale / dw,
                        box[3] * self.bbox_scale / dh)
            lmk = None
        else:
            lmk, box, min_size = None, None, self.ddnet_size
        img, (sy, sx), how = read_image_reduced(path, name, limit, min_size)
        self.read_counts[how] += 1
        if how == 'full_not_jpeg' and self.read_counts[how] == 1:
            print_log(
                f'LoadGroupImages(two_stage=True): {name} is not a JPEG; '
                'such images are read at full size (counted in '
                'read_counts)',
                logger='current',
                level=logging.WARNING)
        if lmk is not None:  # pixel centres: x' = (x + 0.5) * s - 0.5
            lmk = (lmk.reshape(5, 2) + 0.5) * (sx, sy) - 0.5
        if box is not None:  # box edges scale directly
            box = box * (sx, sy, sx, sy)
        return self._place(img, lmk, box, self.ddnet_size, cv2.INTER_AREA)

    def transform(self, results: dict) -> dict:
        """Load, align/crop and stack the group's images.

        Args:
            results (dict): Data info of one group.
        """
        paths = results['img_paths']
        idx = spread_indices(len(paths), self.max_images)
        imgs = []
        group = results.get('group_name', '?')
        for i in idx:
            name = f'{paths[i]} of group {group!r}'
            if self.two_stage:
                imgs.append(self._stage1(paths[i], name, i, results))
                continue
            img = read_image(paths[i], name)
            imgs.append(self._one(img, i, results))
        results['imgs'] = np.stack(imgs)
        results['kept_indices'] = idx
        results['img_shape'] = self.size
        if self.two_stage:
            results['img_shape'] = self.ddnet_size
            geometry = {
                k: np.asarray(results[k])[idx]
                for k in ('landmarks', 'bboxes') if results.get(k) is not None
            }
            results['ddl_group_source'] = GroupImageSource(
                group, [paths[i] for i in idx],
                LoadGroupImages(self.size, self.align, self.crop,
                                self.bbox_scale), **geometry)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(size={self.size}, align={self.align}, '
                f'crop_bbox={self.crop}, bbox_scale={self.bbox_scale}, '
                f'max_images={self.max_images}, two_stage={self.two_stage}, '
                f'ddnet_size={self.ddnet_size})')


@TRANSFORMS.register_module()
class PackGroupInputs(BaseTransform):
    """Pack ``imgs`` into ``inputs`` (n, 3, H, W) uint8 and a ``DataSample``.

    The default collate (``pseudo_collate``) then yields a list of per-group
    tensors of different ``n``. ``gt_label`` is packed when present; the
    listed ``meta_keys`` present in the results go to the sample's metainfo.

    Args:
        meta_keys (Sequence[str]): Result keys copied into the data sample's
            metainfo.
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        """Build ``dict(inputs=Tensor, data_samples=DataSample)``.

        Args:
            results (dict): Data info of one group.
        """
        inputs = pack_images(np.asarray(results['imgs']))
        sample = DataSample()
        if results.get('gt_label') is not None:
            sample.set_gt_label(results['gt_label'])
        sample.set_metainfo(
            {k: results[k]
             for k in self.meta_keys if k in results})
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self):
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
