"""mmaction2's installed tools/test.py on a DDL config equals ours."""
import os.path as osp
import pickle

import numpy as np
import pytest
from ddl_tool_testutils import DEMO_DDL_CONFIG as DDL_CONFIG
from ddl_tool_testutils import (REPO, STOCK_TOOLS, demo_ddl_checkpoints,
                                run_tool, write_videos)
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmddl  # noqa: F401  (compat fixes, registration)

NUM_CLIPS, TOPK = 4, 2


@pytest.fixture(scope='module')
def demo_setup(tmp_path_factory):
    """Two tiny videos, a bare base checkpoint and a DDNet checkpoint of
    the demo DDL config's models (random weights, saved)."""
    root = str(tmp_path_factory.mktemp('stock'))
    ann = write_videos(osp.join(root, 'data'), labels=[0, 1])
    base, ddnet = demo_ddl_checkpoints(root)
    return dict(
        root=root,
        base=base,
        ddnet=ddnet,
        options=[
            f'test_dataloader.dataset.ann_file={ann}',
            f'test_dataloader.dataset.data_prefix.video={osp.dirname(ann)}',
            'test_dataloader.num_workers=0',
            f'test_dataloader.dataset.pipeline.1.num_clips={NUM_CLIPS}',
            f'model.aggregator.topk={TOPK}'
        ])


def _scores(dump):
    with open(dump, 'rb') as f:
        rows = pickle.load(f)
    return rows, np.stack([np.asarray(r['pred_score']) for r in rows])


def test_stock_mmaction_tool_equals_ours(demo_setup, tmp_path):
    """Both tools started from a directory outside the repository: the
    stock tool loads the bare base through the Runner's load_from."""
    s = demo_setup
    stock_dump, ours_dump = str(tmp_path / 'stock.pkl'), str(tmp_path /
                                                             'ours.pkl')
    out = run_tool(
        STOCK_TOOLS['mmaction'],
        [
            DDL_CONFIG, s['base'], '--work-dir',
            str(tmp_path / 'w1'), '--dump', stock_dump, '--cfg-options',
            f'model.ddnet_checkpoint={s["ddnet"]}'
        ] + s['options'],
        cwd=str(tmp_path))
    # loaded whole (no key-mismatch warning), the layout checked
    assert 'missing keys' not in out and 'unexpected key' not in out
    assert 'cannot be checked' not in out
    run_tool(
        osp.join(REPO, 'tools', 'test.py'),
        [
            DDL_CONFIG, s['base'], '--ddnet-checkpoint', s['ddnet'],
            '--work-dir',
            str(tmp_path / 'w2'), '--dump', ours_dump, '--cfg-options'
        ] + s['options'],
        cwd=str(tmp_path))
    stock_rows, stock = _scores(stock_dump)
    ours_rows, ours = _scores(ours_dump)
    assert stock.shape == (2, 6)
    np.testing.assert_allclose(stock, ours, rtol=1e-5, atol=1e-6)
    for a, b in zip(stock_rows, ours_rows):
        assert len(a['ddl_selected']) == TOPK
        assert np.array_equal(a['ddl_selected'], b['ddl_selected'])

    # independent check: the bare checkpoints loaded by hand into a
    # wrapper give the same scores, random weights do not
    from mmaction.registry import MODELS
    cfg = Config.fromfile(DDL_CONFIG)
    with DefaultScope.overwrite_default_scope('mmaction'):
        for ckpt, close in ((s['base'], True), (None, False)):
            model = MODELS.build(
                dict(
                    cfg.model,
                    base_checkpoint=ckpt,
                    ddnet_checkpoint=s['ddnet'],
                    allow_random_weights=True,
                    aggregator=dict(cfg.model.aggregator, topk=TOPK))).eval()
            mine = _predict(model, cfg, s)
            assert np.allclose(mine, stock, rtol=1e-4, atol=1e-5) == close


def _predict(model, cfg, s):
    from mmaction.registry import DATASETS
    from mmengine.dataset import pseudo_collate
    ds_cfg = cfg.test_dataloader.dataset
    ds_cfg.ann_file = osp.join(s['root'], 'data', 'list.txt')
    ds_cfg.data_prefix = dict(video=osp.join(s['root'], 'data'))
    ds_cfg.pipeline[1].num_clips = NUM_CLIPS
    dataset = DATASETS.build(ds_cfg)
    out = []
    for i in range(len(dataset)):
        (sample, ) = model.test_step(pseudo_collate([dataset[i]]))
        out.append(sample.pred_score.numpy())
    return np.stack(out)
