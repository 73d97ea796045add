"""Round two, a confident number that is wrong (issue 22, items 3, 4, 10,
11): ties are no hits, a constant or NaN DDNet stops the run, every
fallback is counted in the results and logged once, costs count what ran.

Each case goes through ``tools/test.py`` (its ``main``, in process, or a
subprocess) or ``tools/analysis/ddl_sweep.py``, on two tiny videos with the
demo DDL config's models; the values are checked against independent
computations (the per-video rows of ``DDLMetric``'s ``out_file``).
"""
import glob
import importlib.util
import json
import os.path as osp
import sys

import numpy as np
import pytest
import torch

import mmddl  # noqa: F401  (compat fixes, registration)
from mmddl.evaluation import DDLMetric, GroupReIDMetric
from mmddl.evaluation.fallbacks import FALLBACKS, KEYS
from mmddl.evaluation.functional import NonFiniteError, reid_evaluate
from mmddl.models.aggregators import ConstantScoresError, DDLAggregator
from mmddl.testing.synthetic_video import write_video

sys.path.insert(
    0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'test_tools'))
import ddl_tool_testutils as dtu  # noqa: E402

REPO = dtu.REPO
DDL_CONFIG = dtu.DEMO_DDL_CONFIG
CLIPS, TOPK = 4, 2


