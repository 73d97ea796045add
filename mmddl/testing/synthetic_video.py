"""Synthetic untrimmed-video benchmark for the DDL video demo."""
from __future__ import annotations
import json
import math
import os
import os.path as osp
import time
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

TEXTURES = ('hstripes', 'vstripes', 'dstripes', 'checker', 'rings', 'dots')
MOTIONS = ('slide_right', 'slide_up', 'spin_cw', 'orbit', 'shake', 'diagonal',
           'pulse', 'spin_ccw')
MOTION_FAMILY = {
    'slide_right': 'Translation',
    'slide_up': 'Translation',
    'diagonal': 'Translation',
    'spin_cw': 'Rotation',
    'spin_ccw': 'Rotation',
    'orbit': 'Oscillation',
    'shake': 'Oscillation',
    'pulse': 'Oscillation'
}
OTHER_KINDS = ('noise', 'blank', 'dark', 'blur', 'occlusion', 'motion')
KINDS = ('class', 'confuser') + OTHER_KINDS
#: Kinds that show the video's own class (``blur``/``occlusion`` degraded).
OWN_CLASS_KINDS = ('class', 'blur', 'occlusion')
MAX_CLASSES = 24  # distinct (texture, motion) pairs: lcm(6, 8)
SPLITS = (('train', 'training'), ('val', 'validation'))
ANET_JSON = 'activity_net_synthetic.json'
#: bumped whenever rendering or layout changes (stored in meta.json)
FORMAT_VERSION = 1


