"""Tiny footage, DDL checkpoints, a tiny trained detector and in-process runs
of tools/track_ddl.py for the track tool tests."""
import importlib.util
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


def train_tiny_detector(root: str,
                        footage_dir: str,
                        iters: int = 4,
                        config: str = DET_CONFIG,
                        category: str = 'pedestrian') -> str:
    """Train a ByteTrack config's detector for ``iters`` iterations of 2
    frames through ``tools/train.py`` (in-process); its checkpoint."""
    from mmddl.testing.synthetic_footage import write_coco_annotations
    ann = osp.join(root, 'annotations', 'train_cocoformat.json')
    write_coco_annotations(footage_dir, ann, category=category)
    work = osp.join(root, 'det')
    argv = [
        TRAIN_TOOL, config, '--work-dir', work, '--no-validate',
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
    """Face footage (``generate_face_footage``) of ``cameras`` sequences
    ``FACES-01`` ...; the sequence folders."""
    from mmddl.testing.synthetic_face_footage import (FaceFootageSettings,
                                                      generate_face_footage)
    return generate_face_footage(
        root, seed,
        FaceFootageSettings(
            num_cameras=cameras,
            num_identities=identities,
            num_frames=frames))['sequences']


def few_boxes_options(config: str,
                      checkpoint: str,
                      frame_source: str,
                      num: int = 5,
                      target: str = 'person') -> dict:
    """Config overrides that let an untrained detector give about ``num``
    boxes a frame and the tracker start tracks from them: every score
    threshold (the detector's and ByteTracker's) at the ``num``-th best
    score of frame 1 (wiring tests, not accuracy)."""
    from mmengine.dataset import default_collate
    from mmengine.registry import DefaultScope

    from mmddl.apis import init_tracker
    from mmddl.apis.mot_tracker import _frame_pipeline
    from mmddl.datasets.tracks import FrameSource
    tracker = init_tracker(
        config,
        checkpoint,
        target,
        cfg_options={'model.detector.test_cfg.score_thr': 0})
    img = FrameSource.open(frame_source).read([1])[0]
    with DefaultScope.overwrite_default_scope('mmdet'), torch.no_grad():
        data = dict(
            img=[img.astype('float32')],
            frame_id=[0],
            ori_shape=[img.shape[:2]],
            img_id=[1],
            ori_video_length=[1])
        data = tracker.model.data_preprocessor(
            default_collate([_frame_pipeline(tracker.cfg)(data)]), False)
        det = tracker.model.detector.predict(data['inputs'][:, 0].contiguous(),
                                             [data['data_samples'][0][0]])
    scores = det[0].pred_instances.scores.sort(descending=True).values
    thr = float(scores[min(num, len(scores)) - 1]) * (1 - 1e-6)
    return {
        'model.detector.test_cfg.score_thr': thr,
        'model.tracker.init_track_thr': thr,
        'model.tracker.obj_score_thrs.high': thr,
        'model.tracker.obj_score_thrs.low': thr,
    }


def register_gt_detector():
    """Register ``GTBoxDetector`` in mmdet's MODELS: a test double for a
    trained detector that returns a video's ground-truth boxes (score 0.9)
    for each frame, the video told apart by its length. mmdet's real
    ByteTracker then links them. It has one parameter, so checkpoints are
    loaded (strictly) as for any detector."""
    import numpy as np
    from mmdet.models.detectors.base import BaseDetector
    from mmdet.registry import MODELS
    from mmengine.structures import InstanceData

    from mmddl.datasets.tracks import read_mot

    @MODELS.register_module(force=True)
    class GTBoxDetector(BaseDetector):

        def __init__(self, gt_files: dict, **kwargs):
            super().__init__(**kwargs)
            self.scale = torch.nn.Parameter(torch.ones(1))
            self.boxes = {}
            for length, path in gt_files.items():
                t = read_mot(path, 'gt')
                xyxy = np.concatenate(
                    [t.boxes[:, :2], t.boxes[:, :2] + t.boxes[:, 2:]], 1)
                for f in np.unique(t.frames):
                    self.boxes[(int(length), int(f) - 1)] = torch.as_tensor(
                        xyxy[t.frames == f], dtype=torch.float32)

        def predict(self, batch_inputs, batch_data_samples, rescale=True):
            for ds in batch_data_samples:
                b = self.boxes.get(
                    (int(ds.ori_video_length), int(ds.frame_id)),
                    torch.zeros(0, 4)) * self.scale
                ds.pred_instances = InstanceData(
                    bboxes=b,
                    scores=torch.full((len(b), ), 0.9),
                    labels=torch.zeros(len(b), dtype=torch.long))
            return batch_data_samples

        def loss(self, batch_inputs, batch_data_samples):
            raise NotImplementedError('a test double')

        def _forward(self, batch_inputs, batch_data_samples=None):
            raise NotImplementedError('a test double')

        def extract_feat(self, batch_inputs):
            raise NotImplementedError('a test double')

    return GTBoxDetector
