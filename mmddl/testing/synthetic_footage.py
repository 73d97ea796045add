"""Synthetic multi-camera street footage in the MOTChallenge layout, and the
detector (COCO json) and re-ID (MARS) training material cut from it."""
import json
import os
import os.path as osp
import time
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from mmddl.datasets.tracks.crop_geometry import cut_crop
from mmddl.datasets.tracks.mot_format import (PEDESTRIAN, SeqInfo, read_mot,
                                              read_seqinfo, write_mot,
                                              write_seqinfo)
from mmddl.testing.synthetic_persons import draw_person, random_person
from mmddl.utils import atomic_write

#: bumped whenever rendering or layout changes (stored in footage.json)
FORMAT_VERSION = 2
#: MOTChallenge class of the standing persons (ignored: conf 0)
STATIC_PERSON = 7
#: ids of the standing persons start above this (walkers are 1..N)
STATIC_ID_BASE = 1000
#: the generator's record beside the sequences
RECORD = 'footage.json'
#: fields of one row of ``footage.json``'s ``boxes``
BOX_FIELDS = ('camera', 'frame', 'id', 'x', 'y', 'w', 'h', 'class',
              'visibility', 'partial', 'occluded', 'occluder', 'blurred')
#: training material: boxes less visible than this are not re-ID training
#: crops and are ignore regions (``iscrowd=1``) for the detector
MIN_TRAIN_VISIBILITY = 0.1


