"""Tiny footage, DDL checkpoints, a tiny trained detector and in-process runs
of tools/track_ddl.py for the track tool tests."""
import importlib.util
import os
import os.path as osp
import sys
from typing import List, Tuple

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TRACK_CONFIG = osp.join(REPO, 'configs', 'tracks',
                        'ddl_reid-r18-tiny_thr0.15_synth-footage-tracks.py')
DET_CONFIG = osp.join(REPO, 'configs', 'tracks',
                      'bytetrack_yolox-nano_1xb8-20e_synth-footage.py')
FACE_CONFIG = osp.join(REPO, 'configs', 'tracks',
                       'ddl_arcface-r18-tiny_thr0.15_synth-face-tracks.py')
FACE_DET_CONFIG = osp.join(REPO, 'configs', 'tracks',
                           'bytetrack_yolox-nano_1xb8-20e_synth-faces.py')
TOOL = osp.join(REPO, 'tools', 'track_ddl.py')
TRAIN_TOOL = osp.join(REPO, 'tools', 'train.py')


def mmdet_missing() -> str:
    """Why mmdet's models cannot be used here ('' when they can)."""
    try:
        import mmdet.models  # noqa: F401
    except ImportError as err:
        return (f'mmdet.models does not import ({err}): mmcv without '
                'compiled ops (MMCV=lite); the detector + tracker path '
                'needs full mmcv')
    return ''


def load_tool(path: str = TOOL):
    """A tool script as a module (its ``main(argv)`` runs in-process)."""
    name = 'tool_' + osp.splitext(osp.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_track_tool(argv: List[str]) -> dict:
    """``tools/track_ddl.py argv`` in this process; its summary."""
    return load_tool().main(argv)


def ddl_checkpoints(root: str, config: str = TRACK_CONFIG) -> Tuple[str, str]:
    """Base and DDNet checkpoints of the track DDL config's models: the
    base's weights perturbed (seeded), the DDNet as initialised with a
    40x larger last layer (D-scores spread over about 0.2-0.8)."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(config)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        base = MODELS.build(cfg.model.base)
        ddnet = MODELS.build(cfg.model.ddnet)
    ddnet.init_weights()
    with torch.no_grad():  # spread the D-scores (the head starts near 0.5)
        ddnet.head.fc.weight.mul_(40.0)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in base.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=gen))
    stem = osp.splitext(osp.basename(config))[0]
    paths = (osp.join(root,
                      f'{stem}_base.pth'), osp.join(root, f'{stem}_ddnet.pth'))
    torch.save(dict(state_dict=base.state_dict(), meta={}), paths[0])
    torch.save(dict(state_dict=ddnet.state_dict(), meta={}), paths[1])
    return paths


def train_tiny_detector(root: str, footage_dir: str, iters: int = 4) -> str:
    """Train the ByteTrack config's detector for ``iters`` iterations of 2
    frames through ``tools/train.py`` (in-process); its checkpoint."""
    from mmddl.testing.synthetic_footage import write_coco_annotations
    ann = osp.join(root, 'annotations', 'train_cocoformat.json')
    write_coco_annotations(footage_dir, ann)
    work = osp.join(root, 'det')
    argv = [
        TRAIN_TOOL, DET_CONFIG, '--work-dir', work, '--no-validate',
        '--cfg-options', f'train_dataloader.dataset.dataset.data_root={root}',
        f'train_dataloader.dataset.dataset.data_prefix.img={footage_dir}/',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'train_cfg.max_epochs=1',
        'default_hooks.checkpoint.interval=1',
        'custom_hooks.0.num_last_epochs=0',
        f'train_dataloader.dataset.dataset.indices={iters * 2}'
    ]
    saved = sys.argv
    sys.argv = argv
    try:
        load_tool(TRAIN_TOOL).main()
    finally:
        sys.argv = saved
    return osp.join(work, 'epoch_1.pth')


def write_face_clip(root: str,
                    cameras: int = 2,
                    identities: int = 3,
                    frames: int = 8,
                    seed: int = 0) -> List[str]:
    """MOTChallenge sequences of synthetic faces (``draw_face``, the faces
    the face demo's base learns) drifting over a background, one 32x32 face
    per identity and frame, with their boxes as ``gt/gt.txt``.

    Returns:
        list[str]: The sequence folders ``FACES-01`` ...
    """
    import cv2
    import numpy as np

    from mmddl.datasets.tracks import SeqInfo, write_mot, write_seqinfo
    from mmddl.testing.synthetic_faces import draw_face, random_identity
    rng = np.random.default_rng(seed)
    idents = [random_identity(rng) for _ in range(identities)]
    h, w, size = 96, 160, 32
    seqs = []
    for c in range(cameras):
        name = f'FACES-0{c + 1}'
        seq = osp.join(root, name)
        rows = []
        for k in range(1, frames + 1):
            img = np.full((h, w, 3), 60 + 40 * c, np.uint8)
            for i, ident in enumerate(idents):
                x = int(4 + i * 50 + 2 * k)
                y = int(20 + 10 * ((k + i + c) % 3))
                face, _ = draw_face(ident, size, rng)
                img[y:y + size, x:x + size] = face
                rows.append((k, i + 1, x, y))
            os.makedirs(osp.join(seq, 'img1'), exist_ok=True)
            cv2.imwrite(
                osp.join(seq, 'img1', f'{k:06d}.jpg'), img,
                [cv2.IMWRITE_JPEG_QUALITY, 95])
        r = np.asarray(rows, float)
        n = len(r)
        write_mot(
            osp.join(seq, 'gt', 'gt.txt'),
            r[:, 0].astype(int),
            r[:, 1].astype(int),
            np.stack([r[:, 2], r[:, 3],
                      np.full(n, size),
                      np.full(n, size)], 1),
            np.ones(n),
            np.ones(n, int),
            np.ones(n),
            kind='gt')
        write_seqinfo(
            osp.join(seq, 'seqinfo.ini'),
            SeqInfo(name, 'img1', 10.0, frames, w, h, '.jpg'))
        seqs.append(seq)
    return seqs
