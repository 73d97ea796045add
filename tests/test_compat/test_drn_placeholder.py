"""Fix 1: placeholder for mmaction2 1.2.0's missing localizers.drn."""
import importlib
import importlib.machinery
import sys
import uuid

import pytest

import mmddl  # noqa: F401  (applies the fixes before mmaction.models)
from mmddl.compat import drn_placeholder
from compat_helpers import run_python

DRN_DIR_MISSING = bool(
    getattr(sys.modules.get(drn_placeholder.DRN_PACKAGE),
            '__mmddl_placeholder__', False)
    or drn_placeholder.drn_is_missing())
needs_fix = pytest.mark.skipif(
    not DRN_DIR_MISSING,
    reason='installed mmaction2 ships localizers.drn: fix not needed')


@needs_fix
def test_plain_import_fails_without_fix():
    proc = run_python('import mmaction.models')
    assert proc.returncode != 0
    assert "No module named 'mmaction.models.localizers.drn'" in proc.stderr


@needs_fix
def test_import_works_and_drn_raises_clearly():
    import mmaction.models  # noqa: F401
    from mmaction.models.localizers import BMN, DRN  # noqa: F401
    from mmaction.registry import MODELS

    assert MODELS.get('DRN') is DRN
    assert MODELS.get('Recognizer3D') is not None
    with pytest.raises(NotImplementedError,
                       match='localizers.drn is missing.*mmaction2 1.2.0'):
        MODELS.build(dict(type='DRN', vision_feat_dim=500))
    with pytest.raises(NotImplementedError, match='git repository'):
        DRN()
    pkg = sys.modules[drn_placeholder.DRN_PACKAGE]
    with pytest.raises(AttributeError, match='drn_utils: .*is missing'):
        pkg.drn_utils
    assert not hasattr(pkg, '__wrapped__')  # dunders stay plain misses


def test_placeholder_finder_is_after_path_finder():
    """A real drn (found by PathFinder) always wins over the placeholder."""
    finders = [
        f for f in sys.meta_path
        if isinstance(f, drn_placeholder.DRNPlaceholderFinder)
    ]
    assert len(finders) == (1 if DRN_DIR_MISSING else 0)
    for finder in finders:
        assert sys.meta_path.index(finder) > sys.meta_path.index(
            importlib.machinery.PathFinder)
        assert finder.find_spec('mmaction.models.other', None) is None


def test_drn_is_missing_checks_disk(tmp_path, monkeypatch):
    name = f'h1fakeact_{uuid.uuid4().hex[:8]}'
    localizers = tmp_path / name / 'models' / 'localizers'
    localizers.mkdir(parents=True)
    for d in (tmp_path / name, tmp_path / name / 'models', localizers):
        (d / '__init__.py').write_text('raise RuntimeError("not imported")')
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    assert drn_placeholder.drn_is_missing(name) is True
    (localizers / 'drn').mkdir()
    (localizers / 'drn' / '__init__.py').write_text('')
    importlib.invalidate_caches()
    assert drn_placeholder.drn_is_missing(name) is False
    assert drn_placeholder.drn_is_missing(f'{name}_absent') is None
    assert name not in sys.modules  # looked on disk only
