"""Fig. 3-style galleries: each group's elements sorted by D-score, the score
written on each, the kept ones framed green, the dropped ones grey."""
from dataclasses import dataclass
from typing import List, Optional, Sequence

import cv2
import numpy as np

from mmddl.utils.atomic_write import atomic_output

#: Frame colours (RGB) of kept and dropped elements.
KEPT, DROPPED = (40, 170, 60), (150, 150, 150)
BORDER, GAP = 3, 6


@dataclass
class GalleryGroup:
    """One row of a gallery.

    Args:
        group_id (str): the group's id (a video file, a template ...).
        dscores (np.ndarray): (E,) the elements' D-scores.
        pictures (List[np.ndarray | None]): E RGB uint8 images (a video
            clip as a strip of frames, a face, a tracklet frame); None for
            an element that is not drawn (see :func:`shown_order`).
        label (str, optional): the group's class, shown in the title.
    """
    group_id: str
    dscores: np.ndarray
    pictures: List[Optional[np.ndarray]]
    label: Optional[str] = None

    def __post_init__(self) -> None:
        self.dscores = np.asarray(self.dscores, dtype=np.float64).reshape(-1)
        if len(self.pictures) != self.dscores.size:
            raise ValueError(f'group {self.group_id}: {self.dscores.size} '
                             f'D-scores but {len(self.pictures)} pictures')
        if self.dscores.size == 0:
            raise ValueError(f'group {self.group_id} has no elements')


def kept_mask(dscores: np.ndarray,
              thr: Optional[float] = None,
              topk: Optional[int] = None) -> np.ndarray:
    """Which elements DDL keeps: D-score >= ``thr`` (at least the best
    one, as DDL's threshold mode) or the ``topk`` highest.

    Args:
        dscores (np.ndarray): (E,) D-scores.
        thr (float, optional): threshold.
        topk (int, optional): K.

    Returns:
        np.ndarray: (E,) bool; all False when neither is given.
    """
    d = np.asarray(dscores, dtype=np.float64).reshape(-1)
    keep = np.zeros(d.size, dtype=bool)
    if thr is not None and topk is not None:
        raise ValueError('give thr or topk, not both')
    if topk is not None:
        if topk < 1:
            raise ValueError(f'topk must be >= 1, got {topk}')
        keep[np.argsort(-d, kind='stable')[:topk]] = True
    elif thr is not None:
        keep = d >= thr
        if not keep.any():
            keep[int(np.argmax(d))] = True
    return keep


def _tile(picture: np.ndarray, height: int, color) -> np.ndarray:
    """The picture scaled to ``height`` inside a coloured border."""
    pic = np.asarray(picture)
    if pic.ndim == 2:
        pic = np.repeat(pic[..., None], 3, axis=2)
    if pic.ndim != 3 or pic.shape[2] != 3 or pic.dtype != np.uint8:
        raise ValueError('a gallery picture must be an (H, W, 3) uint8 RGB '
                         f'image, got {pic.shape} {pic.dtype}')
    h, w = pic.shape[:2]
    width = max(1, int(round(w * height / h)))
    pic = cv2.resize(
        pic, (width, height),
        interpolation=cv2.INTER_AREA if h > height else cv2.INTER_NEAREST)
    return cv2.copyMakeBorder(
        pic, BORDER, BORDER, BORDER, BORDER, cv2.BORDER_CONSTANT, value=color)


def shown_order(dscores: np.ndarray, max_elements: int) -> List[int]:
    """Indices shown, by D-score descending: all, or the best
    ``ceil(m/2)`` and the worst ``floor(m/2)`` with -1 for the gap.

    Args:
        dscores (np.ndarray): (E,) D-scores.
        max_elements (int): m, the most elements drawn.

    Returns:
        List[int]: element indices (-1 marks the omitted middle).
    """
    order = np.argsort(-np.asarray(dscores), kind='stable').tolist()
    if max_elements < 2:
        raise ValueError(f'max_elements must be >= 2, got {max_elements}')
    if len(order) <= max_elements:
        return order
    top = (max_elements + 1) // 2
    return order[:top] + [-1] + order[len(order) - (max_elements - top):]


