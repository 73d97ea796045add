"""The wheel ships configs and tools in mmddl/.mim and declares ranges."""
import glob
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
