"""A miniature end-to-end run of the video demo (real tools and configs,
one sweep checked against two tools/test.py runs, the budget point)."""
import json
import os.path as osp

import numpy as np
import pytest

import mmddl  # noqa: F401
from demo import video

TINY = [
    '--classes', '3', '--train-per-class', '3', '--test-per-class', '2',
    '--base-epochs', '1', '--ddnet-epochs', '1', '--num-candidates', '6',
    '--topk', '2', '--budget-ratio', '0.6'
]
#: what a second run in the same work dir reports, stage by stage
REUSED = ('[demo] data: reusing', '[demo] base recognizer: reusing',
          '[demo] DDNet: reusing', '[demo] validation data: reusing')


def test_video_demo_miniature(tmp_path, capsys):
    work = str(tmp_path / 'demo')
    out = video.main(
        ['--work-dir', work, '--sweep', '1', '--timing-videos', '4'] + TINY)
    first = capsys.readouterr().out
    for stage in ('data', 'base recognizer', 'DDNet', 'validation data'):
        assert f'[demo] {stage}: recomputing (no record' in first
    res = json.load(open(osp.join(work, 'results.json')))
    assert res['methods'].keys() == out['methods'].keys() == {
        'random', 'uniform', 'dense', 'ddl_norescale', 'ddl', 'ddl_prob'
    }
    for name, r in res['methods'].items():
        for key in ('top1', 'top5', 'base_clips', 'gflops_ddnet',
                    'gflops_base', 'selected_class_fraction'):
            assert key in r, (name, key)
        # model time only where a forward was timed (tools/test.py runs)
        assert ('model_time_s' in r) == (name in ('ddl', 'dense')), name
        assert ('model_time_interleaved_s' in r) == ('model_time_s' in r)
        assert 0 <= r['top1'] <= r['top5'] <= 1
    m = res['methods']
    # the base ran on K clips per video, dense on all N, DDNet only for DDL
    assert m['dense']['base_clips'] == 6 and m['dense']['gflops_ddnet'] == 0
    for name in ('random', 'uniform'):
        assert m[name]['base_clips'] == 2 and m[name]['gflops_ddnet'] == 0
    for name in ('ddl', 'ddl_norescale', 'ddl_prob'):
        assert m[name]['base_clips'] == 2 and m[name]['gflops_ddnet'] > 0
        assert m[name]['ddnet_clips'] == 6
    assert m['ddl']['gflops_base'] < m['dense']['gflops_base']
    # probability fusion selects the same clips as DDL, only fuses otherwise
    for key in ('base_clips', 'gflops_total', 'selected_class_fraction'):
        assert m['ddl_prob'][key] == m['ddl'][key], key
    # one sweep: K grid {1, 2} (N = 6), checked against tools/test.py
    assert res['sweep']['topks'] == [1, 2]
    assert set(res['sweep']['methods']['ddl']) >= {'k=1', 'k=2'}
    assert set(res['sweep_check']) == {'ddl', 'dense'}
    for method, values in res['sweep_check'].items():
        for key, v in values.items():
            assert v['tool'] == v['sweep'], (method, key)
    # the budget point: chosen on the validation videos, within budget there
    budget = res['budget']
    assert budget['val_gflops_ratio'] <= 0.6
    assert budget['val_gflops_total'] <= budget['budget']
    assert budget['method'] == 'ddl'
    point = res['sweep']['methods']['ddl'][budget['point']]
    assert budget['test_value'] == point['top1']
    assert osp.isfile(osp.join(work, 'sweep', 'budget_cfg.py'))
    assert osp.isfile(osp.join(work, 'sweep', 'val', 'sweep_dump.npz'))
    assert set(res['targets']) == {
        'ddl_top1_ge_dense', 'ddl_top1_ge_uniform_plus_3',
        'gflops_ratio_le_0.2', 'model_time_ratio_le_0.25'
    }
    # the interleaved timing: 4 of the 6 test videos x 2 rounds, its medians
    # in the table and in the model-time target
    timing = res['model_time']
    assert timing['videos'] == 4 and timing['rounds'] == 2
    assert len(timing['names']) == len(set(timing['names'])) == 4
    for name in ('ddl', 'dense'):
        times = timing['times'][name]
        assert len(times) == 8 and all(t > 0 for t in times)
        assert timing[name]['median_s'] == float(np.median(times))
        assert timing[name]['mean_s'] == float(np.mean(times))
        assert m[name]['model_time_interleaved_s'] == timing[name]['median_s']
    assert timing['ratio'] == (
        timing['ddl']['median_s'] / timing['dense']['median_s'])
    target = res['targets']['model_time_ratio_le_0.25']
    assert target['value'] == timing['ratio']
    assert target['met'] == (timing['ratio'] <= 0.25)
    assert osp.getsize(osp.join(work, 'accuracy_vs_gflops.png')) > 1000
    # the D-score table of the training clips was written by the hook
    assert osp.isfile(osp.join(work, 'ddnet_slowfast', 'dscore_table.npz'))

    # the same command again in the same work dir: every stage is reused
    # and the numbers repeat (one method, to keep the test short)
    again = video.main(['--work-dir', work, '--methods', 'ddl', '--sweep'] +
                       TINY)
    log = capsys.readouterr().out
    for line in REUSED:
        assert line in log
    assert 'recomputing' not in log
    assert again['methods'].keys() == {'ddl'}
    assert again['model_time'] is None  # needs both DDL and dense
    for key, value in out['methods']['ddl'].items():
        if 'time' not in key:  # wall-clock seconds differ run to run
            assert again['methods']['ddl'][key] == value, key

    # the interleaved timing stops when a prediction differs from the
    # tools/test.py run's (here: every DDL row's label tampered with)
    args = video.parse_args(['--work-dir', work, '--timing-videos', '2'] +
                            TINY)
    rows_file = osp.join(work, 'test', f'ddl_k{args.topk}', 'videos.json')
    rows = json.load(open(rows_file))
    for row in rows['videos']:
        row['pred_label'] += 1
    with open(rows_file, 'w') as f:
        json.dump(rows, f)

    def ckpt(folder):
        with open(osp.join(work, folder, 'last_checkpoint')) as f:
            return f.read().strip()

    with pytest.raises(RuntimeError, match='predictions differ.*ddl .*label'):
        video.interleaved_model_time(
            args, osp.join(work, 'data'),
            video.BASE_CONFIG.format(args.family),
            ckpt(f'base_{args.family}'), ckpt(f'ddnet_{args.family}'))
