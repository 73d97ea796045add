"""Synthetic pedestrians (MARS-style person crops) for the re-ID demo."""
from typing import Sequence, Tuple, Union

import cv2
import numpy as np

from mmddl.testing.synthetic_faces import draw_image_sets


def random_person(rng: np.random.Generator) -> dict:
    """Draw the appearance attributes of one pedestrian from ``rng``."""
    return dict(
        skin=rng.integers(60, 230, 3),
        hair=rng.integers(0, 120, 3),
        shirt=rng.integers(0, 256, 3),
        pants=rng.integers(0, 200, 3),
        shoes=rng.integers(0, 120, 3),
        stripe=rng.integers(0, 256, 3) if rng.random() < 0.4 else None,
        bag=rng.integers(0, 256, 3) if rng.random() < 0.5 else None,
        bag_side=float(rng.choice([-1.0, 1.0])),
        long_sleeves=bool(rng.random() < 0.5),
        build=rng.uniform(0.85, 1.15),
        height=rng.uniform(0.92, 1.0))


def draw_person(ident: dict, size: Tuple[int, int],
                rng: np.random.Generator) -> np.ndarray:
    """Render one image of a pedestrian.

    Args:
        ident (dict): Attributes from :func:`random_person`.
        size (Tuple[int, int]): Output ``(h, w)``.
        rng (np.random.Generator): Random generator.

    Returns:
        np.ndarray: (h, w, 3) uint8 BGR image.
    """
    h, w = size
    s = 4  # draw at 4x, then downsample (anti-aliasing)
    H, W = h * s, w * s
    canvas = np.empty((H, W, 3), np.uint8)
    canvas[:] = rng.integers(70, 190, 3)
    canvas[int(H * 0.8):] = rng.integers(40, 160, 3)  # floor
    scale = ident['height'] * rng.uniform(0.93, 1.03)
    cx = W / 2 + rng.normal(0, 0.04) * W
    top = H * (0.03 + rng.uniform(0, 0.03))
    bw = W * 0.26 * ident['build']  # half torso width at full scale

    def y(f):  # body fraction -> canvas row
        return int(top + f * H * scale)

    def rect(x0, y0, x1, y1, col):
        cv2.rectangle(canvas, (int(x0), int(y0)), (int(x1), int(y1)),
                      [int(c) for c in col], -1)

    phase = rng.uniform(-1, 1)  # walking: legs and arms swing
    leg_w = bw * 0.42
    for side in (-1, 1):
        dx = side * bw * 0.45 + phase * side * W * 0.06
        rect(cx + dx - leg_w / 2, y(0.55), cx + dx + leg_w / 2, y(0.93),
             ident['pants'])
        rect(cx + dx - leg_w / 2, y(0.93), cx + dx + leg_w / 2 + side * 2,
             y(0.98), ident['shoes'])
    rect(cx - bw, y(0.2), cx + bw, y(0.57), ident['shirt'])
    if ident['stripe'] is not None:
        for f in (0.3, 0.4, 0.5):
            rect(cx - bw, y(f), cx + bw, y(f + 0.035), ident['stripe'])
    arm_w = bw * 0.35
    for side in (-1, 1):
        ax = cx + side * (bw + arm_w / 2) - phase * side * W * 0.03
        rect(ax - arm_w / 2, y(0.21), ax + arm_w / 2, y(0.52),
             ident['shirt'] if ident['long_sleeves'] else ident['skin'])
        if not ident['long_sleeves']:
            rect(ax - arm_w / 2, y(0.21), ax + arm_w / 2, y(0.3),
                 ident['shirt'])
    if ident['bag'] is not None:
        bx = cx + ident['bag_side'] * (bw + arm_w * 0.9)
        rect(bx - bw * 0.45, y(0.4), bx + bw * 0.45, y(0.6), ident['bag'])
    head_r = int(H * scale * 0.085)
    head_c = (int(cx), y(0.1))
    cv2.circle(canvas, head_c, head_r, [int(c) for c in ident['skin']], -1)
    cv2.ellipse(canvas, head_c, (head_r, int(head_r * 0.8)), 0, 180, 360,
                [int(c) for c in ident['hair']], -1)
    img = cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA)
    gain = rng.uniform(0.85, 1.15)
    return np.clip(img.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def make_persons(num_identities: int,
                 images_per_identity: Union[int, Sequence[int]],
                 size: Tuple[int, int] = (64, 32),
                 seed: int = 0,
                 return_meta: bool = False,
                 **degradation):
    """Synthetic pedestrian identities (:func:`draw_person`), optionally
    degraded per image.

    Args:
        num_identities (int): Number of identities.
        images_per_identity (int | Sequence[int]): Images per identity (int or
            one per identity).
        size (Tuple[int, int]): ``(h, w)`` of every image.
        seed (int): Seed of everything.
        return_meta (bool): Also return the per-image degradation records
            (the images are the same either way).
        **degradation: ``degradation_prob``, ``kinds``, ``severity`` and
            ``max_kinds`` of
            :func:`~mmddl.testing.synthetic_faces.draw_image_sets` (default:
            none).

    Returns:
        List[np.ndarray]: One (n_i, h, w, 3) uint8 BGR array per identity,
        and with ``return_meta`` a dict with ``degradations`` (list of lists
        of ``dict(kinds, severity)``).
    """
    out, _, metas = draw_image_sets(
        num_identities, images_per_identity, seed, random_person,
        lambda ident, rng: (draw_person(ident, size, rng), None),
        **degradation)
    if return_meta:
        return out, dict(degradations=metas)
    return out
