"""Two-stage reading of face / re-ID groups: JPEGs read at a reduced size for
the DDNet first, the selected images at the base's size on demand
(:class:`GroupImageSource`)."""
from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch

from ..image_io import decode_image, read_image_bytes

#: DCT-scaled JPEG decodes OpenCV offers, largest reduction first.
REDUCED_FLAGS = ((8, cv2.IMREAD_REDUCED_COLOR_8),
                 (4, cv2.IMREAD_REDUCED_COLOR_4), (2,
                                                   cv2.IMREAD_REDUCED_COLOR_2))

#: JPEG start-of-frame markers (they hold the image size).
_SOF = {
    0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE,
    0xCF
}


def pack_images(imgs: np.ndarray) -> torch.Tensor:
    """(n, H, W, C) images as a contiguous (n, C, H, W) tensor.

    numpy's transpose copy (5x faster than torch's permute + contiguous
    on uint8, measured).

    Args:
        imgs (np.ndarray): (n, H, W, C) images.
    """
    return torch.from_numpy(np.ascontiguousarray(imgs.transpose(0, 3, 1, 2)))


def jpeg_size(data: bytes) -> Optional[Tuple[int, int]]:
    """``(h, w)`` from a JPEG's start-of-frame header, without decoding.

    Args:
        data (bytes): The encoded file.

    Returns:
        tuple | None: ``(h, w)``, or None for data that is not a JPEG (or
        whose header is cut off).
    """
    if data[:2] != b'\xff\xd8':
        return None
    i, n = 2, len(data)
    while i + 9 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # no length field
            i += 2
            continue
        if marker in _SOF:
            return (int.from_bytes(data[i + 5:i + 7], 'big'),
                    int.from_bytes(data[i + 7:i + 9], 'big'))
        i += 2 + int.from_bytes(data[i + 2:i + 4], 'big')
    return None


def _fits(got: Tuple[int, int], min_size: Optional[Tuple[int, int]]) -> bool:
    return min_size is None or (got[0] >= min_size[0]
                                and got[1] >= min_size[1])


def read_image_reduced(
    path: str,
    name: str,
    max_reduction: Union[float, Sequence[float]] = float('inf'),
    min_size: Optional[Tuple[int, int]] = None,
) -> Tuple[np.ndarray, Tuple[float, float], str]:
    """Read an image, decoding a JPEG at 1/2, 1/4 or 1/8 size when allowed.

    The largest reduction ``r`` (DCT scaling: libjpeg decodes
    ``ceil(h / r) x ceil(w / r)``) with ``r <= max_reduction`` whose decoded
    image is at least ``min_size`` is used. Other formats, and JPEGs whose
    decoded size does not match their header, are read in full.

    Args:
        path (str): Image file.
        name (str): How to name it in errors (file and group).
        max_reduction (float | Sequence[float]): Largest allowed reduction
            (one for both axes, or ``(ry, rx)``). Defaults to no bound.
        min_size (tuple[int, int], optional): Smallest ``(h, w)`` of the
            decoded image.

    Returns:
        tuple: The BGR uint8 image, its ``(sy, sx)`` size ratio to the full
        image (decoded / full) and how it was read: ``'reduced'``,
        ``'full'`` (no reduction small enough) or ``'full_not_jpeg'``.
    """
    data = read_image_bytes(path, name)
    limit = float(np.min(max_reduction))
    size = jpeg_size(data)
    if size is None:
        return decode_image(data, name), (1.0, 1.0), 'full_not_jpeg'
    for r, flag in REDUCED_FLAGS:
        want = (-(-size[0] // r), -(-size[1] // r))
        if r > limit or not (_fits(want, min_size)
                             or _fits(want[::-1], min_size)):
            continue
        img = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
        got = None if img is None else img.shape[:2]
        for h, w in (size, size[::-1]):  # EXIF rotation swaps the axes
            if got == (-(-h // r), -(-w // r)) and _fits(got, min_size):
                return img, (got[0] / h, got[1] / w), 'reduced'
        break  # undecodable or unexpected: the full read decides
    return decode_image(data, name), (1.0, 1.0), 'full'


class GroupImageSource:
    """Lazy handle on a group's images, read at the base's size on demand.

    Picklable (data loader workers pass it to the main process): it holds
    the image paths, their landmarks / boxes and the one-stage loader
    (a ``LoadGroupImages`` at the base's size), so :meth:`load` gives the
    images bit-identical to one-stage reading.

    Args:
        group (str): The group's name (for errors).
        img_paths (Sequence[str]): The group's images (the loaded ones, in
            the order of the stage-1 images).
        loader (LoadGroupImages): A one-stage loader (its ``transform`` reads,
            aligns / crops and resizes ``img_paths`` with ``landmarks`` /
            ``bboxes``).
        landmarks (np.ndarray, optional): (n, 5, 2) landmarks.
        bboxes (np.ndarray, optional): (n, 4) xywh boxes.
    """

    def __init__(self,
                 group: str,
                 img_paths: Sequence[str],
                 loader,
                 landmarks: Optional[np.ndarray] = None,
                 bboxes: Optional[np.ndarray] = None) -> None:
        self.group = str(group)
        self.img_paths = list(img_paths)
        n = len(self.img_paths)
        for key, arr in (('landmarks', landmarks), ('bboxes', bboxes)):
            if arr is not None and len(arr) != n:
                raise ValueError(f'group {self.group!r}: {len(arr)} {key} '
                                 f'for {n} images')
        self.landmarks = None if landmarks is None else np.asarray(landmarks)
        self.bboxes = None if bboxes is None else np.asarray(bboxes)
        self.loader = loader

    @property
    def num_images(self) -> int:
        """Images n of the group."""
        return len(self.img_paths)

    @property
    def size(self) -> Tuple[int, int]:
        """``(h, w)`` of the images :meth:`load` gives."""
        return tuple(self.loader.size)

    def __repr__(self) -> str:
        return (f'GroupImageSource({self.group!r}, images={self.num_images},'
                f' size={self.size})')

    def load(self, indices: Union[Sequence[int], np.ndarray,
                                  torch.Tensor]) -> torch.Tensor:
        """Read, align / crop and resize images at the base's size.

        Args:
            indices (Sequence[int] | Tensor): Images to load, in the order
                wanted (indices into the group's n images).

        Returns:
            Tensor: (k, 3, H, W) uint8 BGR, as ``PackGroupInputs`` packs the
            one-stage images.
        """
        if isinstance(indices, torch.Tensor):
            indices = indices.cpu().numpy()
        idx = np.asarray(indices, dtype=np.int64).ravel()
        if idx.size == 0:
            return torch.zeros((0, 3) + self.size, dtype=torch.uint8)
        bad = idx[(idx < 0) | (idx >= self.num_images)]
        if bad.size:
            raise IndexError(f'group {self.group!r}: image indices '
                             f'{bad.tolist()} out of range for '
                             f'{self.num_images} images')
        results = dict(
            img_paths=[self.img_paths[i] for i in idx], group_name=self.group)
        if self.landmarks is not None:
            results['landmarks'] = self.landmarks[idx]
        if self.bboxes is not None:
            results['bboxes'] = self.bboxes[idx]
        return pack_images(self.loader.transform(results)['imgs'])