@dataclass
class BenchmarkConfig:
    """Parameters of the synthetic benchmark (all stored in ``meta.json``).

    Args:
        num_classes (int): Number of classes, 2..24.
        train_per_class (int): Training videos per class.
        test_per_class (int): Validation (test) videos per class.
        num_frames (int): Frames per video.
        frame_size (Tuple[int, int]): ``(height, width)``, even numbers >= 32.
        fps (int): Frame rate written into the files.
        class_fraction (Tuple[float, float]): Range of the per-video
            fraction of ``class`` frames.
        confuser_fraction (Tuple[float, float]): Range of the per-video
            fraction of ``confuser`` frames (0 allowed: then some videos have
            no confuser).
        min_segment (int): Minimum segment length in frames.
        max_segment (int): Maximum segment length in frames
            (>= 2 * min_segment).
    """

    num_classes: int = 6
    train_per_class: int = 20
    test_per_class: int = 10
    num_frames: int = 160
    frame_size: Tuple[int, int] = (64, 64)
    fps: int = 25
    class_fraction: Tuple[float, float] = (0.15, 0.45)
    confuser_fraction: Tuple[float, float] = (0.10, 0.40)
    min_segment: int = 20
    max_segment: int = 40

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad parameter."""
        if not 2 <= self.num_classes <= MAX_CLASSES:
            raise ValueError(f'num_classes must be in [2, {MAX_CLASSES}], '
                             f'got {self.num_classes}')
        if self.train_per_class < 1 or self.test_per_class < 1:
            raise ValueError('train_per_class and test_per_class must be >= 1')
        h, w = self.frame_size
        if h < 32 or w < 32 or h % 2 or w % 2:
            raise ValueError('frame_size must be two even numbers >= 32, got '
                             f'{self.frame_size}')
        if self.fps < 1:
            raise ValueError(f'fps must be >= 1, got {self.fps}')
        if self.min_segment < 1 or self.max_segment < 2 * self.min_segment:
            raise ValueError('need min_segment >= 1 and max_segment >= '
                             f'2 * min_segment, got {self.min_segment}, '
                             f'{self.max_segment}')
        if self.num_frames < 3 * self.min_segment:
            raise ValueError(f'num_frames ({self.num_frames}) must be >= 3 * '
                             f'min_segment ({self.min_segment})')
        for name, lo_min in (('class_fraction', 1e-9), ('confuser_fraction',
                                                        0.0)):
            lo, hi = getattr(self, name)
            if not lo_min <= lo <= hi < 1:
                raise ValueError(f'{name} must be a range inside '
                                 f'[{lo_min:g}, 1), got {(lo, hi)}')
        if self.class_fraction[1] + self.confuser_fraction[1] > 1:
            raise ValueError('class_fraction and confuser_fraction maxima '
                             'must sum to <= 1')


def class_specs(num_classes: int) -> List[dict]:
    """Class table: index, name (sorts like the index), texture, motion.

    Args:
        num_classes (int): Number of classes (at most ``MAX_CLASSES``).
    """
    specs = []
    for c in range(num_classes):
        tex, mot = TEXTURES[c % len(TEXTURES)], MOTIONS[c % len(MOTIONS)]
        specs.append(
            dict(
                index=c,
                name=f'c{c:02d}_{tex}_{mot}',
                texture=tex,
                motion=mot,
                family=MOTION_FAMILY[mot]))
    return specs


# ----------------------------------------------------------------- layout
def _split_length(rng: np.random.Generator, n: int, lo: int,
                  hi: int) -> List[int]:
    """Split ``n`` frames into parts of length in ``[lo, hi]``."""
    k_min, k_max = max(1, math.ceil(n / hi)), max(1, n // lo)
    k = int(rng.integers(k_min, max(k_min, k_max) + 1))
    for _ in range(100):
        parts = lo + rng.multinomial(n - k * lo, np.full(k, 1.0 / k))
        if parts.max() <= hi:
            return [int(p) for p in parts]
    base = np.full(k, n // k)  # near-equal fallback, always within bounds
    base[:n % k] += 1
    return [int(p) for p in base]


def plan_segments(rng: np.random.Generator, label: int,
                  cfg: BenchmarkConfig) -> Tuple[List[dict], int]:
    """Draw a video's segment layout.

    Args:
        rng (np.random.Generator): Random generator of the video.
        label (int): Class of the video.
        cfg (BenchmarkConfig): Benchmark parameters.

    Returns:
        tuple: ``(segments, confuser_class)``: segments cover
        ``[0, num_frames)`` in order; each has ``start``, ``end``, ``kind``,
        ``shown_class``.
    """
    T, lo, hi = cfg.num_frames, cfg.min_segment, cfg.max_segment
    conf = int(rng.integers(cfg.num_classes - 1))
    conf += int(conf >= label)
    n_cls = int(
        np.clip(round(rng.uniform(*cfg.class_fraction) * T), lo, T - lo))
    n_conf = int(round(rng.uniform(*cfg.confuser_fraction) * T))
    n_conf = min(max(n_conf, lo), T - n_cls) if n_conf > 0 else 0
    if n_conf < lo:
        n_conf = 0
    rest = T - n_cls - n_conf
    if 0 < rest < lo:  # too short for a segment of its own
        if n_conf:
            n_conf += rest
        else:
            n_cls += rest
        rest = 0
    kind_p = rng.dirichlet(np.ones(len(OTHER_KINDS)))
    pieces = [('class', n) for n in _split_length(rng, n_cls, lo, hi)]
    if n_conf:
        pieces += [('confuser', n) for n in _split_length(rng, n_conf, lo, hi)]
    if rest:
        pieces += [(OTHER_KINDS[int(rng.choice(len(OTHER_KINDS),
                                               p=kind_p))], n)
                   for n in _split_length(rng, rest, lo, hi)]
    order = rng.permutation(len(pieces))
    segments, start = [], 0
    for i in order:
        kind, n = pieces[i]
        shown = label if kind in OWN_CLASS_KINDS else (
            conf if kind == 'confuser' else -1)
        segments.append(
            dict(start=start, end=start + n, kind=kind, shown_class=shown))
        start += n
    return segments, conf


# -------------------------------------------------------------- rendering
def _texture(name: str, u: np.ndarray, v: np.ndarray,
             period: float) -> np.ndarray:
    """Texture value in [0, 1] at object coordinates ``(u, v)``."""
    k = 2 * np.pi / period
    if name == 'hstripes':
        raw = np.sin(k * v)
    elif name == 'vstripes':
        raw = np.sin(k * u)
    elif name == 'dstripes':
        raw = np.sin(k * (u + v) / np.sqrt(2))
    elif name == 'checker':
        raw = np.sin(k * u) * np.sin(k * v) * 2
    elif name == 'rings':
        raw = np.sin(k * np.sqrt(u * u + v * v))
    elif name == 'dots':
        raw = np.cos(k * u) * np.cos(k * v) - 0.3
    else:
        raise ValueError(f'unknown texture {name!r}')
    return 0.5 + 0.5 * np.tanh(4 * raw)


def _trajectory(motion: str, T: int, H: int, W: int, unit: float,
                rng: np.random.Generator,
                speed: float) -> Tuple[np.ndarray, ...]:
    """Per-frame centre x, y, angle and scale of a class object."""
    t = np.arange(T, dtype=np.float32)
    sp = speed * rng.uniform(0.85, 1.15)
    phase = rng.uniform(0, 2 * np.pi)
    cx = np.full(T, rng.uniform(0.35, 0.65) * W, np.float32)
    cy = np.full(T, rng.uniform(0.35, 0.65) * H, np.float32)
    th = np.full(T, rng.uniform(-0.25, 0.25), np.float32)
    sc = np.ones(T, np.float32)
    if motion == 'slide_right':
        cx = cx + 1.8 * unit * sp * t
    elif motion == 'slide_up':
        cy = cy - 1.8 * unit * sp * t
    elif motion == 'diagonal':
        cx, cy = cx + 1.3 * unit * sp * t, cy + 1.3 * unit * sp * t
    elif motion in ('spin_cw', 'spin_ccw'):
        th = th + (0.18 if motion == 'spin_cw' else -0.18) * sp * t
    elif motion == 'orbit':
        ang = phase + 0.16 * sp * t
        cx = W / 2 + 13 * unit * np.cos(ang)
        cy = H / 2 + 13 * unit * np.sin(ang)
    elif motion == 'shake':
        cx = cx + 8 * unit * np.sin(phase + 0.9 * sp * t)
    elif motion == 'pulse':
        sc = 1 + 0.35 * np.sin(phase + 0.5 * sp * t)
    else:
        raise ValueError(f'unknown motion {motion!r}')
    return cx, cy, th, sc.astype(np.float32)


def _object(spec: dict,
            T: int,
            H: int,
            W: int,
            rng: np.random.Generator,
            speed: float = 1.0,
            scale: float = 1.0) -> Tuple[np.ndarray, np.ndarray]:
    """Render a class object: coverage mask (T,H,W) and value (T,H,W)."""
    unit = min(H, W) / 64.0
    cx, cy, th, sc = _trajectory(spec['motion'], T, H, W, unit, rng, speed)
    sc = sc * scale
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    # toroidal offsets: objects leaving one side re-enter on the other
    dx = (xs[None] - cx[:, None, None] + W / 2) % W - W / 2
    dy = (ys[None] - cy[:, None, None] + H / 2) % H - H / 2
    c, s = np.cos(th)[:, None, None], np.sin(th)[:, None, None]
    u = (c * dx + s * dy) / sc[:, None, None]
    v = (-s * dx + c * dy) / sc[:, None, None]
    half_w, half_h = 9 * unit, 6.5 * unit
    mask = (
        np.clip(half_w - np.abs(u) + 0.5, 0, 1) *
        np.clip(half_h - np.abs(v) + 0.5, 0, 1))
    value = _texture(spec['texture'], u, v, 6 * unit)
    return mask.astype(np.float32), value.astype(np.float32)


def _composite(bg: np.ndarray,
               mask: np.ndarray,
               value: np.ndarray,
               color: np.ndarray,
               alpha: float = 1.0) -> np.ndarray:
    """Paint an object of colour ``color`` (dark where value=0) on ``bg``."""
    m = (alpha * mask)[..., None]
    obj = color * (0.15 + 0.85 * value[..., None])
    return bg * (1 - m) + obj * m


def _random_color(rng: np.random.Generator) -> np.ndarray:
    hsv = np.uint8(
        [[[rng.integers(180),
           rng.integers(120, 256),
           rng.integers(200, 256)]]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)


def _background(rng: np.random.Generator, H: int, W: int) -> np.ndarray:
    low = rng.uniform(-1, 1, (5, 5, 3)).astype(np.float32)
    smooth = cv2.resize(low, (W, H), interpolation=cv2.INTER_CUBIC)
    base = rng.uniform(60, 170) + rng.uniform(-15, 15, 3)
    return np.clip(base + 35 * smooth, 0, 255).astype(np.float32)


def _render_segment(seg: dict, ctx: dict,
                    rng: np.random.Generator) -> Tuple[np.ndarray, dict]:
    """Frames (T,H,W,3) float RGB of one segment and its drawn parameters."""
    kind, T = seg['kind'], seg['end'] - seg['start']
    H, W, bg = ctx['H'], ctx['W'], ctx['bg']
    unit = min(H, W) / 64.0
    bgs = np.broadcast_to(bg, (T, H, W, 3))
    params: dict = {}
    if kind in OWN_CLASS_KINDS:
        m, v = _object(ctx['spec'], T, H, W, rng)
        out = _composite(bgs, m, v, ctx['color'])
        if kind == 'blur':
            params['sigma'] = float(rng.uniform(2.5, 4.0) * unit)
            out = np.stack([
                cv2.GaussianBlur(f, (0, 0), params['sigma'])
                for f in out.astype(np.float32)
            ])
        elif kind == 'occlusion':
            out, params['occluded_area'] = _occlude(out, rng)
    elif kind == 'confuser':
        params = dict(
            alpha=float(rng.uniform(0.35, 0.6)),
            scale=float(rng.uniform(0.65, 0.85)),
            speed=float(rng.uniform(0.5, 0.8)))
        m, v = _object(ctx['conf_spec'], T, H, W, rng, params['speed'],
                       params['scale'])
        out = _composite(bgs, m, v, ctx['conf_color'], params['alpha'])
    elif kind == 'noise':
        out = 0.3 * bgs + 0.7 * rng.uniform(0, 255, (T, H, W, 3))
    elif kind == 'blank':
        level = rng.uniform(20, 235) + rng.uniform(-10, 10, 3)
        out = np.broadcast_to(level.astype(np.float32), (T, H, W, 3))
    elif kind == 'dark':
        params['brightness'] = float(rng.uniform(0.04, 0.12))
        out = bgs * params['brightness']
    elif kind == 'motion':
        out = _agnostic_motion(bg, T, rng)
    else:
        raise ValueError(f'unknown segment kind {kind!r}')
    out = out + rng.normal(0, 3, (T, H, W, 3)).astype(np.float32)
    return out, params


def _occlude(frames: np.ndarray,
             rng: np.random.Generator) -> Tuple[np.ndarray, float]:
    """Cover 55-80 % of the frame with 1-2 static flat occluders."""
    T, H, W, _ = frames.shape
    covered = np.zeros((H, W), bool)
    target = rng.uniform(0.55, 0.8)
    for _ in range(int(rng.integers(1, 3))):
        h = int(H * np.sqrt(target) * rng.uniform(0.9, 1.15))
        w = int(round(target * H * W / max(h, 1)))
        y0 = int(rng.integers(0, max(1, H - h + 1)))
        x0 = int(rng.integers(0, max(1, W - w + 1)))
        covered[y0:y0 + h, x0:x0 + w] = True
    frames = frames.copy()
    frames[:, covered] = rng.uniform(30, 220, 3).astype(np.float32)
    return frames, float(covered.mean())


def _agnostic_motion(bg: np.ndarray, T: int,
                     rng: np.random.Generator) -> np.ndarray:
    """A plain blob doing a random walk over a panning background."""
    H, W, _ = bg.shape
    unit = min(H, W) / 64.0
    pan = rng.uniform(-1.0, 1.0, 2) * unit
    vel, pos = np.zeros(2), rng.uniform(0, 1, 2) * (W, H)
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    color, out = _random_color(rng), np.empty((T, H, W, 3), np.float32)
    rx, ry = rng.uniform(5, 8) * unit, rng.uniform(4, 7) * unit
    for t in range(T):
        frame = np.roll(
            bg, (int(round(pan[1] * t)), int(round(pan[0] * t))), axis=(0, 1))
        vel = 0.8 * vel + rng.normal(0, 0.8 * unit, 2)
        pos = (pos + vel) % (W, H)
        dx = (xs - pos[0] + W / 2) % W - W / 2
        dy = (ys - pos[1] + H / 2) % H - H / 2
        m = np.clip((1 - (dx / rx)**2 - (dy / ry)**2) * 4, 0, 1)[..., None]
        out[t] = frame * (1 - m) + color * m
    return out


def generate_video(label: int,
                   cfg: BenchmarkConfig,
                   seed: int,
                   split: str = 'train',
                   index: int = 0) -> Tuple[dict, np.ndarray]:
    """Plan and render one video (no file written).

    Args:
        label (int): Class index of the video.
        cfg (BenchmarkConfig): Benchmark parameters.
        seed (int): Global seed.
        split (str): ``'train'`` or ``'val'``.
        index (int): Index of the video inside its split.

    Returns:
        tuple: ``(meta, frames)``: meta with ``label``, ``confuser_class``,
        ``segments`` (each with its drawn ``params``) and fractions;
        frames a uint8 RGB array ``(num_frames, H, W, 3)``.
    """
    split_codes = {s: i for i, (s, _) in enumerate(SPLITS)}
    if split not in split_codes:
        raise ValueError(f'split must be one of {list(split_codes)}')
    if not 0 <= label < cfg.num_classes:
        raise ValueError(f'label {label} outside [0, {cfg.num_classes})')
    rng = np.random.default_rng([seed, split_codes[split], index])
    segments, conf = plan_segments(rng, label, cfg)
    specs = class_specs(cfg.num_classes)
    H, W = cfg.frame_size
    ctx = dict(
        H=H,
        W=W,
        bg=_background(rng, H, W),
        spec=specs[label],
        color=_random_color(rng),
        conf_spec=specs[conf],
        conf_color=_random_color(rng))
    parts = []
    for seg in segments:
        frames, seg['params'] = _render_segment(seg, ctx, rng)
        parts.append(frames)
    frames = np.clip(np.concatenate(parts), 0, 255).round().astype(np.uint8)
    kinds = frame_kinds(dict(segments=segments, num_frames=cfg.num_frames))
    meta = dict(
        label=int(label),
        class_name=specs[label]['name'],
        confuser_class=conf,
        num_frames=cfg.num_frames,
        class_fraction=float(np.mean(kinds == 'class')),
        confuser_fraction=float(np.mean(kinds == 'confuser')),
        segments=segments)
    return meta, frames


# ------------------------------------------------------------ clip helpers
def frame_kinds(video: dict) -> np.ndarray:
    """Per-frame segment kind (str array of length ``num_frames``).

    Args:
        video (dict): One entry of ``meta['videos']``.
    """
    kinds = np.full(video['num_frames'], '', dtype=object)
    for seg in video['segments']:
        kinds[seg['start']:seg['end']] = seg['kind']
    if (kinds == '').any():
        raise ValueError('segments do not cover all frames')
    return kinds.astype(str)


def clip_class_fraction(video: dict, frame_inds: Sequence[int]) -> float:
    """Fraction of the given frame indices that lie in ``class`` segments.

    Args:
        video (dict): One entry of ``meta['videos']``.
        frame_inds (Sequence[int]): 0-based frame indices of a clip (e.g.
            mmaction's ``results['frame_inds']``).
    """
    inds = np.asarray(frame_inds, dtype=np.int64).ravel()
    if inds.size == 0:
        raise ValueError('frame_inds is empty')
    if inds.min() < 0 or inds.max() >= video['num_frames']:
        raise ValueError(f'frame indices must be in [0, '
                         f'{video["num_frames"]}), got [{inds.min()}, '
                         f'{inds.max()}]')
    return float(np.mean(frame_kinds(video)[inds] == 'class'))


# ----------------------------------------------------------------- writing
def write_video(path: str, frames: np.ndarray, fps: int = 25) -> None:
    """Write uint8 RGB frames ``(T,H,W,3)`` as an mp4v ``.mp4`` file.

    Args:
        path (str): Output file.
        frames (np.ndarray): ``(T, H, W, 3)`` uint8 RGB frames.
        fps (int): Frame rate.
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError('frames must be a uint8 (T, H, W, 3) array, got '
                         f'{frames.dtype} {frames.shape}')
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    T, H, W, _ = frames.shape
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (W, H))
    if not writer.isOpened():
        raise RuntimeError(f'cv2.VideoWriter cannot open {path} (mp4v)')
    for f in frames:
        writer.write(np.ascontiguousarray(f[..., ::-1]))
    writer.release()


