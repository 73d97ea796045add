"""mmcv (full) or mmcv-lite both satisfy mmddl; others fail clearly."""
import importlib.util
import os.path as osp
from importlib import metadata

import pytest
from packaging_testutils import REPO

from mmddl import version as ver


def _installed_mmcv_distribution_version():
    found = []
    for name in ('mmcv', 'mmcv-lite'):
        try:
            found.append(metadata.version(name))
        except metadata.PackageNotFoundError:
            pass
    assert len(found) == 1, f'expected one of mmcv / mmcv-lite: {found}'
    return found[0]


def test_installed_version_matches_the_distribution():
    assert ver.installed_mmcv_version() == \
        _installed_mmcv_distribution_version()
    assert ver.check_mmcv() == ver.installed_mmcv_version()


@pytest.mark.parametrize('good', ['2.0.0', '2.0.0rc4', '2.1.0', '2.1.9'])
def test_accepts_releases_inside_the_range(good):
    assert ver.check_mmcv(good) == good


@pytest.mark.parametrize('bad', ['1.7.2', '2.2.0', '2.2.0rc1', '3.0.0'])
def test_rejects_releases_outside_the_range(bad):
    with pytest.raises(ImportError, match=rf'mmcv {bad} is installed.*'
                       r'>=2\.0\.0,<2\.2\.0.*mmcv-lite'):
        ver.check_mmcv(bad)


def test_missing_mmcv_names_both_distributions(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, 'find_spec',
        lambda name, *a: None if name == 'mmcv' else real(name, *a))
    with pytest.raises(ImportError, match=r'neither is installed.*'
                       r"pip install 'mmcv-lite.*mim install 'mmcv"):
        ver.check_mmcv()


def test_unreadable_version_file_is_an_error(monkeypatch, tmp_path):
    (tmp_path / 'mmcv').mkdir()
    spec = importlib.util.spec_from_file_location(
        'mmcv', tmp_path / 'mmcv' / '__init__.py',
        submodule_search_locations=[str(tmp_path / 'mmcv')])
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: spec)
    with pytest.raises(ImportError, match='no readable mmcv/version.py'):
        ver.installed_mmcv_version()


def test_ranges_in_requirement_files_match_the_check():
    for name, dist in (('lite', 'mmcv-lite'), ('mminstall', 'mmcv')):
        with open(osp.join(REPO, 'requirements', f'{name}.txt')) as f:
            lines = [ln.strip() for ln in f if ln.strip()[:1].isalpha()]
        assert lines == [f'{dist}>=2.1.0,<{ver.MMCV_MAX}'], lines