@dataclass(frozen=True)
class FootageSettings:
    """Every setting of the footage generator, in this one place.

    They were fixed when the generator was written, before any detector,
    tracker or DDL run on its footage, and are not tuned to favour a
    method; change them only to make other footage (and say so).

    The street: walkers cross it along X at a depth Z from a row of
    pinhole cameras (all at the same height, looking across the street,
    ``camera_spacing`` apart along X), so the cameras film the same people
    one after the other and overlap for far walkers. A walker is drawn by
    ``synthetic_persons.draw_person`` (the MARS-format re-ID crops of the
    demos use the same drawing), alpha-blended far to near, then poles in
    front of everyone; a frame's lighting gain and sensor noise come last.

    Args:
        num_cameras (int): Cameras (one MOT sequence each).
        num_frames (int): Frames per camera (all cameras in sync).
        frame_size (Tuple[int, int]): ``(h, w)`` of the frames.
        fps (int): Frame rate written to ``seqinfo.ini`` (and the videos).
        num_identities (int): Walkers (ids 1..N in every camera's gt).
        static_persons (int): Standing persons per camera, MOT class 7 with
            conf 0 (ignored by MOTChallenge evaluation, as in MOT17).
        person_height (float): Walker height (m).
        camera_height (float): Camera height above the street (m).
        horizon (float): Horizon row as a fraction of the frame height.
        focal (float): Focal length in frame widths.
        depth_range (Tuple[float, float]): Walkers' depth Z (m).
        camera_spacing (float): Distance of neighbouring cameras (m).
        walk_speed (Tuple[float, float]): A walker's speed (m/s, uniform;
            people walk at 1 to 1.8 m/s). Each walker starts anywhere
            along the street (inside or outside the views), in either
            direction, at the clip's first frame.
        reenter_prob (float): Chance that a walker leaves the street (a
            doorway) partway through the clip, stays away, then comes back
            out at the same place (same id: leaves and re-enters views).
        away_time (Tuple[float, float]): Time away, fraction of the clip.
        poles (int): Poles per camera, in front of every walker.
        pole_width (float): Pole width as a fraction of the frame width.
        blur_prob (float): Chance that a walker is motion-blurred in a
            frame.
        blur_length (Tuple[float, float]): Blur length, fraction of the
            walker's height.
        light_change (Tuple[float, float]): A camera's gain after its one
            lighting change, relative to before (a cloud, lights off).
        light_ramp (int): Frames the change takes.
        camera_gain (Tuple[float, float]): Each camera's gain before it.
        noise_sigma (float): Sensor noise (grey levels).
        min_in_frame (float): A box is annotated when at least this
            fraction of it lies inside the frame (MOT annotates persons
            cut by the border and persons hidden by occluders).
        occluded_at (float): A box counts as occluded when this fraction
            of its in-frame part is hidden (poles or nearer people).
        jpeg_quality (int): JPEG quality of the frames.
        name (str): Sequence names are ``<name>-01`` ...
    """

    num_cameras: int = 2
    num_frames: int = 40
    frame_size: Tuple[int, int] = (240, 320)
    fps: int = 10
    num_identities: int = 6
    static_persons: int = 1
    person_height: float = 1.75
    camera_height: float = 2.5
    horizon: float = 0.3
    focal: float = 0.9
    depth_range: Tuple[float, float] = (5.0, 12.0)
    camera_spacing: float = 6.0
    walk_speed: Tuple[float, float] = (1.0, 1.8)
    reenter_prob: float = 0.3
    away_time: Tuple[float, float] = (0.08, 0.15)
    poles: int = 2
    pole_width: float = 0.05
    blur_prob: float = 0.15
    blur_length: Tuple[float, float] = (0.08, 0.2)
    light_change: Tuple[float, float] = (0.45, 0.7)
    light_ramp: int = 4
    camera_gain: Tuple[float, float] = (0.85, 1.1)
    noise_sigma: float = 3.0
    min_in_frame: float = 0.15
    occluded_at: float = 0.1
    jpeg_quality: int = 90
    name: str = 'SYNTH'

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad setting."""
        h, w = self.frame_size
        if h < 64 or w < 64 or h % 2 or w % 2:
            raise ValueError('frame_size must be two even numbers >= 64, '
                             f'got {self.frame_size}')
        for key in ('num_cameras', 'num_frames', 'num_identities', 'fps'):
            if getattr(self, key) < 1:
                raise ValueError(f'{key} must be >= 1')
        if not 0 < self.depth_range[0] <= self.depth_range[1]:
            raise ValueError(f'bad depth_range {self.depth_range}')
        if not 0 < self.walk_speed[0] <= self.walk_speed[1]:
            raise ValueError(f'bad walk_speed {self.walk_speed}')

    def sequence_name(self, camera: int) -> str:
        """Sequence (folder) name of 0-based ``camera``."""
        return f'{self.name}-{camera + 1:02d}'


# ------------------------------------------------------------------ scene
class _Camera:
    """Pinhole camera ``camera_spacing * index`` along the street."""

    def __init__(self, index: int, s: FootageSettings):
        self.h, self.w = s.frame_size
        self.x = index * s.camera_spacing
        self.f = s.focal * self.w
        self.v0 = s.horizon * self.h
        self.s = s

    def project(self, x: float, z: float) -> Tuple[float, float, float]:
        """Image column of ``x``, row of the feet and walker height (px)."""
        u = self.w / 2 + self.f * (x - self.x) / z
        foot = self.v0 + self.f * self.s.camera_height / z
        return u, foot, self.f * self.s.person_height / z

    def half_view(self, z: float) -> float:
        """Half the street width (m) the camera sees at depth ``z``."""
        return self.w / 2 / self.f * z


def _walker_plan(rng: np.random.Generator, s: FootageSettings, x_lo: float,
                 x_hi: float) -> List[Tuple]:
    """Walk segments ``(t0, t1, x0, x1, z)`` of one walker (frames)."""
    T = s.num_frames
    v = rng.uniform(*s.walk_speed) / s.fps  # metres per frame
    d = 1 if rng.random() < 0.5 else -1
    z = rng.uniform(*s.depth_range)
    x0 = rng.uniform(x_lo, x_hi)
    if rng.random() < s.reenter_prob:
        t_out = rng.uniform(0.2, 0.6) * T
        t_back = t_out + rng.uniform(*s.away_time) * T
        x_out = x0 + d * v * t_out
        d2 = 1 if rng.random() < 0.5 else -1
        z2 = rng.uniform(*s.depth_range)
        return [(0.0, t_out, x0, x_out, z),
                (t_back, float(T), x_out, x_out + d2 * v * (T - t_back), z2)]
    return [(0.0, float(T), x0, x0 + d * v * T, z)]


def _position(plan: List[Tuple], t: int) -> Optional[Tuple[float, float, int]]:
    """``(x, z, direction)`` of a walker at frame ``t``, None when away."""
    for t0, t1, x0, x1, z in plan:
        if t0 <= t <= t1:
            a = (t - t0) / max(t1 - t0, 1e-9)
            return x0 + a * (x1 - x0), z, 1 if x1 > x0 else -1
    return None


def _background(rng: np.random.Generator, h: int, w: int,
                horizon: float) -> np.ndarray:
    """A street: facades with windows above the horizon, pavement below."""
    img = np.empty((h, w, 3), np.float32)
    v0 = int(horizon * h)
    img[:v0] = rng.uniform(120, 200, 3)
    img[v0:] = rng.uniform(70, 130, 3)
    x = 0
    while x < w:
        bw = int(rng.integers(w // 8, w // 3))
        top = int(rng.integers(0, max(v0 // 2, 1)))
        col = rng.uniform(60, 200, 3)
        cv2.rectangle(img, (x, top), (x + bw, v0 + 4), col.tolist(), -1)
        for wy in range(top + 6, v0 - 6, 14):
            for wx in range(x + 4, x + bw - 8, 12):
                cv2.rectangle(img, (wx, wy), (wx + 6, wy + 7),
                              (col * 0.5).tolist(), -1)
        x += bw
    for k in range(1, 4):  # kerb and paving lines
        y = v0 + int((h - v0) * k / 4)
        cv2.line(img, (0, y), (w, y), (img[y, 0] * 0.8).tolist(), 1)
    return img


def _sprite(ident: dict, height_px: float, direction: int,
            seed: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
    """A walker drawn by ``draw_person`` and its alpha matte.

    The matte is the difference of the same drawing (same random stream)
    with an all-white and an all-black person: 1 on the person, 0 on the
    drawing's own background, in between on anti-aliased edges.
    """
    hs = max(int(round(height_px / 0.93)), 8)
    size = (hs, max(hs // 2, 4))
    img = draw_person(ident, size, np.random.default_rng(seed))
    keys = ('skin', 'hair', 'shirt', 'pants', 'shoes', 'stripe', 'bag')
    mattes = []
    for value in (255, 0):
        flat = dict(ident)
        for k in keys:
            if flat[k] is not None:
                flat[k] = np.full(3, value)
        mattes.append(
            draw_person(flat, size,
                        np.random.default_rng(seed)).astype(np.float32))
    diff = (mattes[0] - mattes[1]).mean(axis=2)
    alpha = np.clip(diff / max(float(diff.max()), 1e-6), 0.0, 1.0)
    if direction < 0:  # walking left: the mirror image
        img, alpha = img[:, ::-1], alpha[:, ::-1]
    return img.astype(np.float32), np.ascontiguousarray(alpha)


def _paste_region(x: int, y: int, hs: int, ws: int, h: int, w: int):
    """Slices of a sprite at ``(x, y)`` in the frame and in the sprite."""
    fx0, fy0 = max(x, 0), max(y, 0)
    fx1, fy1 = min(x + ws, w), min(y + hs, h)
    if fx1 <= fx0 or fy1 <= fy0:
        return None
    return ((slice(fy0, fy1), slice(fx0, fx1)), (slice(fy0 - y, fy1 - y),
                                                 slice(fx0 - x, fx1 - x)))


# -------------------------------------------------------------- rendering
def _render_camera(c: int, s: FootageSettings, seed: int, idents: List[dict],
                   plans: List[List[Tuple]], statics: List[Tuple],
                   seq_dir: str) -> Tuple[List[list], List[np.ndarray], dict]:
    """Render and write one camera's frames; return its box records."""
    cam = _Camera(c, s)
    h, w = s.frame_size
    rng = np.random.default_rng([seed, 2, c])
    bg = _background(rng, h, w, s.horizon)
    pole_w = max(int(round(s.pole_width * w)), 2)
    poles = sorted(
        int(u) for u in rng.uniform(0.1 * w, 0.9 * w - pole_w, s.poles))
    pole_mask = np.zeros((h, w), np.float32)
    for u in poles:
        pole_mask[:, u:u + pole_w] = 1.0
    gain0 = rng.uniform(*s.camera_gain)
    change_at = int(
        rng.integers(s.num_frames // 4,
                     max(3 * s.num_frames // 4, 1) + 1))
    gain1 = gain0 * rng.uniform(*s.light_change)
    rows, frames = [], []
    os.makedirs(osp.join(seq_dir, 'img1'), exist_ok=True)
    for t in range(s.num_frames):
        frng = np.random.default_rng([seed, 3, c, t])
        people = []  # (z, id, cls, ident, x, direction)
        for pid, plan in enumerate(plans, start=1):
            pos = _position(plan, t)
            if pos is not None:
                people.append(
                    (pos[1], pid, PEDESTRIAN, idents[pid - 1], pos[0], pos[2]))
        for k, (sid, ident, x, z) in enumerate(statics):
            people.append((z, sid, STATIC_PERSON, ident, x, 1))
        placed = []
        for z, pid, cls, ident, x, d in sorted(people, key=lambda p: p[0]):
            u, foot, hp = cam.project(x, z)
            if abs(u - w / 2) > w / 2 + hp:  # far out of view
                continue
            img, alpha = _sprite(ident, hp, d, [seed, 4, c, pid, t])
            hs, ws = alpha.shape
            sx, sy = int(round(u - ws / 2)), int(round(foot - 0.97 * hs))
            ys, xs = np.nonzero(alpha > 0.5)
            if ys.size == 0:
                continue
            box = (sx + xs.min(), sy + ys.min(), xs.max() - xs.min() + 1,
                   ys.max() - ys.min() + 1)
            bx0, by0 = max(box[0], 0), max(box[1], 0)
            bx1, by1 = min(box[0] + box[2], w), min(box[1] + box[3], h)
            in_frame = max(bx1 - bx0, 0) * max(by1 - by0, 0) / (
                box[2] * box[3])
            if in_frame < s.min_in_frame:
                continue
            blurred = cls == PEDESTRIAN and frng.random() < s.blur_prob
            if blurred:
                k_len = max(int(round(hp * frng.uniform(*s.blur_length))), 2)
                kernel = np.full((1, k_len), 1.0 / k_len, np.float32)
                pre = cv2.filter2D(img * alpha[..., None], -1, kernel)
                a_b = cv2.filter2D(alpha, -1, kernel)
            else:
                pre, a_b = img * alpha[..., None], alpha
            placed.append(
                dict(
                    z=z,
                    id=pid,
                    cls=cls,
                    box=box,
                    sx=sx,
                    sy=sy,
                    alpha=alpha,
                    pre=pre,
                    a_b=a_b,
                    blurred=blurred,
                    partial=(box[0] < 0 or box[1] < 0 or box[0] + box[2] > w
                             or box[1] + box[3] > h)))
        # visibility, nearest first: poles hide everyone, walkers hide
        # those behind them
        walker_cover = np.zeros((h, w), np.float32)
        for p in placed:  # sorted near to far
            hs, ws = p['alpha'].shape
            reg = _paste_region(p['sx'], p['sy'], hs, ws, h, w)
            body = p['alpha'] > 0.5
            total = max(int(body.sum()), 1)
            if reg is None:
                vis, occ, by = 0.0, False, ''
            else:
                (fy, fx), (ay, ax) = reg
                inside = body[ay, ax]
                by_pole = inside & (pole_mask[fy, fx] > 0.5)
                by_walker = inside & (walker_cover[fy, fx] > 0.5)
                hidden = by_pole | by_walker
                vis = float((inside & ~hidden).sum()) / total
                n_in = max(int(inside.sum()), 1)
                occ = hidden.sum() / n_in >= s.occluded_at
                by = ('both' if by_pole.any() and by_walker.any() else
                      'pole' if by_pole.any() else
                      'walker' if by_walker.any() else '') if occ else ''
                np.maximum(
                    walker_cover[fy, fx],
                    p['alpha'][ay, ax],
                    out=walker_cover[fy, fx])
            rows.append([
                c, t + 1, p['id'], *[int(v) for v in p['box']], p['cls'],
                round(vis, 3),
                bool(p['partial']),
                bool(occ), by,
                bool(p['blurred'])
            ])
        frame = bg.copy()
        for p in reversed(placed):  # far to near
            hs, ws = p['alpha'].shape
            reg = _paste_region(p['sx'], p['sy'], hs, ws, h, w)
            if reg is None:
                continue
            (fy, fx), (ay, ax) = reg
            a = p['a_b'][ay, ax][..., None]
            frame[fy, fx] = frame[fy, fx] * (1 - a) + p['pre'][ay, ax]
        for u in poles:
            frame[:, u:u + pole_w] = (70, 75, 80)
            frame[:, u:u + 2] = (110, 115, 120)
        a = min(max(t - change_at, 0) / max(s.light_ramp, 1), 1.0)
        frame *= gain0 + a * (gain1 - gain0)
        frame += frng.standard_normal(frame.shape, np.float32) * s.noise_sigma
        frame = np.clip(frame, 0, 255).round().astype(np.uint8)
        path = osp.join(seq_dir, 'img1', f'{t + 1:06d}.jpg')
        if not cv2.imwrite(path, frame,
                           [cv2.IMWRITE_JPEG_QUALITY, s.jpeg_quality]):
            raise IOError(f'could not write {path}')
        frames.append(frame)
    cam_rec = dict(
        name=s.sequence_name(c),
        x=cam.x,
        poles=poles,
        pole_width=pole_w,
        gain=round(float(gain0), 4),
        light_change_frame=change_at + 1,
        gain_after=round(float(gain1), 4))
    return rows, frames, cam_rec


def generate_footage(out_dir: str,
                     seed: int = 0,
                     settings: Optional[FootageSettings] = None,
                     write_videos: bool = False) -> Dict:
    """Write multi-camera footage in the MOTChallenge layout.

    Per camera ``<out_dir>/<name>-NN/`` holds ``seqinfo.ini``,
    ``img1/000001.jpg ...`` and ``gt/gt.txt`` (``frame,id,x,y,w,h,conf,
    class,visibility``: walkers are class 1 with conf 1 and the same id in
    every camera; standing persons class 7 with conf 0; boxes may extend
    beyond the frame; visibility is the fraction of the person's full-body
    mask neither hidden by poles or nearer persons nor outside the frame).
    ``<out_dir>/footage.json`` is the generator's record: the settings,
    the seed, the cameras, each walker's plan and every box with its
    ``partial`` / ``occluded`` / ``blurred`` flags (``BOX_FIELDS``).
    ``write_videos`` also writes ``<out_dir>/<name>-NN.mp4`` (mp4v, the
    same frames; lossy).

    Args:
        out_dir (str): Output folder.
        seed (int): Seed of everything (same seed, same bytes).
        settings (FootageSettings, optional): Defaults to
            ``FootageSettings()`` (2 cameras x 40 frames of 320x240).
        write_videos (bool): Also write one video per camera.

    Returns:
        dict: Summary: ``identities``, ``cameras``, ``frames`` (all
        cameras), ``boxes`` (walker boxes), ``static_boxes``, ``tracks``
        (camera, walker pairs with a box), ``reentries`` (tracks with a gap),
        ``occluded_boxes``, ``partial_boxes``, ``blurred_boxes``,
        ``empty_frames`` (frames without a walker box), ``sequences``
        (folders), ``videos``, ``record``, ``bytes`` and ``seconds``.
    """
    s = settings or FootageSettings()
    s.validate()
    start = time.perf_counter()
    rng = np.random.default_rng([seed, 1])
    idents = [random_person(rng) for _ in range(s.num_identities)]
    cams = [_Camera(c, s) for c in range(s.num_cameras)]
    reach = cams[0].half_view(s.depth_range[1]) + 2.0
    x_lo, x_hi = cams[0].x - reach, cams[-1].x + reach
    plans = [_walker_plan(rng, s, x_lo, x_hi) for _ in idents]
    seq_dirs, videos, boxes, cam_recs = [], [], [], []
    for c, cam in enumerate(cams):
        srng = np.random.default_rng([seed, 5, c])
        statics = []
        for k in range(s.static_persons):
            z = srng.uniform(*s.depth_range)
            x = cam.x + srng.uniform(-0.6, 0.6) * cam.half_view(z)
            statics.append((STATIC_ID_BASE + c * s.static_persons + k + 1,
                            random_person(srng), x, z))
        name = s.sequence_name(c)
        seq_dir = osp.join(out_dir, name)
        rows, frames, cam_rec = _render_camera(c, s, seed, idents, plans,
                                               statics, seq_dir)
        cam_rec['static_ids'] = [st[0] for st in statics]
        gt = np.asarray([r[1:8] for r in rows], np.float64).reshape(-1, 7)
        write_mot(
            osp.join(seq_dir, 'gt', 'gt.txt'),
            gt[:, 0].astype(int),
            gt[:, 1].astype(int),
            gt[:, 2:6],
            confs=(gt[:, 6] == PEDESTRIAN).astype(float),
            classes=gt[:, 6].astype(int),
            visibility=[r[8] for r in rows],
            kind='gt')
        write_seqinfo(
            osp.join(seq_dir, 'seqinfo.ini'),
            SeqInfo(name, 'img1', s.fps, s.num_frames, s.frame_size[1],
                    s.frame_size[0], '.jpg'))
        if write_videos:
            from mmddl.testing.synthetic_video import write_video
            path = osp.join(out_dir, f'{name}.mp4')
            write_video(path, np.stack(frames)[..., ::-1].copy(), s.fps)
            videos.append(path)
        seq_dirs.append(seq_dir)
        boxes += rows
        cam_recs.append(cam_rec)
    summary = summarize_boxes(boxes, s)
    summary.update(
        identities=s.num_identities,
        cameras=s.num_cameras,
        frames=s.num_cameras * s.num_frames,
        sequences=seq_dirs,
        videos=videos,
        record=osp.join(out_dir, RECORD))
    record = dict(
        format_version=FORMAT_VERSION,
        seed=seed,
        settings=asdict(s),
        cameras=cam_recs,
        walkers=[
            dict(
                id=i + 1,
                plan=[[round(float(v), 4) for v in seg] for seg in plan])
            for i, plan in enumerate(plans)
        ],
        box_fields=list(BOX_FIELDS),
        boxes=boxes,
        summary={
            k: v
            for k, v in summary.items()
            if k not in ('sequences', 'videos', 'record')
        })
    atomic_write(summary['record'], lambda f: json.dump(record, f),
                 'footage record', True)
    summary['bytes'] = sum(
        osp.getsize(osp.join(d, f)) for root in seq_dirs
        for d, _, fs in os.walk(root) for f in fs)
    summary['seconds'] = round(time.perf_counter() - start, 3)
    return summary


def summarize_boxes(boxes: Sequence[list], s: FootageSettings) -> Dict:
    """Counts of a footage record's ``boxes`` (rows of ``BOX_FIELDS``).

    Args:
        boxes (Sequence[list]): Box rows.
        s (FootageSettings): The settings they were made with.

    Returns:
        dict: ``boxes``, ``static_boxes``, ``tracks``, ``reentries``,
        ``occluded_boxes``, ``partial_boxes``, ``blurred_boxes``,
        ``empty_frames`` (walker boxes only except ``static_boxes``).
    """
    walk = [b for b in boxes if b[7] == PEDESTRIAN]
    frames = {}
    for b in walk:
        frames.setdefault((b[0], b[2]), []).append(b[1])
    reentries = sum(
        int(np.any(np.diff(sorted(f)) > 1)) for f in frames.values())
    busy = {(b[0], b[1]) for b in walk}
    return dict(
        boxes=len(walk),
        static_boxes=len(boxes) - len(walk),
        tracks=len(frames),
        reentries=reentries,
        occluded_boxes=sum(b[10] for b in walk),
        partial_boxes=sum(b[9] for b in walk),
        blurred_boxes=sum(b[12] for b in walk),
        empty_frames=s.num_cameras * s.num_frames - len(busy))


def load_record(footage_dir: str) -> Dict:
    """The generator's record (``footage.json``) of a footage folder.

    Args:
        footage_dir (str): Folder written by :func:`generate_footage`.
    """
    path = osp.join(footage_dir, RECORD)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found: not a folder written by '
                                'generate_footage')
    with open(path) as f:
        record = json.load(f)
    if record.get('format_version') != FORMAT_VERSION:
        raise ValueError(f'{path}: format_version '
                         f'{record.get("format_version")}, this generator '
                         f'writes {FORMAT_VERSION}: regenerate the footage')
    return record


# ------------------------------------------------------- training material
def footage_sequences(footage_dir: str) -> List[str]:
    """The camera folders of a footage folder, in camera order (from its
    ``footage.json``; :func:`load_record` checks the format version).

    Args:
        footage_dir (str): Folder written by :func:`generate_footage` (or
            ``synthetic_face_footage.generate_face_footage``).
    """
    return [
        osp.join(footage_dir, c['name'])
        for c in load_record(footage_dir)['cameras']
    ]


def write_coco_annotations(footage_dir: str,
                           out_file: str,
                           min_visibility: float = MIN_TRAIN_VISIBILITY,
                           mot_classes: bool = False,
                           category: str = 'pedestrian') -> Dict:
    """The footage's gt as COCO-VID json, the format of mmdet's
    ``tools/dataset_converters/mot2coco.py``.

    ``CocoDataset`` trains a detector on it and ``MOTChallengeDataset``
    (+ ``MOTChallengeMetric``) evaluates a tracker on it: ``videos`` (one
    per camera), ``images`` (``file_name`` ``<sequence>/img1/000001.jpg``
    relative to ``footage_dir``, ``video_id``, 0-based ``frame_id``,
    ``mot_frame_id``) and one annotation per gt row (``bbox`` as in
    gt.txt, not clipped; ``instance_id`` unique per camera and walker,
    ``mot_instance_id``, ``mot_conf``, ``visibility``). Boxes less visible
    than ``min_visibility`` get ``iscrowd=1`` (mmdet ignores them: neither
    object nor background). With ``mot_classes=False`` every person is
    category 1 ``pedestrian`` (a standing person is a person to a
    detector); with ``True`` standing persons keep MOT class 7
    (``static_person``, a distractor to TrackEval; name both classes in
    the dataset's ``metainfo`` so mmdet does not drop them).

    Args:
        footage_dir (str): Folder written by :func:`generate_footage`.
        out_file (str): The json (written atomically).
        min_visibility (float): See above.
        mot_classes (bool): See above.
        category (str): Name of category 1 (``'face'`` for the face
            footage of ``synthetic_face_footage``).

    Returns:
        dict: ``videos``, ``images``, ``annotations``, ``ignored``
        (``iscrowd=1``) and ``file``.
    """
    videos, images, anns, instances = [], [], [], {}
    for seq in footage_sequences(footage_dir):
        info = read_seqinfo(seq)
        gt = read_mot(
            osp.join(seq, 'gt', 'gt.txt'),
            'gt',
            info.seq_length,
            keep_classes=None,
            keep_zero_conf=True)
        vid = len(videos) + 1
        videos.append(
            dict(
                id=vid,
                name=info.name,
                fps=info.frame_rate,
                width=info.im_width,
                height=info.im_height))
        first = len(images) + 1
        for k in range(1, info.seq_length + 1):
            images.append(
                dict(
                    id=len(images) + 1,
                    video_id=vid,
                    file_name=osp.relpath(
                        info.frame_path(seq, k), footage_dir),
                    height=info.im_height,
                    width=info.im_width,
                    frame_id=k - 1,
                    mot_frame_id=k))
        for r in np.lexsort((gt.ids, gt.frames)):
            x, y, w, h = (float(v) for v in gt.boxes[r])
            mot_id = int(gt.ids[r])
            cls = int(gt.classes[r])
            anns.append(
                dict(
                    id=len(anns) + 1,
                    image_id=first + int(gt.frames[r]) - 1,
                    category_id=cls if mot_classes else 1,
                    bbox=[x, y, w, h],
                    area=w * h,
                    iscrowd=int(gt.visibility[r] < min_visibility),
                    visibility=float(gt.visibility[r]),
                    mot_instance_id=mot_id,
                    instance_id=instances.setdefault((vid, mot_id),
                                                     len(instances) + 1),
                    mot_conf=float(gt.confs[r])))
    cats = [dict(id=1, name=category)]
    if mot_classes:
        cats.append(dict(id=STATIC_PERSON, name='static_person'))
    coco = dict(
        videos=videos,
        images=images,
        annotations=anns,
        categories=cats,
        num_instances=len(instances))
    atomic_write(out_file, lambda f: json.dump(coco, f), 'COCO annotations',
                 True)
    return dict(
        videos=len(videos),
        images=len(images),
        annotations=len(anns),
        ignored=sum(a['iscrowd'] for a in anns),
        file=out_file)


def write_reid_crops(footage_dir: Union[str, Sequence[str]],
                     out_root: str,
                     crop_size: Tuple[int, int] = (64, 32),
                     margin: float = 0.1,
                     min_visibility: float = MIN_TRAIN_VISIBILITY,
                     num_train: Optional[int] = None,
                     seed: int = 0,
                     frame_step: int = 1) -> Dict:
    """Walker crops of the footage as a MARS folder (``write_mars``).

    Each walker's crops (gt boxes cut with ``cut_crop``, the crop
    ``LoadTrackCrops`` makes, at ``crop_size``) in camera then frame order
    are one MARS identity split into one tracklet per camera; crops less
    visible than ``min_visibility`` are left out (counted). MARS pid
    ``i + 1`` is the ``i``-th walker id in ascending order (``pids``); with
    several footage folders (different walkers: other generator seeds),
    the folders' walkers follow each other in the order given.

    Args:
        footage_dir (str | Sequence[str]): Folder(s) written by
            :func:`generate_footage`.
        out_root (str): MARS root to write.
        crop_size (Tuple[int, int]): ``(h, w)`` of the crops.
        margin (float): Relative box margin.
        min_visibility (float): See above.
        num_train (int, optional): Identities in ``bbox_train`` (default
            all; the others go to ``bbox_test``).
        seed (int): Seed of ``write_mars`` (MARS camera numbers).
        frame_step (int): Crops of every ``frame_step``-th frame only
            (neighbouring frames are near copies).

    Returns:
        dict: ``identities``, ``crops``, ``low_visibility`` (left out),
        ``too_few`` (walkers with fewer crops than cameras, left out),
        ``pids`` (``{MARS pid: walker id}``; with several folders
        ``{MARS pid: [folder index, walker id]}``) and ``root``.
    """
    from mmddl.testing.synthetic_faces import write_mars
    if frame_step < 1:
        raise ValueError(f'frame_step must be >= 1, got {frame_step}')
    dirs = [footage_dir] if isinstance(footage_dir, str) else list(
        footage_dir)
    if not dirs:
        raise ValueError('write_reid_crops: no footage folder given')
    crops, low, parts = {}, 0, 6
    for d, folder in enumerate(dirs):
        seqs = footage_sequences(folder)
        parts = min(parts, len(seqs))
        for seq in seqs:
            info = read_seqinfo(seq)
            gt = read_mot(
                osp.join(seq, 'gt', 'gt.txt'), 'gt', info.seq_length)
            for k in np.unique(gt.frames)[::frame_step]:
                rows = np.nonzero(gt.frames == k)[0]
                frame = None
                for r in rows:
                    if gt.visibility[r] < min_visibility:
                        low += 1
                        continue
                    if frame is None:
                        path = info.frame_path(seq, int(k))
                        frame = cv2.imread(path)
                        if frame is None:
                            raise FileNotFoundError(
                                f'write_reid_crops: frame {int(k)} of {seq} '
                                f'({path}) is missing or unreadable; its '
                                'gt.txt has boxes on it')
                    crop, _ = cut_crop(frame, gt.boxes[r], margin,
                                       crop_size)
                    crops.setdefault((d, int(gt.ids[r])), []).append(crop)
    walkers = sorted(i for i, c in crops.items() if len(c) >= parts)
    too_few = len(crops) - len(walkers)
    num_train = len(walkers) if num_train is None else num_train
    test = len(walkers) > num_train
    write_mars(
        out_root, [np.stack(crops[i]) for i in walkers],
        num_train=num_train,
        tracklets_per_identity=parts,
        num_junk=int(test),
        num_distractors=int(test),
        seed=seed)
    return dict(
        identities=len(walkers),
        crops=sum(len(crops[i]) for i in walkers),
        low_visibility=low,
        too_few=too_few,
        pids={
            p + 1: i[1] if len(dirs) == 1 else list(i)
            for p, i in enumerate(walkers)
        },
        root=out_root)
