"""Tiny videos and random-weight checkpoints of the demo DDL config, for
the sweep and budget tests."""
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

sys.path.insert(
    0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'test_tools'))
import ddl_tool_testutils as dtu  # noqa: E402

REPO, save_checkpoint, write_videos = (dtu.REPO, dtu.save_checkpoint,
                                       dtu.write_videos)

DDL_CONFIG = osp.join(REPO, 'configs', 'recognition', 'demo',
                      'ddl_slowfast-tiny_top5-of-30_synthetic-rgb.py')
NUM_CLIPS, TOPK = 6, 2


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def write_list(ann: str, names, path: str) -> str:
    """A list file with the lines of ``ann`` whose video is in ``names``."""
    with open(ann) as f:
        lines = [ln for ln in f if ln.split()[0] in names]
    with open(path, 'w') as f:
        f.writelines(lines)
    return path


@pytest.fixture(scope='module')
def video_setup(tmp_path_factory):
    """Four tiny videos of 3 classes, random-weight base / DDNet
    checkpoints of the demo DDL config's models."""
    from mmaction.registry import MODELS
    root = str(tmp_path_factory.mktemp('sweep'))
    ann = write_videos(
        osp.join(root, 'data'), labels=[0, 1, 2, 1], num_frames=30)
    cfg = Config.fromfile(DDL_CONFIG)
    base_cfg = Config.fromfile(cfg.model.base)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmaction'):
        base = MODELS.build(base_cfg.model)
        ddnet = MODELS.build(cfg.model.ddnet)
    return dict(
        root=root,
        base=save_checkpoint(
            base, osp.join(root, 'base.pth'), base_cfg.pretty_text, seed=1),
        ddnet=save_checkpoint(ddnet, osp.join(root, 'ddnet.pth'), seed=2),
        options={
            'test_dataloader.dataset.ann_file': ann,
            'test_dataloader.dataset.data_prefix.video': osp.dirname(ann),
            'test_dataloader.num_workers': 0,
            'test_dataloader.batch_size': 2,
            'test_dataloader.dataset.pipeline.1.num_clips': NUM_CLIPS,
            'model.aggregator.topk': TOPK,
        })
