"""A re-ID DDL config through the same sweep path as video: dense equals
tools/test.py exactly, DDL at the config's threshold to float round-off."""
import json
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmddl  # noqa: F401  (compat fixes, registration)
from mmddl.analysis import run_sweep

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(__file__)), 'test_tools'))
from ddl_tool_testutils import REPO, save_checkpoint  # noqa: E402

REID_CONFIG = osp.join(REPO, 'configs', 'reid', 'demo',
                       'ddl_reid-r18-tiny_thr0.15_synth-mars.py')



@pytest.fixture(scope='module')
def reid_setup(tmp_path_factory):
    """A MARS miniature (4 test identities x 2 tracklets of 3 frames) and
    random-weight base / DDNet checkpoints of the demo config's models."""
    from mmpretrain.registry import MODELS

    from mmddl.testing.synthetic_faces import write_mars
    from mmddl.testing.synthetic_persons import make_persons
    root = str(tmp_path_factory.mktemp('reid'))
    data = osp.join(root, 'mars')
    write_mars(
        data,
        make_persons(6, 6, size=(64, 32), seed=0, degradation_prob=0.5),
        num_train=2,
        tracklets_per_identity=2,
        seed=0)
    cfg = Config.fromfile(REID_CONFIG)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        base = MODELS.build(cfg.model.base)
        ddnet = MODELS.build(cfg.model.ddnet)
    return dict(
        base=save_checkpoint(base, osp.join(root, 'base.pth'), seed=1),
        ddnet=save_checkpoint(ddnet, osp.join(root, 'ddnet.pth'), seed=2),
        options={
            'test_dataloader.dataset.data_root': data,
            'test_dataloader.num_workers': 0,
            'test_evaluator.ranks': [1, 5],
        })


def test_reid_sweep_equals_tools_test(reid_setup, tmp_path):
    from demo.common import run_test
    s = reid_setup
    out = str(tmp_path / 'sweep')
    res = run_sweep(
        REID_CONFIG, s['base'], out, s['ddnet'], s['options'],
        topks=[1, 2]).result
    assert res['task'] == 'reid' and res['main_metric'] == 'mAP'
    # the config's own point (t = 0.15) is on the DDL grid
    assert 't=0.15' in res['methods']['ddl']
    assert 'ddl_prob' not in res['methods']  # features: no prob fusion
    groups = json.load(open(osp.join(out, 'sweep_groups.json')))
    assert groups['task'] == 'reid'
    g = groups['groups'][0]
    assert {'pid', 'camid', 'is_query'} <= set(g)
    assert len(g['elements']) == 3 and g['elements'][0].endswith('.jpg')
    for mode, key in (('dense', 'all'), ('ddl', 't=0.15')):
        ref = run_test(
            REID_CONFIG,
            s['base'],
            str(tmp_path / mode),
            ddnet_checkpoint=s['ddnet'],
            options={
                **s['options'], 'model.aggregator.mode': mode
            })
        ref = {k.split('/', 1)[-1]: v for k, v in ref.items()}
        mine = res['methods'][mode][key]
        assert mine['base_images'] == ref['base_images']
        assert mine['ddnet_images'] == ref['ddnet_images']
        for k in ('mAP', 'rank1', 'rank5'):
            if mode == 'dense':
                assert mine[k] == ref[k], (mode, k)
            else:
                assert mine[k] == pytest.approx(ref[k], abs=1e-6), (mode, k)
