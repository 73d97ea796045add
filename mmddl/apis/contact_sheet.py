"""Contact sheet of one track: its crops in frame order, the ones the base
saw framed green, frame number and D-score under each."""
from typing import Optional, Sequence

import cv2
import numpy as np

from mmddl.visualization.gallery import DROPPED, KEPT, _tile, save_png

#: text colours (RGB) of kept and dropped crops' captions
KEPT_TEXT, DROPPED_TEXT = (20, 110, 40), (90, 90, 90)
CAPTION_H, HEADER_H, PAD = 26, 22, 4


def _text(img: np.ndarray,
          text: str,
          x: int,
          y: int,
          color,
          scale: float = 0.32) -> None:
    cv2.putText(img, text, (int(x), int(y)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                tuple(int(c) for c in color), 1, cv2.LINE_AA)


def draw_contact_sheet(crops: Sequence[np.ndarray],
                       dscores: Sequence[float],
                       kept: Sequence[int],
                       frames: Sequence[int],
                       out_file: str,
                       title: str = '',
                       columns: int = 16,
                       tile_height: int = 64,
                       palette: bool = True) -> Optional[str]:
    """Draw a track's crops in order, ``columns`` a row, and save the PNG
    atomically.

    Each crop is framed green when it is in ``kept`` (the crops DDL's base
    ran on), grey otherwise; under it ``f<frame>`` and its D-score (bold
    green when kept).

    Args:
        crops (Sequence[np.ndarray]): (h, w, 3) uint8 RGB crops, in frame
            order.
        dscores (Sequence[float]): One D-score per crop.
        kept (Sequence[int]): Indices of the kept crops.
        frames (Sequence[int]): Frame number of each crop.
        out_file (str): The PNG.
        title (str): The header line.
        columns (int): Crops per row.
        tile_height (int): Crop height in pixels.
        palette (bool): Save 256 palette colours (smaller file).

    Returns:
        str: ``out_file``.

    Raises:
        ValueError: Lengths differ, no crop, or a kept index out of range.
    """
    n = len(crops)
    if n == 0:
        raise ValueError(f'{out_file}: a contact sheet needs crops')
    if not len(dscores) == len(frames) == n:
        raise ValueError(f'{out_file}: {n} crops, {len(dscores)} D-scores, '
                         f'{len(frames)} frames')
    keep = np.zeros(n, bool)
    kept = np.asarray(kept, np.int64)
    if kept.size and (kept.min() < 0 or kept.max() >= n):
        raise ValueError(f'{out_file}: kept indices {kept.tolist()} outside '
                         f'0..{n - 1}')
    keep[kept] = True
    tiles = [
        _tile(c, tile_height, KEPT if k else DROPPED)
        for c, k in zip(crops, keep)
    ]
    cell_w = max(max(t.shape[1] for t in tiles), 40) + PAD
    cell_h = tiles[0].shape[0] + CAPTION_H
    cols = max(1, min(columns, n))
    rows = -(-n // cols)
    width = max(cols * cell_w + PAD, 7 * len(title) + 2 * PAD)
    sheet = np.full((HEADER_H + rows * cell_h + PAD, width, 3), 255, np.uint8)
    _text(sheet, title, PAD, HEADER_H - 7, (0, 0, 0), 0.42)
    for i, (tile, d, f) in enumerate(zip(tiles, dscores, frames)):
        r, c = divmod(i, cols)
        x = PAD + c * cell_w + (cell_w - PAD - tile.shape[1]) // 2
        y = HEADER_H + r * cell_h
        sheet[y:y + tile.shape[0], x:x + tile.shape[1]] = tile
        color = KEPT_TEXT if keep[i] else DROPPED_TEXT
        cx = PAD + c * cell_w
        ty = y + tile.shape[0]
        _text(sheet, f'f{int(f)}', cx, ty + 10, (60, 60, 60))
        _text(sheet, f'{float(d):.3f}' + ('*' if keep[i] else ''), cx, ty + 21,
              color, 0.34 if keep[i] else 0.32)
    save_png(sheet, out_file, palette)
    return out_file