def _load_tool(path):
    spec = importlib.util.spec_from_file_location(
        '_tool_' + osp.basename(path)[:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module



def _edited(src, dst, edit):
    """A copy of checkpoint ``src`` with ``edit(state_dict)`` applied."""
    ckpt = torch.load(src, weights_only=False)
    edit(ckpt['state_dict'])
    torch.save(ckpt, dst)
    return dst


def _head(sd, prefix, fn):
    for k, v in sd.items():
        if k.startswith(prefix):
            fn(k, v)


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """Two 30-frame videos of classes 0 and 1, a 1-frame video, and
    checkpoints: the demo base and DDNet (random, saved), the base with a
    zeroed head, the DDNet with a zeroed head (every D-score 0.5), an inf
    bias (every D-score 1) and a NaN bias."""
    root = str(tmp_path_factory.mktemp('numbers'))
    data = osp.join(root, 'data')
    ann = dtu.write_videos(data, labels=[0, 1], num_frames=30)
    write_video(
        osp.join(data, 'still.mp4'),
        np.random.default_rng(0).integers(
            0, 256, (1, 64, 64, 3), dtype=np.uint8))
    still = osp.join(data, 'still.txt')
    with open(still, 'w') as f:
        f.write('still.mp4 1\nv0.mp4 0\n')
    base, ddnet = dtu.demo_ddl_checkpoints(root)

    def zero(k, v):
        v.zero_()

    def bias(value):
        return lambda k, v: v.fill_(value) if k.endswith('bias') else None

    return dict(
        root=root,
        ann=ann,
        still=still,
        base=base,
        ddnet=ddnet,
        base_zero=_edited(base, osp.join(root, 'base_zero.pth'),
                          lambda sd: _head(sd, 'cls_head', zero)),
        ddnet_zero=_edited(ddnet, osp.join(root, 'ddnet_zero.pth'),
                           lambda sd: _head(sd, 'cls_head', zero)),
        ddnet_inf=_edited(ddnet, osp.join(root, 'ddnet_inf.pth'),
                          lambda sd: _head(sd, 'cls_head', bias(np.inf))),
        ddnet_nan=_edited(ddnet, osp.join(root, 'ddnet_nan.pth'),
                          lambda sd: _head(sd, 'cls_head', bias(np.nan))))


def _options(s, ann=None, **extra):
    ann = ann or s['ann']
    opts = {
        'test_dataloader.dataset.ann_file': ann,
        'test_dataloader.dataset.data_prefix.video': osp.dirname(ann),
        'test_dataloader.num_workers': 0,
        'test_dataloader.dataset.pipeline.1.num_clips': CLIPS,
        'model.aggregator.topk': TOPK,
    }
    opts.update(extra)
    return [f'{k}={v}' for k, v in opts.items()]


def _tools_test(s, work, base=None, ddnet=None, ann=None, **extra):
    """``tools/test.py`` (its ``main``) on the tiny videos; the metrics
    and per-video rows of ``DDLMetric``'s out_file, and the run's log."""
    tool = _load_tool(osp.join(REPO, 'tools', 'test.py'))
    rows = osp.join(work, 'rows.json')
    argv = [
        'test.py', DDL_CONFIG, base or s['base'], '--ddnet-checkpoint', ddnet
        or s['ddnet'], '--work-dir', work, '--cfg-options'
    ] + _options(s, ann, **{
        'test_evaluator.out_file': rows,
        **extra
    })
    old = sys.argv
    sys.argv = argv
    try:
        tool.main()
    finally:
        sys.argv = old
    with open(rows) as f:
        out = json.load(f)
    return out['metrics'], out['videos'], _log(work)


def _log(work):
    logs = sorted(glob.glob(osp.join(work, '*', '*.log')))
    assert logs, f'no log in {work}'
    with open(logs[-1]) as f:
        return f.read()


# ------------------------------------------------- 3. ties are no hits
def test_zeroed_base_head_stops_tools_test(setup, tmp_path):
    """The reported case: top-1 was 100 % (every class tied)."""
    work = str(tmp_path / 'w')
    with pytest.raises(ValueError) as err:
        _tools_test(setup, work, base=setup['base_zero'])
    assert ('every prediction of the run (2 videos) is constant over the '
            'classes') in str(err.value)
    assert 'check the base checkpoint' in str(err.value)
    assert 'ddl/top1' not in _log(work)


def test_tied_label_is_a_miss_and_counted():
    """DDLMetric vs an independent pessimistic rank: a label tied with
    another class is ranked below it; mixed runs report, all-constant
    runs stop."""
    scores = np.array([
        [0.1, 0.1, 0.1, 0.1],  # constant: label tied with all
        [0.4, 0.4, 0.1, 0.1],  # label 1 tied for the top
        [0.1, 0.6, 0.2, 0.1],  # clean hit
        [0.5, 0.2, 0.2, 0.1],  # label 2 tied at rank 1
    ])
    labels = [0, 1, 1, 2]

    def samples():
        return [
            dict(
                pred_score=torch.tensor(sc),
                gt_label=torch.tensor(lb),
                base_elements=2,
                ddnet_elements=4,
                time_model_s=0.0,
                video_id=f'v{i}')
            for i, (sc, lb) in enumerate(zip(scores, labels))
        ]

    metric = DDLMetric(topk=(1, 2, 4))
    metric.process(None, samples())
    res = metric.evaluate(len(labels))
    # independent: rank = number of OTHER classes scoring >= the label
    rank = [int((sc >= sc[lb]).sum()) - 1 for sc, lb in zip(scores, labels)]
    assert rank == [3, 1, 0, 2]
    for k in (1, 2, 4):
        assert res[f'ddl/top{k}'] == np.mean([r < k for r in rank])
    assert res['ddl/top1'] == 0.25  # the old rule counted 3 of 4 as hits
    assert res['ddl/tied_labels'] == 3
    metric = DDLMetric()
    metric.process(None, samples()[:1] * 3)
    with pytest.raises(
            ValueError,
            match=r'every prediction of the run \(3 '
            r'videos\) is constant'):
        metric.evaluate(3)


def test_reid_distance_tie_is_no_hit_and_unmatched_queries_counted(capsys):
    """MARS: a gallery entry at the same distance as the true match ranks
    first; a query without a match elsewhere is counted and logged once."""
    feats = torch.tensor([[0.], [5.], [9.], [1.], [1.], [5.], [20.]])
    pids = [1, 2, 3, 1, 4, 2, 7]
    cams = [0, 0, 0, 1, 1, 0, 1]  # pid 2's gallery entry: same camera
    is_q = [True, True, True, False, False, False, False]
    metric = GroupReIDMetric(ranks=(1, 2))
    metric.process(None, [
        dict(pred_feature=f, pid=p, camid=c, is_query=q)
        for f, p, c, q in zip(feats, pids, cams, is_q)
    ])
    res = metric.evaluate(7)
    # query 0 (pid 1): gallery pid 1 and pid 4 both at distance 1
    assert res['group_reid/rank1'] == 0.0 and res['group_reid/rank2'] == 1.0
    assert res['group_reid/mAP'] == 0.5
    # queries 1 (same-camera match only) and 2 (pid 3 absent): no match
    assert res['group_reid/queries_without_match'] == 2
    assert res['group_reid/num_valid_queries'] == 1
    # independent: the functional metric, ties ranked the same way
    d = torch.cdist(feats[:3].double(), feats[3:].double()).numpy()
    cmc, m_ap = reid_evaluate(d, pids[:3], pids[3:], cams[:3], cams[3:], 2)
    assert (cmc.tolist(), m_ap) == ([0.0, 1.0], 0.5)


# ---------------------------------- 4. constant / non-finite D-scores
@pytest.mark.parametrize('which,value', [('ddnet_zero', '0.5'),
                                         ('ddnet_inf', '1')])
def test_constant_ddnet_stops_naming_the_video(setup, tmp_path, which, value):
    with pytest.raises(ConstantScoresError) as err:
        _tools_test(setup, str(tmp_path / 'w'), ddnet=setup[which])
    msg = str(err.value)
    assert f"every D-score of video '{setup['root']}" in msg
    assert f'v0.mp4\' is {value} ({CLIPS} elements)' in msg
    assert 'would keep the first 2' in msg
    assert "on_constant_scores='uniform'" in msg


def test_constant_ddnet_fallback_when_asked_is_counted(setup, tmp_path):
    metrics, rows, log = _tools_test(
        setup,
        str(tmp_path / 'w'),
        ddnet=setup['ddnet_zero'],
        **{'model.aggregator.on_constant_scores': 'uniform'})
    # independent: the centres of 2 equal segments of 4 clips
    expect = [((2 * i + 1) * CLIPS) // (2 * TOPK) for i in range(TOPK)]
    assert expect == [1, 3]
    assert [r['ddl_selected'] for r in rows] == [expect, expect]
    assert all(r['fallbacks'] == ['constant_scores'] for r in rows)
    assert metrics['fallback_constant_scores'] == 2
    assert sum(metrics[KEYS[k]] for k in FALLBACKS) == 2
    assert log.count('fallbacks taken') == 1
    assert 'fallbacks taken (of 2 videos): 2 constant_scores' in log


def test_nan_ddnet_names_video_and_cause(setup, tmp_path):
    with pytest.raises(NonFiniteError) as err:
        _tools_test(setup, str(tmp_path / 'w'), ddnet=setup['ddnet_nan'])
    msg = str(err.value)
    assert (f"the D-scores of video '{setup['root']}/data/v0.mp4' hold "
            f'{CLIPS} NaN and 0 inf') in msg
    assert "non-finite weight tensors (first: ['cls_head.fc.bias'])" in msg
    assert setup['ddnet_nan'] in msg


# ------------------------------------------ 10. fallbacks are counted
def test_topk_over_group_and_threshold_below_all_counted(setup, tmp_path):
    metrics, rows, log = _tools_test(
        setup, str(tmp_path / 'w'), **{
            'model.aggregator.topk': 10,
            'model.aggregator.threshold': -1.0
        })
    # independent: K = 10 > 4 clips and t below every score keep all 4
    assert [r['base_clips'] for r in rows] == [CLIPS, CLIPS]
    assert metrics['fallback_topk_over_group'] == 2
    assert metrics['fallback_threshold_below_all'] == 2
    assert metrics['fallback_threshold_above_all'] == 0
    assert log.count('fallbacks taken') == 1
    assert ('fallbacks taken (of 2 videos): 2 topk_over_group (fewer '
            'elements than topk') in log
    assert '2 threshold_below_all' in log


def test_one_frame_video_and_threshold_above_all_counted(setup, tmp_path):
    """A 1-frame video's 4 clips are the same frame looped: equal
    D-scores are no error (any choice is the same clip), the fallback is
    counted; t = 2 is above every D-score (sigmoids < 1): Eq. 7 keeps only
    each video's best clip, counted."""
    metrics, rows, log = _tools_test(
        setup,
        str(tmp_path / 'w'),
        ann=setup['still'],
        **{
            'model.aggregator.topk': None,
            'model.aggregator.threshold': 2.0
        })
    by_video = {osp.basename(r['video']): r for r in rows}
    assert by_video['still.mp4']['fallbacks'] == [
        'identical_elements', 'threshold_above_all'
    ]
    assert by_video['v0.mp4']['fallbacks'] == ['threshold_above_all']
    assert [r['base_clips'] for r in rows] == [1, 1]
    assert metrics['fallback_identical_elements'] == 1
    assert metrics['fallback_threshold_above_all'] == 2
    assert log.count('fallbacks taken') == 1
    assert ('fallbacks taken (of 2 videos): 2 threshold_above_all (no '
            'D-score above the threshold') in log
    assert '1 identical_elements' in log


def test_sweep_dropped_topk_and_outside_thresholds_reported(
        setup, tmp_path, capsys):
    """``--topk 2 50 100 --thresholds 2 5``: K 50 and 100 are listed as
    dropped, t 2 and 5 as above every D-score, and their rows count
    the fallback (they equal the top-1 row)."""
    tool = _load_tool(osp.join(REPO, 'tools', 'analysis', 'ddl_sweep.py'))
    out = str(tmp_path / 'sweep')
    res = tool.main([
        DDL_CONFIG, setup['base'], '--ddnet-checkpoint', setup['ddnet'],
        '--out', out, '--topk', '2', '50', '100', '--thresholds', '2', '5',
        '--cfg-options'
    ] + _options(setup))['sweep']
    with open(osp.join(out, 'sweep.json')) as f:
        assert json.load(f)['dropped_topks'] == [50, 100]
    assert res['topks'] == [2] and res['dropped_topks'] == [50, 100]
    assert res['thresholds_outside_scores'] == dict(
        above_all=[2.0, 5.0], below_all=[])
    top1 = res['methods']['top1']['k=1']
    for t in ('t=2', 't=5'):
        row = res['methods']['ddl'][t]
        assert row['fallback_threshold_above_all'] == 2
        assert row['base_elements'] == 1 == top1['base_elements']
        assert row['top1'] == top1['top1']
        assert res['fallback_points']['ddl'][t] == dict(threshold_above_all=2)
    assert 'k=2' not in res['fallback_points'].get('ddl', {})
    printed = capsys.readouterr().out
    assert 'dropped K [50, 100]: >= the largest group (4 elements)' in printed
    assert 'thresholds [2.0, 5.0]: above every D-score' in printed
    assert 'ddl t=2: fallbacks (groups of 2) threshold_above_all 2' in printed
    with pytest.raises(SystemExit):
        tool.parse_args([DDL_CONFIG, 'b.pth', '--out', out, '--topk', '0'])


# ------------------------------------ 11. costs count what ran
def test_three_crops_on_one_crop_pipeline(setup, tmp_path):
    """The reported case: num_crops=3 on a 1-crop pipeline without
    num_clips reported 2 base clips while 6 ran. Now it stops (with
    num_clips it names both numbers: ``test_loading_paths``); when the
    user allows an unchecked layout, the run is counted and the views and
    GFLOPs equal a correct run's (what ran)."""
    common = {
        'test_dataloader.dataset.pipeline.1.num_clips': 6,
        'test_dataloader.dataset.pipeline.2.one_stage': True,
        'model.aggregator.mode': 'dense',
    }
    no_clips = dict(
        common, **{
            'model.num_crops':
            3,
            'test_dataloader.dataset.pipeline.3.meta_keys':
            '"(img_shape,img_key,video_id,timestamp,filename)"'
        })
    with pytest.raises(ValueError) as err:
        _tools_test(setup, str(tmp_path / 'a'), **no_clips)
    assert 'v0.mp4\': no num_clips in its data sample, so its 6 views' in \
        str(err.value)
    assert 'model.num_crops=3 would make 2 clips' in str(err.value)
    wrong, _, log = _tools_test(
        setup, str(tmp_path / 'c'),
        **dict(no_clips, **{'model.allow_unchecked_layout': True}))
    right, _, _ = _tools_test(setup, str(tmp_path / 'd'), **common)
    assert wrong['fallback_unchecked_layout'] == 2
    assert '2 unchecked_layout' in log
    assert right['base_clips'] == right['base_views'] == 6
    assert wrong['base_clips'] == 2  # counted as 3-crop clips (the fallback)
    assert wrong['base_views'] == right['base_views'] == 6
    assert wrong['gflops_base'] == pytest.approx(right['gflops_base'])
    assert right['fallback_unchecked_layout'] == 0


# ------------------------------------------- the aggregator directly
def test_aggregator_reports_fallbacks_per_group():
    s = torch.tensor([0.9, 0.5, 0.5, 0.2, 0.7, 0.7, 0.7])
    agg = DDLAggregator('ddl', topk=2)
    sel, fb = agg.select_and_report(s, [4, 3], ['a', 'b'], [False, True])
    assert [x.tolist() for x in sel] == [[0, 1], [0, 1]]
    assert fb == [['tie_at_cut'], ['identical_elements']]
    with pytest.raises(
            ConstantScoresError,
            match="every D-score of b is "
            r'0.7 \(3 elements\)'):
        agg.select_and_report(s, [4, 3], ['a', 'b'])
    with pytest.raises(NonFiniteError, match='`D-scores` of b holds'):
        agg.select_and_report(
            torch.tensor([0.9, 0.5, 0.5, 0.2, 0.7, np.nan, 0.7]), [4, 3],
            ['a', 'b'])
    for mode in ('uniform', 'random'):
        _, fb = DDLAggregator(mode, topk=3).select_and_report(None, [2, 5])
        assert fb == [['topk_over_group'], []]
    _, fb = DDLAggregator('dense').select_and_report(
        None, [2, 5], identical=[True, False])
    assert fb == [['identical_elements'], []]
    _, fb = DDLAggregator('top1').select_and_report(s[:4], [4])
    assert fb == [[]]


def test_test_label_beyond_base_classes_names_the_video(setup, tmp_path):
    """A test-list label >= the base head's classes stops ``tools/test.py``
    naming the video before the models run on it (the metric used to fail
    afterwards, naming none)."""
    ann = osp.join(osp.dirname(setup['ann']), 'bad_label.txt')
    with open(ann, 'w') as f:
        f.write('v0.mp4 0\nv1.mp4 99\n')
    with pytest.raises(ValueError, match=r"video '.*v1\.mp4': label 99 is "
                       r"outside the base head's classes \[0, 6\)"):
        _tools_test(setup, str(tmp_path / 'w'), ann=ann,
                    **{'test_dataloader.batch_size': 2})
