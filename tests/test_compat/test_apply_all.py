"""apply_all(): cheap, idempotent, status per fix."""
import json

import mmddl  # noqa: F401

# isort: split
from mmddl.compat import apply_all
from compat_helpers import COMPAT_ONLY_PRELUDE, run_python

FIXES = {
    'drn_placeholder', 'pkg_resources_fallback', 'safe_checkpoint',
    'checkpoint_load_errors', 'atomic_file_backend', 'config_scope',
    'mmcv_lite_warning'
}


def test_cheap_idempotent_and_reports_environment():
    code = COMPAT_ONLY_PRELUDE + """
import json, time
from mmddl.compat import (drn_placeholder as d, pkg_resources_fallback as p,
                          safe_checkpoint as s, import_hooks as h,
                          mmcv_lite_warning as w)
expect = dict(drn=d.drn_is_missing(), pkg=p.pkg_resources_available(),
              wo=s.weights_only_is_default(), ops=w.mmcv_has_ops())
t = time.perf_counter()
first = apply_all()
elapsed = time.perf_counter() - t
second = apply_all()
heavy = sorted(m for m in ('torch', 'numpy', 'mmaction', 'mmengine',
                           'pkg_resources') if m in sys.modules)
n_finders = [sum(isinstance(f, c) for f in sys.meta_path)
             for c in (d.DRNPlaceholderFinder, h._PostImportFinder)]
print(json.dumps(dict(first=first, second=second, heavy=heavy,
                      expect=expect, n_finders=n_finders, elapsed=elapsed)))
"""
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    first, expect = out['first'], out['expect']
    assert set(first) == FIXES
    assert out['second'] == first
    assert out['heavy'] == []  # nothing heavy imported by apply_all
    assert out['elapsed'] < 0.5
    state = {k: v.split(':')[0] for k, v in first.items()}
    assert state['drn_placeholder'] == ('applied'
                                        if expect['drn'] else 'not needed')
    assert state['pkg_resources_fallback'] == ('not needed'
                                               if expect['pkg'] else 'applied')
    assert state['safe_checkpoint'] == ('applied'
                                        if expect['wo'] else 'not needed')
    # always applied (they change mmengine's behaviour, not its version)
    assert state['checkpoint_load_errors'] == 'applied'
    assert state['atomic_file_backend'] == 'applied'
    assert state['config_scope'] == 'applied'
    assert state['mmcv_lite_warning'] == ('not needed'
                                          if expect['ops'] else 'applied')
    assert out['n_finders'] == [int(bool(expect['drn'])), 1]


def test_in_process_status_is_stable():
    status = apply_all()
    assert set(status) == FIXES
    assert all(
        v.startswith(('applied', 'not needed')) for v in status.values())
    assert apply_all() == status
