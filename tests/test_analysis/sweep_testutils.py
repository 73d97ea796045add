"""Tiny videos and random-weight checkpoints of the demo DDL config, for
the sweep and budget tests."""
import os.path as osp
import sys

import pytest

sys.path.insert(
    0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'test_tools'))
import ddl_tool_testutils as dtu  # noqa: E402

REPO, DDL_CONFIG, write_videos = (dtu.REPO, dtu.DEMO_DDL_CONFIG,
                                  dtu.write_videos)
NUM_CLIPS, TOPK = 6, 2



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
    root = str(tmp_path_factory.mktemp('sweep'))
    ann = write_videos(
        osp.join(root, 'data'), labels=[0, 1, 2, 1], num_frames=30)
    base, ddnet = dtu.demo_ddl_checkpoints(root)
    return dict(
        root=root,
        base=base,
        ddnet=ddnet,
        options={
            'test_dataloader.dataset.ann_file': ann,
            'test_dataloader.dataset.data_prefix.video': osp.dirname(ann),
            'test_dataloader.num_workers': 0,
            'test_dataloader.batch_size': 2,
            'test_dataloader.dataset.pipeline.1.num_clips': NUM_CLIPS,
            'model.aggregator.topk': TOPK,
        })
