"""Fig. 3 style picture: one group's images sorted by predicted D-score."""
import os
import os.path as osp
from typing import Optional

import numpy as np


def _as_numpy(x) -> np.ndarray:
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def pick_group(samples: list, min_size: int = 6) -> int:
    """Index of the group whose D-scores spread most (range), among groups
    with at least ``min_size`` scored images (all groups if none has).

    Args:
        samples (list): The dumped predictions.
        min_size (int): Fewest scored images of a preferred group.
    """
    sizes = [len(_as_numpy(s['ddl_scores'])) for s in samples]
    if not samples or max(sizes) == 0:
        raise ValueError('no group carries D-scores (ddl_scores): dump the '
                         'predictions of a DDL run (a mode with a DDNet).')
    pool = [i for i, n in enumerate(sizes) if n >= min_size] or \
        [i for i, n in enumerate(sizes) if n > 0]
    spread = [np.ptp(_as_numpy(samples[i]['ddl_scores'])) for i in pool]
    return pool[int(np.argmax(spread))]


def plot_group_dscores(dump_file: str,
                       out_file: str,
                       group: Optional[int] = None,
                       max_images: int = 24,
                       title: str = 'Group sorted by predicted D-score',
                       cols: int = 8) -> str:
    """Draw one group's images, best D-score first, score on each image.

    Images the DDL aggregator kept (the base ran on them) get a green frame,
    dropped ones a red frame.

    Args:
        dump_file (str): Predictions pickle of ``tools/test.py --dump``
            from a ``DDLGroupEncoder`` run (fields ``ddl_scores``,
            ``ddl_selected``, ``img_paths`` and optionally
            ``kept_indices``).
        out_file (str): PNG to write.
        group (int, optional): Index of the group in the dump; default:
            :func:`pick_group`.
        max_images (int): Most images drawn (the best and worst are always
            kept).
        title (str): Figure title.
        cols (int): Images per row.

    Returns:
        str: ``out_file``.
    """
    import cv2
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from mmddl.evaluation.prediction_dump import load_prediction_dump
    from mmddl.utils.atomic_write import save_figure
    samples = load_prediction_dump(dump_file)
    idx = pick_group(samples) if group is None else int(group)
    s = samples[idx]
    scores = _as_numpy(s['ddl_scores']).astype(float)
    kept = set(_as_numpy(s['ddl_selected']).astype(int).tolist())
    paths = list(s['img_paths'])
    if 'kept_indices' in s:  # LoadGroupImages(max_images=...) subsampling
        paths = [paths[i] for i in _as_numpy(s['kept_indices']).astype(int)]
    if len(paths) != len(scores):
        raise ValueError(f'group {idx}: {len(scores)} D-scores for '
                         f'{len(paths)} images.')
    order = np.argsort(-scores, kind='stable')
    if len(order) > max_images:  # keep both ends of the ranking
        half = max_images // 2
        order = np.concatenate([order[:max_images - half], order[-half:]])
    cols = max(1, min(cols, len(order)))
    rows = int(np.ceil(len(order) / cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(1.6 * cols, 1.9 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis('off')
    for ax, i in zip(axes.ravel(), order):
        img = cv2.imread(paths[i], cv2.IMREAD_COLOR)
        if img is None:
            raise IOError(f'cannot read {paths[i]}')
        ax.imshow(img[:, :, ::-1], interpolation='nearest')
        color = 'tab:green' if int(i) in kept else 'tab:red'
        ax.set_title(f'{scores[i]:.2f}', fontsize=10, color=color)
        for side in ax.spines.values():
            side.set_visible(True)
            side.set_color(color)
            side.set_linewidth(3)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.axis('on')
    name = s.get('group_name', idx)
    fig.suptitle(
        f'{title}\ngroup {name}: {len(scores)} images, base ran on '
        f'{len(kept)} (green = kept, red = dropped)',
        fontsize=10)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    save_figure(fig, out_file, dpi=100)
    plt.close(fig)
    return out_file
