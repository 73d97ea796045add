"""``mmddl::`` config paths: resolved like a relative base, clear errors,
available before ``import mmddl`` (the .pth hook) and after it (compat)."""
import json
import os
import os.path as osp
import site
import subprocess
import sys

import mmddl  # noqa: F401  (compat fixes, registration)
import pytest
from mmengine.config import Config

from mmddl.compat import config_scope

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PTH_LINE = 'import _mmddl_config_scope; _mmddl_config_scope.install()\n'
# one config of each kind: video DDL test, face DDL test, re-ID DDNet
# training (its hook's base.config is a '{{ fileDirname }}' path)
CONFIGS = ('recognition/ddl_slowfast-r50_top5-of-30_kinetics700-rgb.py',
           'face/ddl_arcface-r101-ms1m_thr0.15_ijbc.py',
           'reid/ddnet_r18cd_reid-r50-dscore-10e_mars.py')


def _user_config(tmp_path, base: str) -> str:
    path = tmp_path / 'user_cfg.py'
    path.write_text(f'_base_ = [{base!r}]\n')
    return str(path)


@pytest.mark.parametrize('rel', CONFIGS)
def test_mmddl_base_equals_the_file(tmp_path, rel):
    """A config in another folder that only inherits ``mmddl::<rel>``
    resolves to exactly what the file itself gives."""
    mine = Config.fromfile(_user_config(tmp_path, f'mmddl::{rel}'))
    ref = Config.fromfile(osp.join(REPO, 'configs', rel))
    assert mine.to_dict() == ref.to_dict()


def test_resolve_names_the_problem(tmp_path):
    root = config_scope.configs_root()
    assert osp.samefile(root, osp.join(REPO, 'configs'))
    assert config_scope.resolve('mmddl::_base_/ddl/clip_views.py') == \
        osp.join(root, '_base_', 'ddl', 'clip_views.py')
    with pytest.raises(
            FileNotFoundError,
            match=r"mmddl::nope/x\.py.*"
            r"nope/x\.py does not exist"):
        config_scope.resolve('mmddl::nope/x.py')
    for bad in ('mmddl::../setup.py', 'mmddl::/etc/hostname'):
        with pytest.raises(ValueError, match='must stay inside'):
            config_scope.resolve(bad)
    # through mmengine: the error names the base
    with pytest.raises(FileNotFoundError, match=r'mmddl::nope/x\.py'):
        Config.fromfile(_user_config(tmp_path, 'mmddl::nope/x.py'))


def _run(code: str, cwd: str) -> dict:
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)
    proc = subprocess.run([sys.executable, '-c', code],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_hook_resolves_before_import_and_compat_after(tmp_path):
    """Fresh interpreters from another folder: with the start-up finder the
    base resolves before mmddl is imported; without it mmengine refuses
    mmddl:: until mmddl's compat fixes (``import mmddl``) patch it."""
    cfg = _user_config(tmp_path, 'mmddl::' + CONFIGS[0])
    code = f"""
import json, sys
if DROP:
    sys.meta_path[:] = [f for f in sys.meta_path
                        if not getattr(f, '_mmddl_config_scope', False)]
from mmengine.config import Config
out = {{}}
try:
    Config.fromfile({cfg!r}, import_custom_modules=False)
    out['before'] = 'ok'
except AssertionError as exc:
    out['before'] = str(exc)
out['mmddl_imported'] = 'mmddl' in sys.modules
if DROP:  # what import mmddl runs first (without its torch imports)
    import types
    pkg = types.ModuleType('mmddl')
    pkg.__path__ = [{osp.join(REPO, 'mmddl')!r}]
    sys.modules['mmddl'] = pkg
    from mmddl.compat import apply_all
    out['status'] = apply_all()['config_scope']
    cfg = Config.fromfile({cfg!r}, import_custom_modules=False)
    out['after'] = cfg.model.type
print(json.dumps(out))
"""
    hooked = _run('DROP = False' + code, str(tmp_path))
    assert hooked == dict(before='ok', mmddl_imported=False)
    bare = _run('DROP = True' + code, str(tmp_path))
    assert 'does not support to load mmddl' in bare['before']
    assert bare['status'].startswith('applied') and 'now' in bare['status']
    assert bare['after'] == 'DDLRecognizer'


def test_this_environment_has_the_startup_hook():
    """``pip install -e .`` / ``make install`` wrote the .pth (a stale
    install: reinstall)."""
    found = [
        osp.join(d, 'mmddl-config-scope.pth') for d in site.getsitepackages()
        if osp.isfile(osp.join(d, 'mmddl-config-scope.pth'))
    ]
    assert found, ('mmddl-config-scope.pth is not in site-packages: '
                   'reinstall mmddl (make install, or pip install -e .)')
    with open(found[0]) as f:
        assert f.read() == PTH_LINE


def test_model_references_accept_mmddl_paths():
    """``model.base`` / the hook's ``base.config`` given as ``mmddl::``:
    the shipped config's model, in its own default scope."""
    from mmddl.models.utils import resolve_model_config
    rel = 'recognition/demo/slowfast_r18-tiny_1xb8-16x1x1-15e_synthetic-rgb.py'
    model, scope = resolve_model_config(f'mmddl::{rel}')
    ref = Config.fromfile(osp.join(REPO, 'configs', rel))
    assert model == ref.model.to_dict() and scope == 'mmaction'
    with pytest.raises(FileNotFoundError, match=r'mmddl::nope\.py'):
        resolve_model_config('mmddl::nope.py')
