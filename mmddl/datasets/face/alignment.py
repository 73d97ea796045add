"""Face alignment: 5-point similarity warp to the ArcFace template, crops."""
from typing import Sequence, Tuple, Union

import cv2
import numpy as np

#: ArcFace / insightface 5-point template for a 112x112 aligned face.
ARCFACE_TEMPLATE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014],
                                 [56.0252, 71.7366], [41.5493, 92.3655],
                                 [70.7299, 92.2041]],
                                dtype=np.float32)

SizeT = Union[int, Tuple[int, int]]


def _hw(size: SizeT) -> Tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]),
                                                       int(size[1]))


def arcface_template(size: SizeT = 112) -> np.ndarray:
    """The ArcFace template scaled to an output of ``size`` = (h, w) or int.

    Args:
        size (int | Tuple[int, int]): Output (h, w) or side length.
    """
    h, w = _hw(size)
    return ARCFACE_TEMPLATE_112 * np.array([w / 112.0, h / 112.0], np.float32)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, shift) src -> dst.

    Args:
        src (np.ndarray): (K, 2) source points.
        dst (np.ndarray): (K, 2) destination points.

    Returns:
        np.ndarray: (2, 3) affine matrix for ``cv2.warpAffine``.
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(
            src) < 2:
        raise ValueError(
            f'Need matching (K>=2, 2) point sets, got {src.shape} '
            f'and {dst.shape}.')
    mu_s, mu_d = src.mean(0), dst.mean(0)
    sc, dc = src - mu_s, dst - mu_d
    cov = dc.T @ sc / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rot = u @ d @ vt
    var_s = (sc**2).sum() / len(src)
    if var_s == 0:
        raise ValueError('Degenerate landmarks: all source points coincide.')
    scale = float(np.trace(np.diag(s) @ d) / var_s)
    shift = mu_d - scale * rot @ mu_s
    return np.hstack([scale * rot, shift[:, None]]).astype(np.float32)


def align_face(img: np.ndarray,
               landmarks: np.ndarray,
               size: SizeT = 112) -> np.ndarray:
    """Warp ``img`` so its 5 landmarks land on the ArcFace template.

    Args:
        img (np.ndarray): (H, W, C) image.
        landmarks (np.ndarray): (5, 2) points (x, y) in ``img``.
        size (SizeT): Output (h, w) or int.

    Returns:
        np.ndarray: The aligned (h, w, C) image.
    """
    h, w = _hw(size)
    lmk = np.asarray(landmarks, np.float32).reshape(5, 2)
    m = similarity_transform(lmk, arcface_template((h, w)))
    return cv2.warpAffine(img, m, (w, h), borderValue=0)


def crop_bbox(img: np.ndarray,
              bbox_xywh: Sequence[float],
              scale: float = 1.0) -> np.ndarray:
    """Crop a (scaled, centred) box; parts outside the image are zero-padded.

    Args:
        img (np.ndarray): (H, W, C) image.
        bbox_xywh (Sequence[float]): ``[x, y, width, height]`` (IJB-A ``FACE_X
            .. FACE_HEIGHT``).
        scale (float): Box enlargement factor around its centre.

    Returns:
        np.ndarray: The crop (at least 1x1).
    """
    x, y, bw, bh = [float(v) for v in bbox_xywh]
    if not (np.isfinite([x, y, bw, bh]).all() and bw > 0 and bh > 0):
        raise ValueError(f'Invalid bbox {list(bbox_xywh)}.')
    cx, cy = x + bw / 2.0, y + bh / 2.0
    bw, bh = bw * scale, bh * scale
    x0, y0 = int(round(cx - bw / 2.0)), int(round(cy - bh / 2.0))
    x1, y1 = max(x0 + 1,
                 int(round(cx + bw / 2.0))), max(y0 + 1,
                                                 int(round(cy + bh / 2.0)))
    ih, iw = img.shape[:2]
    out = np.zeros((y1 - y0, x1 - x0) + img.shape[2:], dtype=img.dtype)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, iw), min(y1, ih)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = img[sy0:sy1, sx0:sx1]
    return out
