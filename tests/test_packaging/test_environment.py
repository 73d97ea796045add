"""The running environment: clean ``pip check``, one cv2, tested pins."""
import importlib.util
import os.path as osp
import re
import subprocess
import sys
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging_testutils import (REPO, pinned_versions, project_name,
                                 requirement_lines)

# decord's wheel carries a cp36 tag although it runs on newer Pythons
HARMLESS = re.compile(r'^decord \S+ is not supported on this platform$')


def test_pip_check_is_clean():
    proc = subprocess.run([sys.executable, '-m', 'pip', 'check'],
                          capture_output=True, text=True)
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines()
             if ln.strip()]
    problems = [ln for ln in lines if not HARMLESS.match(ln)]
    assert not problems, 'pip check: ' + '; '.join(problems)
    assert proc.returncode == (1 if lines else 0), lines


def _cv2_owners():
    owners = []
    for dist in metadata.distributions():
        files = {str(f).replace('\\', '/') for f in (dist.files or ())}
        if 'cv2/__init__.py' in files:
            owners.append(dist)
    return owners


def test_one_distribution_owns_cv2_and_mmaction2_asks_for_it():
    import cv2
    owners = _cv2_owners()
    names = [project_name(d.metadata['Name']) for d in owners]
    assert len(owners) == 1, f'cv2 is owned by {names}'
    wanted = {
        project_name(r) for r in metadata.requires('mmaction2') or ()
        if project_name(r).startswith('opencv')
    }
    assert names[0] in wanted, (names, wanted)
    location = osp.realpath(str(owners[0].locate_file('cv2/__init__.py')))
    assert osp.realpath(cv2.__file__) == location


def _mmcv_group() -> str:
    """``lite`` (make MMCV=lite) or ``mmdet`` (full mmcv and mmdet)."""
    try:
        metadata.version('mmcv-lite')
        return 'lite'
    except metadata.PackageNotFoundError:
        return 'mmdet'


@pytest.mark.parametrize('group', ['runtime', _mmcv_group(), 'tests'])
def test_pins_are_installed_and_inside_the_ranges(group):
    pins = pinned_versions()
    for line in requirement_lines(group):
        req = Requirement(line)
        name = project_name(req.name)
        assert name in pins, f'{name} has no tested pin in constraints.txt'
        assert req.specifier.contains(pins[name], prereleases=True), (
            f'tested {name}=={pins[name]} is outside {line!r}')
        assert metadata.version(req.name) == pins[name], name


@pytest.mark.parametrize('folder', ['configs', 'tools'])
def test_installed_package_finds_configs_and_tools_in_mim(folder):
    spec = importlib.util.find_spec('mmddl')
    mim = osp.join(spec.submodule_search_locations[0], '.mim', folder)
    assert osp.isdir(mim), f'{mim} is missing: reinstall (make install)'
    if osp.islink(mim):  # editable install: the source tree itself
        assert osp.samefile(mim, osp.join(REPO, folder))
    some = {'configs': 'recognition', 'tools': 'test.py'}[folder]
    assert osp.exists(osp.join(mim, some))
