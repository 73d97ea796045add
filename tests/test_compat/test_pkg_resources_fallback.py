"""Fix 2: importlib.metadata fallback for mmengine's pkg_resources use."""
import importlib.metadata
import os.path as osp

import pytest

from mmddl.compat import pkg_resources_fallback as fallback
from compat_helpers import COMPAT_ONLY_PRELUDE, run_python

PACKAGES = ['mmaction2', 'mmpretrain', 'mmengine', 'numpy', 'mmcv', 'torch']

BLOCK_PKG_RESOURCES = """
import sys
sys.modules['pkg_resources'] = None  # as if setuptools >= 80 / absent
"""

FROMFILE = """
import os, tempfile
from mmengine.config import Config
root = tempfile.mkdtemp()
for name, base in [('sf', 'mmaction::recognition/slowfast/'
                   'slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb.py'),
                   ('rn', 'mmpretrain::resnet/resnet18_8xb32_in1k.py')]:
    path = os.path.join(root, name + '.py')
    with open(path, 'w') as f:
        f.write(f'_base_ = [{base!r}]\\n')
    cfg = Config.fromfile(path)
    print('MODEL', cfg.model.type, cfg.model.backbone.type)
"""


def _original(name):
    """mmengine's own pkg_resources-based function (unpatched here)."""
    from mmengine.utils import package_utils
    func = getattr(package_utils, name)
    if func is getattr(fallback, name):
        pytest.skip('pkg_resources is missing here: originals are replaced')
    return func


@pytest.mark.parametrize('package', PACKAGES)
def test_matches_pkg_resources_versions(package):
    pytest.importorskip('pkg_resources')
    assert fallback.is_installed(package) == _original('is_installed')(package)
    assert fallback.get_installed_path(package) == _original(
        'get_installed_path')(package)
    assert osp.isdir(fallback.get_installed_path(package))


def test_package2module_and_missing_package():
    assert fallback.package2module('mmaction2') == 'mmaction'
    assert fallback.package2module('mmpretrain') == 'mmpretrain'
    assert fallback.is_installed('mmaction') is True  # module, not dist
    assert fallback.is_installed('h1_surely_not_installed') is False
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        fallback.get_installed_path('h1_surely_not_installed')


def test_config_fromfile_fails_without_pkg_resources():
    proc = run_python(BLOCK_PKG_RESOURCES + FROMFILE)
    assert proc.returncode != 0
    assert 'pkg_resources' in proc.stderr


@pytest.mark.parametrize('order', ['mmddl_first', 'mmengine_first'])
def test_config_fromfile_works_with_fix(order):
    """Deferred patch (mmddl first) and immediate re-binding of re-exports.

    ``apply_all`` is what ``import mmddl`` runs first; it is called without
    mmddl/__init__.py here to keep torch out of the child (speed).
    """
    first = (COMPAT_ONLY_PRELUDE + 'apply_all()\nimport mmengine.config\n'
             if order == 'mmddl_first' else 'import mmengine.config\n' +
             COMPAT_ONLY_PRELUDE)
    code = BLOCK_PKG_RESOURCES + first + """
from mmddl.compat import apply_all, pkg_resources_fallback as fb
import mmengine.config.config as cc, mmengine.utils as mu
print('STATUS', apply_all()['pkg_resources_fallback'])
assert cc.get_installed_path is fb.get_installed_path
assert cc.is_installed is fb.is_installed
assert mu.is_installed is fb.is_installed
assert 'torch' not in sys.modules  # cheap: no heavy import
""" + FROMFILE
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'STATUS applied' in proc.stdout
    assert 'MODEL Recognizer3D ResNet3dSlowFast' in proc.stdout
    assert 'MODEL ImageClassifier ResNet' in proc.stdout
