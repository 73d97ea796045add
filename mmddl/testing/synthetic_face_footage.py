"""Synthetic multi-camera face footage (a video call, a doorway camera) in
the MOTChallenge layout, readable by ``write_coco_annotations``."""
import json
import os
import os.path as osp
import time
from dataclasses import asdict, dataclass
from typing import Dict, Tuple

import cv2
import numpy as np

from mmddl.datasets.tracks.mot_format import SeqInfo, write_mot, write_seqinfo
from mmddl.testing.synthetic_faces import draw_face, random_identity
from mmddl.testing.synthetic_footage import FORMAT_VERSION, RECORD
from mmddl.utils import atomic_write


@dataclass(frozen=True)
class FaceFootageSettings:
    """Every setting of the face footage generator.

    Each identity's face (``synthetic_faces.draw_face``: the faces the face
    demo's base learns) drifts across every camera's frame on a textured
    background at its own size; some frames are blurred or darkened. Ids
    are the same in every camera (one person seen by several cameras).

    Args:
        num_cameras (int): Cameras (one MOT sequence each).
        num_frames (int): Frames per camera.
        frame_size (Tuple[int, int]): ``(h, w)`` of the frames.
        fps (int): Frame rate written to ``seqinfo.ini``.
        num_identities (int): Faces (ids 1..N).
        face_size (Tuple[int, int]): Face box side (px, uniform per face
            and camera).
        speed (Tuple[float, float]): Drift (px per frame).
        blur_prob (float): Chance that a face is motion-blurred in a frame.
        dark_prob (float): Chance that a face is darkened in a frame.
        jpeg_quality (int): JPEG quality of the frames.
        name (str): Sequence names are ``<name>-01`` ...
    """

    num_cameras: int = 2
    num_frames: int = 12
    frame_size: Tuple[int, int] = (120, 160)
    fps: int = 10
    num_identities: int = 3
    face_size: Tuple[int, int] = (28, 40)
    speed: Tuple[float, float] = (1.0, 3.0)
    blur_prob: float = 0.15
    dark_prob: float = 0.1
    jpeg_quality: int = 95
    name: str = 'FACES'

    def sequence_name(self, camera: int) -> str:
        """Sequence (folder) name of 0-based ``camera``."""
        return f'{self.name}-{camera + 1:02d}'


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A room: a gradient wall with a few rectangles."""
    img = np.empty((h, w, 3), np.float32)
    img[:] = rng.uniform(60, 180, 3)
    img *= np.linspace(0.8, 1.1, w)[None, :, None]
    for _ in range(4):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.rectangle(img, (x, y), (x + int(rng.integers(10, w // 2)),
                                    y + int(rng.integers(10, h // 2))),
                      rng.uniform(40, 220, 3).tolist(), -1)
    return np.clip(img, 0, 255).astype(np.uint8)


def generate_face_footage(out_dir: str,
                          seed: int = 0,
                          settings: FaceFootageSettings = None) -> Dict:
    """Write face footage: per camera ``<name>-NN/`` with ``seqinfo.ini``,
    ``img1/000001.jpg ...`` and ``gt/gt.txt`` (one face box per identity
    and frame while the face is wholly inside the frame, class 1, conf 1,
    visibility 1), and ``footage.json`` (the settings, the seed, the
    cameras and every box), so that
    :func:`~mmddl.testing.synthetic_footage.write_coco_annotations` writes
    its detector annotations.

    Args:
        out_dir (str): Output folder.
        seed (int): Seed of everything (same seed, same bytes).
        settings (FaceFootageSettings, optional): Default settings if None.

    Returns:
        dict: ``cameras``, ``identities``, ``frames`` (all cameras),
        ``boxes``, ``blurred_boxes``, ``dark_boxes``, ``sequences`` and
        ``seconds``.
    """
    s = settings or FaceFootageSettings()
    h, w = s.frame_size
    if min(h, w) < 2 * s.face_size[1]:
        raise ValueError(f'frame_size {s.frame_size} too small for faces of '
                         f'{s.face_size[1]} px')
    start = time.perf_counter()
    rng = np.random.default_rng([seed, 11])
    idents = [random_identity(rng) for _ in range(s.num_identities)]
    boxes, seqs, cams = [], [], []
    blurred = dark = 0
    for c in range(s.num_cameras):
        crng = np.random.default_rng([seed, 12, c])
        bg = _background(crng, h, w)
        tracks = []
        for i in range(s.num_identities):
            size = int(crng.integers(s.face_size[0], s.face_size[1] + 1))
            pos = crng.uniform([0, 0], [w - size, h - size])
            ang = crng.uniform(0, 2 * np.pi)
            vel = crng.uniform(*s.speed) * np.array([np.cos(ang), np.sin(ang)])
            tracks.append([size, pos, vel])
        name = s.sequence_name(c)
        seq = osp.join(out_dir, name)
        os.makedirs(osp.join(seq, 'img1'), exist_ok=True)
        rows = []
        for k in range(1, s.num_frames + 1):
            img = bg.copy()
            for i, (size, pos, vel) in enumerate(tracks):
                pos += vel
                for d, lim in ((0, w - size), (1, h - size)):
                    if not 0 <= pos[d] <= lim:  # bounce off the border
                        vel[d] = -vel[d]
                        pos[d] = np.clip(pos[d], 0, lim)
                face, _ = draw_face(idents[i], size, crng)
                if crng.random() < s.blur_prob:
                    n = int(crng.integers(3, max(4, size // 4)))
                    face = cv2.filter2D(face, -1, np.full((1, n), 1.0 / n))
                    blurred += 1
                if crng.random() < s.dark_prob:
                    face = (face * crng.uniform(0.3, 0.5)).astype(np.uint8)
                    dark += 1
                x, y = int(round(pos[0])), int(round(pos[1]))
                img[y:y + size, x:x + size] = face
                rows.append((k, i + 1, x, y, size))
                boxes.append([c, k, i + 1, x, y, size, size])
            cv2.imwrite(
                osp.join(seq, 'img1', f'{k:06d}.jpg'), img,
                [cv2.IMWRITE_JPEG_QUALITY, s.jpeg_quality])
        r = np.asarray(rows, np.float64)
        write_mot(
            osp.join(seq, 'gt', 'gt.txt'),
            r[:, 0].astype(int),
            r[:, 1].astype(int),
            np.stack([r[:, 2], r[:, 3], r[:, 4], r[:, 4]], 1),
            confs=np.ones(len(r)),
            classes=np.ones(len(r), int),
            visibility=np.ones(len(r)),
            kind='gt')
        write_seqinfo(
            osp.join(seq, 'seqinfo.ini'),
            SeqInfo(name, 'img1', s.fps, s.num_frames, w, h, '.jpg'))
        seqs.append(seq)
        cams.append(dict(name=name))
    summary = dict(
        cameras=s.num_cameras,
        identities=s.num_identities,
        frames=s.num_cameras * s.num_frames,
        boxes=len(boxes),
        blurred_boxes=blurred,
        dark_boxes=dark)
    record = dict(
        format_version=FORMAT_VERSION,
        kind='faces',
        seed=seed,
        settings=asdict(s),
        cameras=cams,
        box_fields=['camera', 'frame', 'id', 'x', 'y', 'w', 'h'],
        boxes=boxes,
        summary=summary)
    atomic_write(
        osp.join(out_dir, RECORD), lambda f: json.dump(record, f),
        'footage record', True)
    summary.update(
        sequences=seqs, seconds=round(time.perf_counter() - start, 3))
    return summary
