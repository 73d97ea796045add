"""Cross-video matching of track embeddings: for each track, the nearest
tracks of the other videos (cameras) with their distances."""
from typing import Dict, List, Sequence

import numpy as np

from mmddl.evaluation.functional import normalize_rows


def cross_video_matches(names: Sequence[str],
                        videos: Sequence[str],
                        embeddings: np.ndarray,
                        topk: int = 5) -> List[Dict]:
    """The ``topk`` nearest tracks of the other videos of every track.

    Distances are Euclidean between L2-normalised embeddings (as
    ``GroupReIDMetric(normalize=True)`` ranks a gallery), in ``[0, 2]``;
    ties keep the input order.

    Args:
        names (Sequence[str]): Track names (``'<video>/<id>'``).
        videos (Sequence[str]): Each track's video (camera).
        embeddings (np.ndarray): (T, d) one embedding per track.
        topk (int): Matches listed per track.

    Returns:
        list[dict]: Per track ``track``, ``video`` and ``matches`` (a list
        of ``track``, ``video``, ``distance``, nearest first; empty when
        only one video has tracks).

    Raises:
        ValueError: Lengths differ, ``topk < 1``, non-finite embeddings.
    """
    from mmddl.evaluation.functional import pairwise_l2
    emb = np.asarray(embeddings)
    if not len(names) == len(videos) == emb.shape[0]:
        raise ValueError(f'{len(names)} names, {len(videos)} videos and '
                         f'{emb.shape[0]} embeddings')
    if topk < 1:
        raise ValueError(f'topk must be >= 1, got {topk}')
    if not np.isfinite(emb).all():
        bad = [names[i] for i in np.nonzero(~np.isfinite(emb).all(1))[0]]
        raise ValueError(f'non-finite embeddings of tracks {bad[:5]}')
    feats = normalize_rows(emb)
    dist = pairwise_l2(feats, feats)
    videos = np.asarray(videos)
    out = []
    for i, (name, video) in enumerate(zip(names, videos)):
        others = np.nonzero(videos != video)[0]
        order = others[np.argsort(dist[i, others], kind='stable')][:topk]
        out.append(
            dict(
                track=str(name),
                video=str(video),
                matches=[
                    dict(
                        track=str(names[j]),
                        video=str(videos[j]),
                        distance=round(float(dist[i, j]), 5)) for j in order
                ]))
    return out
