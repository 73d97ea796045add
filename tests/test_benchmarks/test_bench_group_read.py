"""benchmarks/bench_group_read.py in a quick mode: it runs, reads what it
says (stage-1 decodes) and writes the documented JSON keys."""
import json
import math
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_group_read_quick(tmp_path):
    out = tmp_path / 'read.json'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run([
        sys.executable, 'benchmarks/bench_group_read.py', '--groups', '3',
        '--frames', '5', '--repeat', '1', '--json',
        str(out)
    ],
                          cwd=ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    res = json.loads(out.read_text())
    assert res['benchmark'] == 'group_read' and 'machine' in res
    for name, reduced in (('mars', 3 * 5), ('face112', 0)):
        r = res[name]
        assert r['kept_per_group'] == 2  # round(0.3 * 5)
        for key in ('one_stage', 'two_stage', 'stage1', 'stage2'):
            t = r['seconds_per_group'][key]
            assert math.isfinite(t) and t > 0, (name, key)
        assert r['two_over_one'] == r['seconds_per_group']['two_stage'] / \
            r['seconds_per_group']['one_stage']
        # per timed round: MARS frames decoded at 1/2, 112 px faces in full
        assert r['stage1_read_counts'] == dict(
            reduced=reduced, full=3 * 5 - reduced, full_not_jpeg=0)
