"""The wheel ships configs and tools in mmddl/.mim and declares ranges."""
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser

import pytest
from packaging_testutils import (REPO, project_name, requirement_lines,
                                 source_files)

MIM = 'mmddl/.mim/'


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    """Build the wheel from a clean copy (the build must not touch REPO)."""
    src = tmp_path_factory.mktemp('src')
    for rel in source_files():
        os.makedirs(osp.dirname(src / rel), exist_ok=True)
        shutil.copy2(osp.join(REPO, rel), src / rel)
    out = tmp_path_factory.mktemp('wheel')
    subprocess.run([
        sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
        '--no-build-isolation', '-w',
        str(out), str(src)
    ], check=True, capture_output=True)
    assert not osp.exists(src / 'mmddl' / '.mim'), 'copies went into source'
    found = glob.glob(str(out / 'mmddl-*.whl'))
    assert len(found) == 1, found
    return src, zipfile.ZipFile(found[0])


@pytest.mark.parametrize('folder', ['configs', 'tools'])
def test_wheel_ships_every_config_and_tool(wheel, folder):
    src, whl = wheel
    expected = set()
    for root, dirs, files in os.walk(src / folder):
        dirs[:] = [d for d in dirs if d != '__pycache__']
        expected |= {
            osp.relpath(osp.join(root, f), src)
            for f in files if not f.endswith('.pyc')
        }
    shipped = {n[len(MIM):] for n in whl.namelist() if n.startswith(MIM)}
    assert {n for n in shipped if n.startswith(folder + '/')} == expected
    assert any(n.startswith('configs/_base_/') for n in shipped)
    assert {'tools/train.py', 'tools/test.py'} <= shipped
    for rel in sorted(expected):
        assert whl.read(MIM + rel) == (src / rel).read_bytes(), rel


def test_wheel_requires_ranges_without_opencv_or_mmcv(wheel):
    _, whl = wheel
    meta_name, = (n for n in whl.namelist()
                  if n.endswith('.dist-info/METADATA'))
    meta = Parser().parsestr(whl.read(meta_name).decode())
    requires = meta.get_all('Requires-Dist')
    plain = [r.replace(' ', '') for r in requires if 'extra ==' not in r]
    assert sorted(plain) == sorted(r.replace(' ', '')
                                   for r in requirement_lines('runtime'))
    names = {project_name(r) for r in plain}
    assert not {n for n in names if n.startswith('opencv')}
    assert not {'mmcv', 'mmcv-lite'} & names
    assert not any('==' in r for r in plain), plain
    extras = {r.split('extra ==')[1].strip(' "\''): project_name(r)
              for r in requires if 'extra ==' in r}
    assert extras['lite'] == 'mmcv-lite' and extras['mim'] == 'mmcv'


def test_wheel_installs_the_mmddl_config_scope_hook(wheel, tmp_path):
    """The wheel's root holds the start-up hook and its .pth; unpacked as a
    site dir (only its .pth processed: none of this checkout's), a config in
    another folder inherits an ``mmddl::`` base from the unpacked package
    before anything imports mmddl."""
    _, whl = wheel
    assert {n for n in whl.namelist() if '/' not in n} == {
        '_mmddl_config_scope.py', 'mmddl-config-scope.pth'}
    assert whl.read('mmddl-config-scope.pth') == (
        b'import _mmddl_config_scope; _mmddl_config_scope.install()\n')
    site_dir = tmp_path / 'site'
    whl.extractall(site_dir)
    cfg = tmp_path / 'user_cfg.py'
    cfg.write_text(
        "_base_ = ['mmddl::reid/ddnet_r18cd_reid-r50-dscore-10e_mars.py']\n")
    deps = [p for p in sys.path if osp.basename(p) == 'site-packages']
    code = (f'import json, site, sys\n'
            f'site.addsitedir({str(site_dir)!r})\n'
            f'sys.path += {deps!r}\n'
            'from mmengine.config import Config\n'
            f'cfg = Config.fromfile({str(cfg)!r}, '
            'import_custom_modules=False)\n'
            'print(json.dumps([cfg.custom_hooks[0].base.config, '
            "'mmddl' in sys.modules]))\n")
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)
    proc = subprocess.run([sys.executable, '-S', '-c', code],
                          cwd=str(tmp_path), env=env, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    base_config, imported = json.loads(proc.stdout.strip().splitlines()[-1])
    assert base_config == str(
        site_dir / 'mmddl' / '.mim' / 'configs' / 'reid' /
        'reid_r50_1xb64-ce-triplet-120e_mars.py')
    assert not imported
