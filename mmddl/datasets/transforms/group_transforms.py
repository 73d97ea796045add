"""Load and pack a whole group (video / template / tracklet) of images."""
from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS
from mmpretrain.structures import DataSample

from ..face.alignment import align_face, crop_bbox
from ..image_io import read_image

DEFAULT_META_KEYS = ('group_id', 'group_name', 'num_images', 'img_paths',
                     'template_id', 'media_ids', 'det_scores', 'split', 'pid',
                     'camid', 'is_query', 'subject_id', 'sample_idx',
                     'kept_indices')


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

    Args:
        size (int | Tuple[int, int]): Output (h, w) or int.
        align (bool): Use landmarks when present.
        crop_bbox (bool): Use boxes when present.
        bbox_scale (float): Box enlargement factor.
        max_images (int, optional): If set and a group is larger, keep
            ``max_images`` images evenly spaced (the kept indices go to
            ``kept_indices``); by default every image is loaded.
    """

    def __init__(self,
                 size: Union[int, Tuple[int, int]] = 112,
                 align: bool = True,
                 crop_bbox: bool = True,
                 bbox_scale: float = 1.0,
                 max_images: Optional[int] = None):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.align, self.crop, self.bbox_scale = align, crop_bbox, bbox_scale
        self.max_images = max_images

    def _one(self, img, i, results):
        lmk = results.get('landmarks')
        if self.align and lmk is not None and np.isfinite(lmk[i]).all():
            return align_face(img, lmk[i], self.size)
        boxes = results.get('bboxes')
        if self.crop and boxes is not None:
            img = crop_bbox(img, boxes[i], self.bbox_scale)
        return cv2.resize(
            img, (self.size[1], self.size[0]), interpolation=cv2.INTER_LINEAR)

    def transform(self, results: dict) -> dict:
        """Load, align/crop and stack the group's images.

        Args:
            results (dict): Data info of one group.
        """
        paths = results['img_paths']
        idx = np.arange(len(paths))
        if self.max_images is not None and len(paths) > self.max_images:
            idx = np.unique(
                np.linspace(0,
                            len(paths) - 1,
                            self.max_images).round().astype(int))
        imgs = []
        group = results.get('group_name', '?')
        for i in idx:
            img = read_image(paths[i], f'{paths[i]} of group {group!r}')
            imgs.append(self._one(img, i, results))
        results['imgs'] = np.stack(imgs)
        results['kept_indices'] = idx
        results['img_shape'] = self.size
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(size={self.size}, align={self.align}, '
                f'crop_bbox={self.crop}, bbox_scale={self.bbox_scale}, '
                f'max_images={self.max_images})')


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
        imgs = np.ascontiguousarray(results['imgs'])
        inputs = torch.from_numpy(imgs).permute(0, 3, 1, 2).contiguous()
        sample = DataSample()
        if results.get('gt_label') is not None:
            sample.set_gt_label(results['gt_label'])
        sample.set_metainfo(
            {k: results[k]
             for k in self.meta_keys if k in results})
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self):
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
