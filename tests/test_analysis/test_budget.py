"""Budget mode: the point chosen on the validation split respects the
budget there and is the best one that does; the CLI writes its files."""
import importlib.util
import json
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

import mmddl  # noqa: F401  (compat fixes, registration)
from mmddl.analysis import (budget_gflops, cfg_options_line, choose_point,
                            config_snippet, select_point)

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import sweep_testutils as tu  # noqa: E402

DDL_CONFIG = tu.DDL_CONFIG
REPO = tu.REPO
write_videos = tu.write_videos
#: fixtures
video_setup = tu.video_setup

TOOL = osp.join(REPO, 'tools', 'analysis', 'ddl_sweep.py')


def _point(top1, gflops, **agg):
    return dict(top1=top1, gflops_total=gflops, aggregator=agg)


SWEEP = dict(
    main_metric='top1',
    methods=dict(
        dense=dict(all=_point(0.8, 10.0, mode='dense')),
        uniform={'k=1': _point(0.9, 1.0, mode='uniform', topk=1)},
        ddl={
            'k=1': _point(0.5, 1.5, mode='ddl', topk=1),
            'k=2': _point(0.7, 2.5, mode='ddl', topk=2),
            'k=3': _point(0.7, 2.0, mode='ddl', topk=3),  # tie, cheaper
            'k=5': _point(0.9, 5.0, mode='ddl', topk=5),
            't=0.5': _point(0.6, 1.8, mode='ddl', threshold=0.5),
        }))


def test_choose_point_best_within_budget():
    assert budget_gflops(SWEEP, ratio=0.3) == pytest.approx(3.0)
    assert budget_gflops(SWEEP, gflops=2.2) == 2.2
    pick = choose_point(SWEEP, 3.0)
    assert (pick['method'], pick['point']) == ('ddl', 'k=3')
    assert pick['gflops_total'] <= 3.0 and pick['value'] == 0.7
    # a tighter budget: t=0.5 (1.8) beats k=1 (1.5)
    assert choose_point(SWEEP, 1.9)['point'] == 't=0.5'
    assert choose_point(SWEEP, 100)['point'] == 'k=5'
    # only DDL points unless asked (uniform k=1 is better and cheaper)
    assert choose_point(SWEEP, 1.9, ['ddl', 'uniform'])['method'] == \
        'uniform'
    with pytest.raises(ValueError, match='cheapest is ddl k=1 at 1.5'):
        choose_point(SWEEP, 1.0)
    with pytest.raises(ValueError, match='exactly one'):
        budget_gflops(SWEEP, gflops=1.0, ratio=0.2)
    with pytest.raises(ValueError, match='> 0'):
        budget_gflops(SWEEP, ratio=0)


def test_select_point_both_rules():
    """One chooser: best sum under a budget, or cheapest matching a
    reference (the demos' rule); each falls back, flagged, when nothing
    meets it."""
    points = {
        'a': dict(m=0.7, n=0.2, cost=3.0),
        'b': dict(m=0.6, n=0.3, cost=2.0),  # same sum as a, cheaper
        'c': dict(m=0.5, n=0.1, cost=1.0),
    }
    assert select_point(points, ['m', 'n'], 'cost', budget=2.5) == ('b', True)
    assert select_point(points, ['m'], 'cost', budget=5) == ('a', True)
    assert select_point(points, ['m'], 'cost', budget=0.5) == ('c', False)
    ref = dict(m=0.55, n=0.15)
    assert select_point(points, ['m', 'n'], 'cost',
                        reference=ref) == ('b', True)
    assert select_point(points, ['m'], 'cost', reference=ref) == ('b', True)
    assert select_point(points, ['m', 'n'], 'cost',
                        reference=dict(m=0.9, n=0.0)) == ('b', False)
    with pytest.raises(ValueError, match='exactly one'):
        select_point(points, ['m'], 'cost', budget=1.0, reference=ref)


def test_cfg_options_and_snippet(tmp_path):
    agg = dict(mode='ddl', topk=3, seed=0)
    line = cfg_options_line(agg)
    assert line == ('--cfg-options model.aggregator.mode=ddl '
                    'model.aggregator.topk=3 model.aggregator.threshold=None')
    path = tmp_path / 'snippet.py'
    path.write_text(config_snippet(agg, 'a budget'))
    cfg = Config.fromfile(str(path))
    assert cfg.model.aggregator == dict(mode='ddl', topk=3, threshold=None)


def test_help_without_heavy_imports():
    code = ('import runpy, sys\n'
            'sys.argv = ["ddl_sweep", "--help"]\n'
            'try:\n'
            f'    runpy.run_path({TOOL!r}, run_name="__main__")\n'
            'except SystemExit as e:\n'
            '    assert e.code in (0, None), e.code\n'
            'print("HEAVY", [m for m in ("torch", "mmddl") '
            'if m in sys.modules])\n')
    out = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True,
                         check=True).stdout
    for flag in ('--ddnet-checkpoint', '--out', '--cfg-options', '--topk',
                 '--thresholds', '--metric', '--val-ann-file',
                 '--val-cfg-options', '--budget-gflops', '--budget-ratio'):
        assert flag in out
    assert 'HEAVY []' in out


def _tool():
    spec = importlib.util.spec_from_file_location('ddl_sweep_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_budget_on_validation_split(video_setup, tmp_path):
    s = video_setup
    val_ann = write_videos(
        str(tmp_path / 'val'), labels=[2, 1], num_frames=30, seed=5)
    out = str(tmp_path / 'out')
    opts = [f'{k}={v}' for k, v in s['options'].items()]
    tool = _tool()
    with pytest.raises(SystemExit):  # a budget needs a validation split
        tool.parse_args(
            [DDL_CONFIG, s['base'], '--out', out, '--budget-ratio', '0.5'])
    res = tool.main([
        DDL_CONFIG, s['base'], '--ddnet-checkpoint', s['ddnet'], '--out', out,
        '--topk', '1', '3', '--thresholds', '0.5', '--budget-ratio', '0.6',
        '--val-ann-file', val_ann, '--cfg-options'
    ] + opts)
    sweep = json.load(open(osp.join(out, 'sweep.json')))
    val = json.load(open(osp.join(out, 'val', 'sweep.json')))
    budget = json.load(open(osp.join(out, 'budget.json')))
    assert res['budget'] == budget
    assert sweep['num_groups'] == 4 and val['num_groups'] == 2
    assert val['thresholds'] == sweep['thresholds'] == [0.5]
    for points in sweep['methods'].values():
        for r in points.values():
            assert {'top1', 'gflops_total'} <= set(r)
    # the pick respects the budget on the validation split and no DDL point
    # within it is better
    limit = 0.6 * val['methods']['dense']['all']['gflops_total']
    assert budget['budget'] == pytest.approx(limit)
    assert budget['val_gflops_total'] <= limit
    assert budget['val_gflops_ratio'] <= 0.6
    fits = [
        r['top1'] for r in val['methods']['ddl'].values()
        if r['gflops_total'] <= limit
    ]
    assert budget['val_value'] == max(fits)
    # the test numbers are the test sweep's at that point
    test_point = sweep['methods'][budget['method']][budget['point']]
    assert budget['test_value'] == test_point['top1']
    assert budget['test_gflops_total'] == test_point['gflops_total']
    assert budget['cfg_options'].startswith('--cfg-options model.aggregator')
    cfg = Config.fromfile(osp.join(out, 'budget_cfg.py'))
    assert cfg.model.aggregator.mode == 'ddl'
    with open(osp.join(out, 'accuracy_vs_gflops.png'), 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
