"""Pictures of the demos: one group's images sorted by predicted D-score
(Fig. 3 style), and cross-camera track matches."""
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


def _track_crop(line: dict, size=(96, 48)) -> np.ndarray:
    """A track's crop at its best D-score (RGB)."""
    from mmddl.datasets.tracks import FrameSource
    from mmddl.datasets.tracks.crop_geometry import cut_crop
    i = int(np.argmax(line['dscores']))
    frame = FrameSource.open(line['source']).read([line['frames'][i]])[0]
    crop, _ = cut_crop(frame, line['boxes'][i], 0.1, size)
    return np.ascontiguousarray(crop[..., ::-1]) if crop.ndim == 3 else crop


def plot_track_matches(run_dir: str,
                       identities: dict,
                       out_file: str,
                       method: str = 'ddl',
                       num_queries: int = 5,
                       topk: int = 4) -> str:
    """Queries of the first camera and their nearest tracks in the other
    cameras (``matches.json``); a green title is the query's identity, a
    red one another person (or none).

    Args:
        run_dir (str): A ``tools/track_ddl.py`` output folder.
        identities (dict): ``{track: ground-truth identity}``.
        out_file (str): The PNG.
        method (str): Whose matches (``ddl``, ``average``, ``top1``).
        num_queries (int): Rows (the longest tracks of the first camera
            whose identity another camera has).
        topk (int): Matches per row.
    """
    import json

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    with open(osp.join(run_dir, 'tracks.jsonl')) as f:
        lines = {ln['track']: ln for ln in map(json.loads, f)}
    with open(osp.join(run_dir, 'matches.json')) as f:
        matches = {m['track']: m for m in json.load(f)['methods'][method]}
    first = min(ln['camid'] for ln in lines.values())
    seen = {}
    for name, ln in lines.items():
        seen.setdefault(identities.get(name, -1), set()).add(ln['camid'])
    queries = sorted(
        (n for n, ln in lines.items() if ln['camid'] == first
         and identities.get(n, -1) >= 0 and len(seen[identities[n]]) > 1),
        key=lambda n: -lines[n]['num_crops'])[:num_queries]
    if not queries:
        raise ValueError(f'{run_dir}: no track of the first camera has its '
                         'identity in another camera')
    fig, axes = plt.subplots(
        len(queries), topk + 1, figsize=(1.5 * (topk + 1),
                                         2.3 * len(queries)),
        squeeze=False)
    for r, q in enumerate(queries):
        axes[r, 0].imshow(_track_crop(lines[q]))
        axes[r, 0].set_title(f'query {q}\n{lines[q]["num_crops"]} crops',
                             fontsize=7)
        for c, m in enumerate(matches[q]['matches'][:topk], 1):
            same = identities.get(m['track'], -1) == identities[q]
            axes[r, c].imshow(_track_crop(lines[m['track']]))
            axes[r, c].set_title(
                f"{m['track']}\nd={m['distance']:.3f}",
                fontsize=7,
                color='green' if same else 'red')
    for ax in axes.ravel():
        ax.axis('off')
    fig.suptitle(f'Cross-camera matches ({method}); green: same person',
                 fontsize=9)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    fig.savefig(out_file, dpi=110)
    plt.close(fig)
    return out_file