def check_readable(path: str, num_frames: int, size: Tuple[int, int]) -> None:
    """Decode ``path`` like mmaction's ``DecordDecode`` and check it.

    Checks the frame count and that ``get_batch`` returns ``(H, W, 3)``
    frames. decord 0.6 misreads some widths (48 and 72 px give 4-channel
    frames or a size error), so this must be checked, not assumed.

    Args:
        path (str): Video file.
        num_frames (int): Expected number of frames.
        size (Tuple[int, int]): Expected ``(H, W)``.
    """
    import decord
    vr = decord.VideoReader(path)
    try:
        shape = vr.get_batch([0, len(vr) - 1]).asnumpy().shape[1:]
    except Exception as e:  # decord raises its own error types
        raise RuntimeError(f'{path}: decord cannot decode frames of size '
                           f'{size}: {e}; choose another width (e.g. a '
                           'multiple of 32)') from e
    if len(vr) != num_frames or shape != (*size, 3):
        raise RuntimeError(f'{path}: decord reads {len(vr)} frames of shape '
                           f'{shape}, expected {num_frames} of {(*size, 3)}'
                           '; choose another width (e.g. a multiple of 32)')


def write_corrupt_video(path: str,
                        mode: str = 'truncated',
                        seed: int = 0) -> str:
    """Write an ``.mp4`` that no decoder can open, for error-path tests.

    Args:
        path (str): Output file.
        mode (str): ``'truncated'`` (first 30 % of a valid file: no moov atom),
            ``'garbage'`` (4 KiB of random bytes) or ``'empty'`` (0 bytes).
        seed (int): Seed of the content.

    Returns:
        str: ``path``.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    rng = np.random.default_rng(seed)
    if mode == 'truncated':
        write_short_video(path, num_frames=50, seed=seed)
        with open(path, 'rb') as f:
            data = f.read()
        data = data[:max(1, len(data) * 3 // 10)]
    elif mode == 'garbage':
        data = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
    elif mode == 'empty':
        data = b''
    else:
        raise ValueError("mode must be 'truncated', 'garbage' or 'empty', "
                         f'got {mode!r}')
    with open(path, 'wb') as f:
        f.write(data)
    return path


def write_short_video(path: str,
                      num_frames: int = 4,
                      frame_size: Tuple[int, int] = (64, 64),
                      fps: int = 25,
                      seed: int = 0,
                      label: int = 0) -> str:
    """Write a valid video of ``num_frames`` frames of class ``label``.

    With the default 4 frames it is shorter than one clip of usual samplers.

    Args:
        path (str): Output file.
        num_frames (int): Number of frames.
        frame_size (Tuple[int, int]): ``(H, W)`` of the frames.
        fps (int): Frame rate.
        seed (int): Seed of the content.
        label (int): Class shown in the video.
    """
    if num_frames < 1:
        raise ValueError(f'num_frames must be >= 1, got {num_frames}')
    H, W = frame_size
    rng = np.random.default_rng(seed)
    spec = class_specs(label + 1)[label]
    ctx = dict(
        H=H,
        W=W,
        bg=_background(rng, H, W),
        spec=spec,
        color=_random_color(rng))
    frames, _ = _render_segment(
        dict(start=0, end=num_frames, kind='class'), ctx, rng)
    write_video(path, np.clip(frames, 0, 255).round().astype(np.uint8), fps)
    return path


def _anet_json(videos: List[dict], specs: List[dict], fps: int,
               frame_size: Tuple[int, int]) -> dict:
    """ActivityNet-1.2-style annotation of the benchmark (class segments)."""
    families = sorted({s['family'] for s in specs})
    taxonomy = [
        dict(nodeId=0, nodeName='Root', parentId=None, parentName=None)
    ]
    fam_id = {f: i + 1 for i, f in enumerate(families)}
    taxonomy += [
        dict(nodeId=i, nodeName=f, parentId=0, parentName='Root')
        for f, i in fam_id.items()
    ]
    taxonomy += [
        dict(
            nodeId=100 + s['index'],
            nodeName=s['name'],
            parentId=fam_id[s['family']],
            parentName=s['family']) for s in specs
    ]
    database = {}
    for v in videos:
        database[v['id']] = dict(
            subset=v['subset'],
            duration=v['num_frames'] / fps,
            url='',
            resolution=f'{frame_size[1]}x{frame_size[0]}',
            annotations=[
                dict(
                    segment=[s['start'] / fps, s['end'] / fps],
                    label=v['class_name']) for s in v['segments']
                if s['kind'] == 'class'
            ])
    return dict(
        version='mmddl synthetic benchmark (ActivityNet-1.2 format)',
        taxonomy=taxonomy,
        database=database)


def _outputs(out_dir: str) -> List[str]:
    """The generator's own files present in ``out_dir``."""
    names = [f'{s}{t}_list.txt' for s, _ in SPLITS for t in ('', '_trimmed')]
    names += ['classes.txt', 'meta.json', ANET_JSON]
    files = [osp.join(out_dir, n) for n in names]
    for sub in ('videos', 'trimmed'):
        vdir = osp.join(out_dir, sub)
        if osp.isdir(vdir):
            files += [
                osp.join(vdir, n) for n in sorted(os.listdir(vdir))
                if n.startswith('v_') and n.endswith('.mp4')
            ]
    return [f for f in files if osp.exists(f)]


