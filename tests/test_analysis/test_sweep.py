"""The sweep's offline operating points equal tools/test.py runs (video)."""
import json
import os.path as osp
import sys

import numpy as np
import pytest

import mmddl  # noqa: F401  (compat fixes, registration)
from mmddl.analysis import load_sweep_dump, run_sweep
from mmddl.analysis.sweep import point_key

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import sweep_testutils as tu  # noqa: E402

DDL_CONFIG = tu.DDL_CONFIG
NUM_CLIPS = tu.NUM_CLIPS
TOPK = tu.TOPK
#: fixtures
video_setup = tu.video_setup


def _tool_test(s, work, **agg):
    from demo.common import run_test
    opts = dict(s['options'])
    opts.update({f'model.aggregator.{k}': v for k, v in agg.items()})
    return {
        k.split('/', 1)[-1]: v
        for k, v in run_test(
            DDL_CONFIG,
            s['base'],
            work,
            ddnet_checkpoint=s['ddnet'],
            options=opts).items()
    }


@pytest.fixture(scope='module')
def video_sweep(video_setup, tmp_path_factory):
    """The sweep of the tiny videos (K grid 1, 2, 3, 10; t grid 0.3, 0.5)."""
    s = video_setup
    out = str(tmp_path_factory.mktemp('out'))
    return out, run_sweep(
        DDL_CONFIG,
        s['base'],
        out,
        s['ddnet'],
        s['options'],
        topks=[1, 2, 3, 10],
        thresholds=[0.3, 0.5])


def _check_equal(s, tmp_path, res, names):
    """The sweep's points at K equal separate tools/test.py runs, exactly."""
    for name in names:
        agg = dict(
            mode=name.replace('_prob', ''),
            fusion_level='prob' if name.endswith('_prob') else 'feature')
        ref = _tool_test(s, str(tmp_path / name), **agg)
        key = 'all' if name == 'dense' else point_key(TOPK, None)
        mine = res['methods'][name][key]
        for k in ('top1', 'top5', 'gflops_base', 'gflops_ddnet',
                  'gflops_total', 'base_clips', 'ddnet_clips'):
            assert mine[k] == ref[k], (name, k, mine[k], ref[k])


def test_sweep_outputs_and_ddl_dense_equal_tools_test(video_setup, video_sweep,
                                                      tmp_path):
    out, run = video_sweep
    res = run.result
    assert res['topks'] == [1, 2, 3]  # K >= N dropped
    on_disk = json.load(open(osp.join(out, 'sweep.json')))
    assert on_disk == json.loads(json.dumps(res))
    assert res['main_metric'] == 'top1'
    assert set(res['methods']) == {
        'dense', 'top1', 'random', 'uniform', 'ddl_norescale', 'ddl',
        'ddl_prob'
    }
    assert set(
        res['methods']['ddl']) == {'k=1', 'k=2', 'k=3', 't=0.3', 't=0.5'}
    for points in res['methods'].values():
        for r in points.values():
            assert {'top1', 'top5', 'gflops_total'} <= set(r)
    m = res['methods']
    assert m['dense']['all']['base_elements'] == NUM_CLIPS
    assert m['ddl']['k=3']['base_elements'] == 3
    assert m['uniform']['k=1']['gflops_ddnet'] == 0
    # the dump: every element scored and run through the base
    dump = load_sweep_dump(out)
    assert dump.num_groups == 4 and list(dump.lengths) == [NUM_CLIPS] * 4
    assert dump.outputs.shape == (4 * NUM_CLIPS, 6)  # 6 classes
    assert dump.scores.dtype == np.float32
    assert dump.gflops_base.dtype == np.float64
    groups = json.load(open(osp.join(out, 'sweep_groups.json')))
    assert groups['task'] == 'video'
    assert groups['groups'][0]['id'].endswith('v0.mp4')
    assert groups['groups'][1]['gt_label'] == [1]
    assert len(groups['groups'][0]['elements']) == NUM_CLIPS
    assert len(groups['groups'][0]['elements'][0]['frame_inds']) == 16
    _check_equal(video_setup, tmp_path, res, ['ddl', 'dense'])


def test_sweep_random_and_prob_fusion_equal_tools_test(video_setup,
                                                       video_sweep, tmp_path):
    _check_equal(video_setup, tmp_path, video_sweep[1].result,
                 ['random', 'ddl_prob'])


def test_sweep_evaluate_with_other_scores(video_sweep):
    """Replaying other scores (an oracle's) selects by them: a threshold
    keeps exactly the elements those scores put above it."""
    _, run = video_sweep
    dump = run.dump
    top1 = dict(mode='top1', threshold=None)
    own = run.evaluate(top1)
    assert run.evaluate(top1, dump.scores.copy())['top1'] == own['top1']
    before = dump.scores.copy()
    pos = np.concatenate([np.arange(n) for n in dump.lengths])
    for keep in (1, 3):
        scores = np.where(pos < keep, 0.9, 0.1)
        res = run.evaluate(dict(mode='ddl', threshold=0.5), scores)
        assert res['base_elements'] == keep
        assert res['gflops_base'] == pytest.approx(keep * dump.gflops_base[0])
    assert (dump.scores == before).all()  # the dump is left as it was
    with pytest.raises(ValueError, match='scores for the dump'):
        run.evaluate(top1, dump.scores[:-1])
    bad = dump.scores.copy()
    bad[0] = np.nan
    with pytest.raises(ValueError, match='non-finite scores'):
        run.evaluate(top1, bad)


def test_group_record_names_the_loaded_images():
    """With LoadGroupImages(max_images=...) a group's elements are the kept
    images, not the first ones; a path count that does not match stops."""
    from mmengine.structures import BaseDataElement

    from mmddl.analysis.sweep import group_record
    paths = [f'/d/{i}.jpg' for i in range(5)]
    sample = BaseDataElement(
        metainfo=dict(group_id=3, img_paths=paths, kept_indices=[0, 2, 4]))
    rec = group_record('face', sample, 3, 0)
    assert rec['id'] == 3
    assert rec['elements'] == ['/d/0.jpg', '/d/2.jpg', '/d/4.jpg']
    with pytest.raises(ValueError, match='group 3: 3 image paths for its 2'):
        group_record('face', sample, 2, 0)
    full = BaseDataElement(metainfo=dict(group_id=4, img_paths=paths))
    assert group_record('reid', full, 5, 1)['elements'] == paths
    with pytest.raises(ValueError, match='5 image paths for its 4'):
        group_record('reid', full, 4, 1)
    with pytest.raises(KeyError, match='no img_paths'):
        group_record('face', BaseDataElement(metainfo=dict(group_id=5)), 1, 2)
