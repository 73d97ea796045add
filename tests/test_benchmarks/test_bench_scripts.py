"""The end-to-end benchmark and the accelerator suite in their quick CPU
modes: they run and write the documented JSON keys."""
import json
import math
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _run(cmd):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc


def _finite(x, lo=0.0):
    return isinstance(x, (int, float)) and math.isfinite(x) and x >= lo


def test_end_to_end_tiny_writes_ratios(tmp_path):
    out = tmp_path / 'e2e.json'
    proc = _run([
        sys.executable, 'benchmarks/bench_end_to_end.py', '--tiny',
        '--threads', '1', '--json',
        str(out)
    ])
    assert 'e2e/dense' in proc.stdout  # the printed table
    res = json.loads(out.read_text())
    assert set(res) >= {'tiny', 'machine', 'threads', 'load_avg_before'}
    assert res['threads']['torch_intra_op'] == 1
    tiny = res['tiny']
    for key in ('e2e_time_ratio', 'model_time_ratio', 'decode_time_ratio',
                'gflops_ratio'):
        assert _finite(tiny[key]) and tiny[key] > 0, key
    methods = tiny['methods']
    assert set(methods) == {'dense', 'uniform', 'ddl', 'ddl_lowres'}
    for name, m in methods.items():
        for part in ('decode_s', 'preprocess_s', 'ddnet_s', 'base_s',
                     'model_s', 'e2e_s', 'gflops'):
            assert _finite(m[part]), (name, part)
        assert m['e2e_s'] > 0 and m['decode_s'] > 0
    # what each method ran: 30 candidates, the base on all / on 5
    assert methods['dense']['base_views'] == 30
    assert methods['dense']['ddnet_views'] == 0
    for name in ('ddl', 'ddl_lowres'):
        assert methods[name]['ddnet_views'] == 30
        assert methods[name]['base_views'] == 5
        assert methods[name]['decode_stage2_s'] > 0  # two-stage decoding
        assert methods[name]['ddnet_s'] > 0
    assert methods['uniform']['base_views'] == 5
    assert 0 < tiny['gflops_ratio'] < 0.25


def test_gpu_suite_cpu_tiny(tmp_path):
    out = tmp_path / 'suite'
    _run([
        'bash', 'benchmarks/gpu_suite.sh', '--device', 'cpu', '--tiny',
        '--out',
        str(out)
    ])
    res = json.loads((out / 'gpu_suite.json').read_text())
    assert res['device'] == 'cpu' and res['tiny'] is True
    sim = res['similarity']
    assert set(sim['dtypes']) == {'float32', 'float16', 'bfloat16'}
    for dt, r in sim['dtypes'].items():
        for key in ('search_s', 'mm_s', 'ratio_to_mm',
                    'search_s_extrapolated'):
            assert _finite(r[key]) and r[key] > 0, (dt, key)
        scale = sim['extrapolate_to'] / sim['shape']['n']
        assert math.isclose(r['search_s_extrapolated'], r['search_s'] * scale)
    thr = res['throughput']
    clips, crops = thr['view_shape']['clips'], thr['view_shape']['crops']
    for mode, base_per_video in (('dense', clips * crops),
                                 ('ddl', thr['topk'] * crops)):
        r = thr['precisions']['float32'][mode]
        assert _finite(r['videos_per_s']) and r['videos_per_s'] > 0
        assert math.isclose(r['candidate_clips_per_s'],
                            r['videos_per_s'] * clips)
        assert math.isclose(r['base_views_per_s'] / r['videos_per_s'],
                            base_per_video)


def test_gpu_suite_rejects_unknown_option(tmp_path):
    proc = subprocess.run(['bash', 'benchmarks/gpu_suite.sh', '--bogus'],
                          cwd=ROOT,
                          capture_output=True,
                          text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert "unknown option '--bogus'" in proc.stderr