def _write_trimmed(out_dir: str, vid: str, meta: dict, frames: np.ndarray,
                   cfg: BenchmarkConfig, verify: bool) -> List[dict]:
    """Write each ``class`` segment of a video as its own short video."""
    out = []
    segs = [s for s in meta['segments'] if s['kind'] == 'class']
    for k, seg in enumerate(segs):
        rel = f'trimmed/v_{vid}_{k}.mp4'
        path = osp.join(out_dir, rel)
        write_video(path, frames[seg['start']:seg['end']], cfg.fps)
        if verify:
            check_readable(path, seg['end'] - seg['start'], cfg.frame_size)
        out.append(dict(filename=rel, start=seg['start'], end=seg['end']))
    return out


def make_video_benchmark(out_dir: str,
                         seed: int = 0,
                         cfg: Optional[BenchmarkConfig] = None,
                         overwrite: bool = False,
                         verify: bool = True,
                         trimmed: bool = True,
                         progress: bool = True) -> Dict:
    """Generate the whole benchmark into ``out_dir`` (layout: module doc).

    Args:
        out_dir (str): Output directory (created).
        seed (int): Global seed; same seed, same outputs.
        cfg (BenchmarkConfig, optional): Parameters; defaults to
            :class:`BenchmarkConfig()`.
        overwrite (bool): Replace a benchmark already in ``out_dir`` (only its
            own files are deleted). Without it, existing outputs raise
            ``FileExistsError``.
        verify (bool): Read every written video back with decord and check its
            frame count and size.
        trimmed (bool): Also write every ``class`` segment as a short video in
            ``trimmed/`` with lists ``{train,val}_trimmed_list.txt`` (clean
            clips, e.g. to train the base recognizer on trimmed instances).
        progress (bool): Show a progress bar.

    Returns:
        dict: A summary (counts, mean fractions, per-kind frame fractions,
        seconds, bytes written).
    """
    cfg = cfg or BenchmarkConfig()
    cfg.validate()
    old = _outputs(out_dir)
    if old and not overwrite:
        raise FileExistsError(f'{out_dir} already holds a benchmark '
                              f'({len(old)} files, e.g. {old[0]}); pass '
                              'overwrite=True (--overwrite) to replace it')
    for f in old:
        os.remove(f)
    tic = time.time()
    if verify:  # fail early if decord cannot read this frame size
        probe = osp.join(out_dir, 'videos', '.decord_probe.mp4')
        write_video(probe, np.zeros((3, *cfg.frame_size, 3), np.uint8),
                    cfg.fps)
        try:
            check_readable(probe, 3, cfg.frame_size)
        finally:
            os.remove(probe)
    specs = class_specs(cfg.num_classes)
    jobs = [(split, subset, c) for split, subset in SPLITS
            for c in range(cfg.num_classes)
            for _ in range(cfg.train_per_class if split ==
                           'train' else cfg.test_per_class)]
    bar = None
    if progress:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(jobs))
    lists = {f'{s}{t}': [] for s, _ in SPLITS for t in ('', '_trimmed')}
    videos, counters = [], {}
    for split, subset, label in jobs:
        index = counters[split] = counters.get(split, -1) + 1
        meta, frames = generate_video(label, cfg, seed, split, index)
        vid = f'{split}_{index:05d}'
        rel = f'videos/v_{vid}.mp4'
        path = osp.join(out_dir, rel)
        write_video(path, frames, cfg.fps)
        if verify:
            check_readable(path, cfg.num_frames, cfg.frame_size)
        lists[split].append(f'{rel} {label}')
        if trimmed:
            meta['trimmed'] = _write_trimmed(out_dir, vid, meta, frames, cfg,
                                             verify)
            lists[f'{split}_trimmed'] += [
                f'{t["filename"]} {label}' for t in meta['trimmed']
            ]
        videos.append(dict(id=vid, filename=rel, subset=subset, **meta))
        if bar is not None:
            bar.update()
    for name, lines in lists.items():
        if lines:
            with open(osp.join(out_dir, f'{name}_list.txt'), 'w') as f:
                f.write('\n'.join(lines) + '\n')
    with open(osp.join(out_dir, 'classes.txt'), 'w') as f:
        f.write('\n'.join(s['name'] for s in specs) + '\n')
    with open(osp.join(out_dir, ANET_JSON), 'w') as f:
        json.dump(_anet_json(videos, specs, cfg.fps, cfg.frame_size), f)
    meta = dict(
        generator='mmddl.testing.synthetic_video',
        format_version=FORMAT_VERSION,
        seed=seed,
        params=asdict(cfg),
        trimmed=trimmed,
        classes=specs,
        kinds=list(KINDS),
        videos=videos)
    with open(osp.join(out_dir, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    return summarize(meta, out_dir, time.time() - tic)


def summarize(meta: dict, out_dir: str, seconds: float = 0.0) -> Dict:
    """Counts and mean fractions of a benchmark's ``meta.json`` content.

    Args:
        meta (dict): Content of ``meta.json``.
        out_dir (str): Benchmark folder.
        seconds (float): Generation time to report.
    """
    videos = meta['videos']
    kinds = np.concatenate([frame_kinds(v) for v in videos])
    trimmed = [t['filename'] for v in videos for t in v.get('trimmed', [])]
    files = [
        osp.join(out_dir, f) for f in [v['filename'] for v in videos] + trimmed
    ]
    size = sum(osp.getsize(f) for f in files if osp.exists(f))
    return dict(
        out_dir=out_dir,
        seed=meta['seed'],
        num_classes=len(meta['classes']),
        num_train=sum(v['subset'] == 'training' for v in videos),
        num_val=sum(v['subset'] == 'validation' for v in videos),
        num_trimmed=len(trimmed),
        mean_class_fraction=float(
            np.mean([v['class_fraction'] for v in videos])),
        mean_confuser_fraction=float(
            np.mean([v['confuser_fraction'] for v in videos])),
        videos_confuser_ge_class=int(
            sum(v['confuser_fraction'] >= v['class_fraction']
                for v in videos)),
        kind_fractions={k: float(np.mean(kinds == k))
                        for k in KINDS},
        seconds=round(seconds, 2),
        bytes=int(size))