def draw_gallery(groups: Sequence[GalleryGroup],
                 out_file: str,
                 thr: Optional[float] = None,
                 topk: Optional[int] = None,
                 max_elements: int = 10,
                 tile_height: int = 64,
                 title: str = '',
                 palette: bool = True) -> str:
    """Draw one row per group and save the PNG.

    Each row shows the group's elements from the highest D-score to the
    lowest (the middle left out past ``max_elements``, marked "..."), the
    D-score and rank above each, kept ones (``thr`` / ``topk``, see
    :func:`kept_mask`) framed green, the others grey.

    Args:
        groups (Sequence[GalleryGroup]): the rows.
        out_file (str): the PNG path.
        thr (float, optional): DDL's threshold.
        topk (int, optional): DDL's K.
        max_elements (int): most elements drawn per group.
        tile_height (int): picture height in pixels.
        title (str): figure title.
        palette (bool): save 256 palette colours (smaller files).

    Returns:
        str: ``out_file``.
    """
    if not groups:
        raise ValueError('draw_gallery needs at least one group')
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = []
    for g in groups:
        keep = kept_mask(g.dscores, thr, topk)
        tiles, marks, widths = [], [], []
        x = 0
        for i in shown_order(g.dscores, max_elements):
            if i < 0:
                gap = np.full((tile_height + 2 * BORDER, 3 * GAP, 3), 255,
                              np.uint8)
                tiles.append(gap)
                marks.append((x + 1.5 * GAP, None, None, None))
                x += gap.shape[1] + GAP
                continue
            if g.pictures[i] is None:
                raise ValueError(f'group {g.group_id}: element {i} is drawn '
                                 'but has no picture')
            t = _tile(g.pictures[i], tile_height, KEPT if keep[i] else DROPPED)
            rank = int((g.dscores > g.dscores[i]).sum()) + 1
            marks.append((x + t.shape[1] / 2, g.dscores[i], rank, keep[i]))
            tiles.append(t)
            widths.append(t.shape[1])
            x += t.shape[1] + GAP
        h = tile_height + 2 * BORDER
        row = np.full((h, x - GAP, 3), 255, np.uint8)
        cx = 0
        for t in tiles:
            row[:, cx:cx + t.shape[1]] = t
            cx += t.shape[1] + GAP
        name = g.group_id if len(g.group_id) <= 48 else \
            '...' + g.group_id[-45:]
        label = f'  [{g.label}]' if g.label is not None else ''
        head = (f'{name}{label}: {g.dscores.size} elements' +
                (f', {int(keep.sum())} kept' if keep.any() else ''))
        rows.append((row, marks, head, widths))
    # narrow tiles (faces, pedestrians) get the rank and score on two lines
    narrowest = min(min(r[3]) for r in rows)
    two_lines = narrowest < 56
    # wide enough for the title and the row headers (7-8 px a char)
    width = max([r[0].shape[1] for r in rows] + [8 * len(title)] +
                [7 * len(r[2]) for r in rows])
    text_h, head_h = (24 if two_lines else 14), 16
    row_h = [r[0].shape[0] + text_h + head_h for r in rows]
    title_h = 24 if title else 4
    height = sum(row_h) + title_h
    dpi = 100
    fig = plt.figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    y = height - title_h
    for (img, marks, head, _), rh in zip(rows, row_h):
        y -= rh
        ax = fig.add_axes(
            [0, y / height, img.shape[1] / width, img.shape[0] / height])
        ax.imshow(img, interpolation='nearest')
        ax.set_axis_off()
        fig.text(
            2 / width, (y + rh - 2) / height,
            head,
            fontsize=8,
            va='top',
            ha='left')
        for cx, d, rank, kept in marks:
            xf = cx / width
            yf = (y + img.shape[0] + 2) / height
            if d is None:
                ax.text(
                    cx,
                    img.shape[0] / 2,
                    '...',
                    ha='center',
                    va='center',
                    fontsize=9)
                continue
            fig.text(
                xf,
                yf,
                f'#{rank}\n{d:.2f}' if two_lines else f'#{rank} {d:.2f}',
                ha='center',
                va='bottom',
                fontsize=7,
                color='#1e7a2e' if kept else '#555555',
                fontweight='bold' if kept else 'normal')
    if title:
        fig.text(0.5, 1 - 4 / height, title, ha='center', va='top', fontsize=9)
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3]
    plt.close(fig)
    save_png(rgb, out_file, palette)
    return out_file


def save_png(rgb: np.ndarray, out_file: str, palette: bool = True) -> None:
    """Save an RGB image as PNG, as 256 palette colours when ``palette``
    (a third of the bytes for video frames; the text stays sharp).

    Args:
        rgb (np.ndarray): (H, W, 3) uint8.
        out_file (str): the path.
        palette (bool): quantise to 256 colours.
    """
    from PIL import Image
    img = Image.fromarray(np.ascontiguousarray(rgb))
    if palette:
        img = img.quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    with atomic_output(out_file, 'image') as tmp:
        img.save(tmp, format='PNG', optimize=True)
