"""Where a track box lies in its frame and the pixel region its crop takes."""
from typing import Tuple

import cv2
import numpy as np

#: :func:`box_status` values
INSIDE, PARTIAL, OUTSIDE = 'inside', 'partial', 'outside'


def box_status(box_xywh, size: Tuple[int, int]) -> str:
    """Whether a box is inside its ``(h, w)`` frame, partly or wholly out.

    A box whose part inside the frame is less than one pixel wide or high
    is ``'outside'`` (there is nothing to crop).

    Args:
        box_xywh (Sequence[float]): ``x, y, w, h`` (top-left, pixels).
        size (Tuple[int, int]): Frame ``(h, w)``.

    Returns:
        str: ``'inside'``, ``'partial'`` or ``'outside'``.
    """
    x, y, w, h = (float(v) for v in box_xywh)
    fh, fw = size
    iw = min(x + w, fw) - max(x, 0.0)
    ih = min(y + h, fh) - max(y, 0.0)
    if iw < 1.0 or ih < 1.0:
        return OUTSIDE
    if x < 0 or y < 0 or x + w > fw or y + h > fh:
        return PARTIAL
    return INSIDE


def crop_region(box_xywh, margin: float,
                size: Tuple[int, int]) -> Tuple[int, int, int, int]:
    """The pixel region ``(x0, y0, x1, y1)`` (end exclusive) of a crop.

    The box grows by ``margin`` times its width on the left and on the
    right and ``margin`` times its height above and below; the edges are
    rounded to the nearest pixel and clipped to the frame, keeping at least
    one pixel. The crop is ``frame[y0:y1, x0:x1]``.

    Args:
        box_xywh (Sequence[float]): ``x, y, w, h`` (top-left, pixels).
        margin (float): Relative margin (0 = the box itself).
        size (Tuple[int, int]): Frame ``(h, w)``.

    Returns:
        Tuple[int, int, int, int]: ``x0, y0, x1, y1``.
    """
    x, y, w, h = (float(v) for v in box_xywh)
    fh, fw = size
    mx, my = margin * w, margin * h
    x0 = int(np.clip(round(x - mx), 0, fw - 1))
    y0 = int(np.clip(round(y - my), 0, fh - 1))
    x1 = int(np.clip(round(x + w + mx), x0 + 1, fw))
    y1 = int(np.clip(round(y + h + my), y0 + 1, fh))
    return x0, y0, x1, y1


def cut_crop(frame: np.ndarray, box_xywh, margin: float,
             size: Tuple[int, int]) -> Tuple[np.ndarray, tuple]:
    """Cut :func:`crop_region` from ``frame`` and resize it to ``size``
    (``cv2.INTER_LINEAR``, as ``LoadGroupImages`` resizes).

    Args:
        frame (np.ndarray): (H, W, C) frame.
        box_xywh (Sequence[float]): ``x, y, w, h``.
        margin (float): Relative margin (see :func:`crop_region`).
        size (Tuple[int, int]): Output ``(h, w)``.

    Returns:
        tuple: The (h, w, C) crop and its region ``(x0, y0, x1, y1)``.
    """
    x0, y0, x1, y1 = crop_region(box_xywh, margin, frame.shape[:2])
    crop = cv2.resize(
        frame[y0:y1, x0:x1], (int(size[1]), int(size[0])),
        interpolation=cv2.INTER_LINEAR)
    return crop, (x0, y0, x1, y1)
