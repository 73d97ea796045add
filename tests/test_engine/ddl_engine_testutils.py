"""Shared helpers of the engine tests: tiny videos, tiny models, references.

Everything here is independent of the code under test (``mmddl.engine``):
the numpy references re-derive clip positions, centroids, Eq. 2-4 by hand.
"""
import os.path as osp
from typing import Dict, List, Tuple

import cv2
import numpy as np
import torch

H, W = 32, 40  # frame size (non-square so ThreeCrop has distinct crops)
CLIP_LEN, INTERVAL, NUM_CLIPS = 4, 2, 3


def write_video(path: str, num_frames: int, seed: int, label: int) -> None:
    """A tiny .mp4: a class-coloured square moving over a seeded texture."""
    rng = np.random.RandomState(seed)
    base = cv2.resize(rng.randint(0, 255, (8, 10, 3)).astype(np.uint8),
                      (W, H), interpolation=cv2.INTER_LINEAR)
    color = np.array([[255, 40, 40], [40, 255, 40], [40, 40, 255]][label % 3],
                     np.uint8)
    # class-tinted background: random-weights features differ between classes
    base = (0.4 * base + 0.6 * color[::-1]).astype(np.uint8)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 25,
                             (W, H))
    for t in range(num_frames):
        frame = base.copy()
        x = (3 * t + 5 * seed) % (W - 8)
        y = (2 * t * (label + 1)) % (H - 8)
        frame[y:y + 8, x:x + 8] = color
        writer.write(frame)
    writer.release()


def write_corrupt(path: str) -> None:
    """A file named .mp4 that no decoder can open."""
    with open(path, 'wb') as f:
        f.write(b'\x00\x00\x00\x18ftypmp42' + b'garbage' * 64)


#: (name, num_frames, label); 'short' is shorter than one clip (7 frames).
VIDEOS = [('v0.mp4', 40, 0), ('v1.mp4', 36, 0), ('v2.mp4', 40, 1),
          ('short.mp4', 5, 1), ('v4.mp4', 38, 2)]
CORRUPT = ('broken.mp4', 2)


def make_videos(root: str, with_corrupt: bool = True) -> Dict[str, str]:
    """Write the videos and two list files into ``root``.

    Returns:
        dict(prefix=<video dir>, full=<list incl. corrupt>,
        clean=<list without it>).
    """
    for i, (name, n, label) in enumerate(VIDEOS):
        write_video(osp.join(root, name), n, seed=i, label=label)
    write_corrupt(osp.join(root, CORRUPT[0]))
    lines = [f'{name} {label}' for name, _, label in VIDEOS]
    full = osp.join(root, 'full_list.txt')
    clean = osp.join(root, 'clean_list.txt')
    with open(full, 'w') as f:
        f.write('\n'.join(lines[:3] + [f'{CORRUPT[0]} {CORRUPT[1]}']
                          + lines[3:]) + '\n')
    with open(clean, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return dict(prefix=root, full=full, clean=clean)


def candidate_pipeline(three_crop: bool = False) -> List[dict]:
    """mmaction candidate pipeline: NUM_CLIPS test-mode clips per video."""
    pipe = [
        dict(type='DecordInit'),
        dict(type='SampleFrames', clip_len=CLIP_LEN,
             frame_interval=INTERVAL, num_clips=NUM_CLIPS, test_mode=True),
        dict(type='DecordDecode'),
    ]
    if three_crop:
        pipe.append(dict(type='ThreeCrop', crop_size=H))
    return pipe + [dict(type='FormatShape', input_format='NCTHW'),
                   dict(type='PackActionInputs')]


def tiny_r3d_cfg(num_classes: int = 3) -> dict:
    """A random-weights Recognizer3D small enough for CPU tests."""
    return dict(
        type='Recognizer3D',
        backbone=dict(type='ResNet3d', depth=18, base_channels=8,
                      pretrained=None, pretrained2d=False,
                      conv1_kernel=(1, 3, 3), conv1_stride_t=1,
                      pool1_stride_t=1, inflate=(1, 1), num_stages=2,
                      out_indices=(1, ), spatial_strides=(1, 2),
                      temporal_strides=(1, 1), dilations=(1, 1)),
        cls_head=dict(type='I3DHead', num_classes=num_classes,
                      in_channels=16),
        data_preprocessor=dict(type='ActionDataPreprocessor',
                               mean=[10., 20., 30.], std=[60., 50., 40.],
                               format_shape='NCTHW'))


def ref_offsets(num_frames: int) -> np.ndarray:
    """SampleFrames(test_mode=True) clip starts, written out by hand."""
    ori = (CLIP_LEN - 1) * INTERVAL + 1
    max_offset = max(num_frames - ori, 0)
    return np.round(np.arange(NUM_CLIPS) * max_offset / (NUM_CLIPS - 1))


def ref_clip_features(model, path: str,
                      crops_x=(None, )) -> Tuple[np.ndarray, np.ndarray]:
    """Features of every clip of a video: decode, normalise, backbone, mean.

    Args:
        crops_x: x offsets of H x H crops (None = the full frame); the clip
            feature is the mean over crops.

    Returns:
        ``(positions (NUM_CLIPS,), feats (NUM_CLIPS, d))``.
    """
    import decord
    vr = decord.VideoReader(path)
    n = len(vr)
    offs = ref_offsets(n).astype(int)
    mean = np.array([10., 20., 30.]).reshape(3, 1, 1, 1)
    std = np.array([60., 50., 40.]).reshape(3, 1, 1, 1)
    feats = []
    for off in offs:
        inds = (off + np.arange(CLIP_LEN) * INTERVAL) % n
        frames = vr.get_batch(list(inds)).asnumpy().astype(np.float64)
        per_crop = []
        for x in crops_x:
            clip = frames if x is None else frames[:, :, x:x + H]
            clip = (clip.transpose(3, 0, 1, 2) - mean) / std  # C,T,H,W
            with torch.no_grad():
                out = model.backbone(torch.from_numpy(clip).float()[None])
            per_crop.append(out.mean(dim=(2, 3, 4))[0].numpy())
        feats.append(np.mean(per_crop, axis=0))
    return offs, np.stack(feats)


def ref_dscores(feats: np.ndarray, labels: np.ndarray,
                metric: str = 'cosine') -> Tuple[np.ndarray, np.ndarray]:
    """Eq. 2-4 in float64 numpy: centroids, ratio, sigmoid z-score.

    Returns:
        ``(raw D, D-scores)``.
    """
    feats = feats.astype(np.float64)
    classes = np.unique(labels)
    cents = {c: feats[labels == c].mean(0) for c in classes}
    raw = []
    for f, y in zip(feats, labels):
        if metric == 'cosine':
            cos = {c: f @ v / np.linalg.norm(f) / np.linalg.norm(v)
                   for c, v in cents.items()}
            neg = max(cos[c] for c in classes if c != y)
            raw.append(cos[y] / max(neg, 1e-2))  # documented floor 0.01
        else:
            dist = {c: np.linalg.norm(f - v) for c, v in cents.items()}
            raw.append(min(dist[c] for c in classes if c != y) /
                       max(dist[y], 1e-6))
    raw = np.array(raw)
    z = (raw - raw.mean()) / raw.std()
    return raw, 1 / (1 + np.exp(-z))
