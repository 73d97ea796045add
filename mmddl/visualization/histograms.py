"""Histograms of raw D and D-scores: one image for a visualizer backend and
per-class figures for score tables and sweep dumps."""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from mmddl.utils.atomic_write import save_figure

#: Classes drawn one by one in a per-class panel; more are pooled.
MAX_CLASSES = 10


def _pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def figure_to_rgb(fig) -> np.ndarray:
    """Render a matplotlib figure to an (H, W, 3) uint8 RGB array.

    Args:
        fig (matplotlib.figure.Figure): the figure (closed afterwards).

    Returns:
        np.ndarray: the pixels.
    """
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    _pyplot().close(fig)
    return np.ascontiguousarray(rgba[..., :3])


def dscore_histogram_image(dscores: np.ndarray,
                           raw: Optional[np.ndarray] = None,
                           bins: int = 30,
                           title: str = '') -> np.ndarray:
    """Histogram image of the D-scores (and raw D) of a score table.

    Args:
        dscores (np.ndarray): (N,) D-scores in (0, 1).
        raw (np.ndarray, optional): (N,) raw D (Eq. 3), a second panel.
        bins (int): histogram bins.
        title (str): figure title.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB image.
    """
    plt = _pyplot()
    panels = [('D-score (Eq. 4)', np.asarray(dscores, np.float64))]
    if raw is not None:
        panels.insert(0, ('raw D (Eq. 3)', np.asarray(raw, np.float64)))
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4 * len(panels), 3), dpi=80, squeeze=False)
    for ax, (name, values) in zip(axes[0], panels):
        ax.hist(values, bins=bins, color='tab:blue', alpha=0.8)
        ax.set_xlabel(name)
        ax.set_ylabel('elements')
        ax.set_title(
            f'mean {values.mean():.3f}  std {values.std():.3f}', fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return figure_to_rgb(fig)


def class_histograms(panels: Sequence[Tuple[str, np.ndarray, np.ndarray]],
                     out_file: str,
                     class_names: Optional[Dict[int, str]] = None,
                     bins: int = 30,
                     title: str = '') -> str:
    """Per-class step histograms, one panel per quantity, saved as PNG.

    Each panel draws the pooled histogram (grey) and one line per class
    (the ``MAX_CLASSES`` largest classes when there are more; the legend
    says how many are pooled only).

    Args:
        panels (Sequence[Tuple[str, np.ndarray, np.ndarray]]): ``(name,
            values (N,), labels (N,))`` per panel.
        out_file (str): the PNG path.
        class_names (Dict[int, str], optional): label -> name.
        bins (int): histogram bins.
        title (str): figure title.

    Returns:
        str: ``out_file``.
    """
    if not panels:
        raise ValueError('class_histograms needs at least one panel')
    plt = _pyplot()
    fig, axes = plt.subplots(
        1, len(panels), figsize=(5 * len(panels), 3.6), dpi=90, squeeze=False)
    cmap = plt.get_cmap('tab10')
    for ax, (name, values, labels) in zip(axes[0], panels):
        values = np.asarray(values, np.float64).reshape(-1)
        labels = np.asarray(labels).reshape(-1)
        if values.size != labels.size:
            raise ValueError(f'panel {name!r}: {values.size} values but '
                             f'{labels.size} labels')
        if values.size == 0:
            raise ValueError(f'panel {name!r} has no values')
        edges = np.histogram_bin_edges(values, bins=bins)
        ax.hist(values, bins=edges, color='0.85', label=f'all ({values.size})')
        classes, counts = np.unique(labels, return_counts=True)
        shown = classes[np.argsort(-counts, kind='stable')][:MAX_CLASSES]
        for i, c in enumerate(sorted(shown.tolist())):
            name_c = (class_names or {}).get(c, f'class {c}')
            ax.hist(
                values[labels == c],
                bins=edges,
                histtype='step',
                linewidth=1.4,
                color=cmap(i % 10),
                label=name_c)
        if len(classes) > len(shown):
            ax.plot([], [],
                    ' ',
                    label=f'+{len(classes) - len(shown)} '
                    'classes in "all" only')
        ax.set_xlabel(name)
        ax.set_ylabel('elements')
        ax.legend(fontsize=6, ncol=2, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    try:
        save_figure(fig, out_file)
    finally:
        plt.close(fig)
    return out_file
