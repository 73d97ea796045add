"""Tests for mmddl.compat.import_hooks (post-import callbacks)."""
import importlib
import importlib.machinery
import inspect
import sys
import uuid

import pytest

from mmddl.compat import import_hooks


@pytest.fixture
def fresh_package(tmp_path, monkeypatch):
    """A throw-away package ``<name>.mod`` with ``VALUE = 1`` on sys.path."""
    name = f'h1hookpkg_{uuid.uuid4().hex[:8]}'
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / '__init__.py').write_text('')
    (pkg / 'mod.py').write_text('VALUE = 1\n\ndef answer():\n    return 42\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    # Isolate from the real hooks registered by apply_all.
    monkeypatch.setattr(import_hooks, '_CALLBACKS', {})
    yield f'{name}.mod'
    for key in [k for k in sys.modules if k.startswith(name)]:
        del sys.modules[key]


def test_callback_runs_after_module_body(fresh_package):
    seen = []

    def patch(module):
        seen.append(module.VALUE)  # body already executed
        module.VALUE = 2

    assert import_hooks.when_imported(fresh_package, patch) is False
    assert seen == []
    module = importlib.import_module(fresh_package)
    assert seen == [1]
    assert module.VALUE == 2
    # The wrapper loader is removed again; source lookup still works.
    assert type(module.__loader__).__name__ == 'SourceFileLoader'
    assert module.__spec__.loader is module.__loader__
    assert 'return 42' in inspect.getsource(module.answer)


def test_already_imported_runs_now_and_dedupes(fresh_package):
    module = importlib.import_module(fresh_package)
    calls = []

    def patch(mod):
        calls.append(mod)

    assert import_hooks.when_imported(fresh_package, patch) is True
    assert import_hooks.when_imported(fresh_package, patch) is True
    assert calls == [module, module]  # ran at each registration ...
    assert import_hooks._CALLBACKS[fresh_package] == [patch]  # ... kept once
    del sys.modules[fresh_package]
    importlib.import_module(fresh_package)  # re-import: runs again, once
    assert len(calls) == 3


def test_failing_callback_warns_but_import_succeeds(fresh_package):

    def broken(module):
        raise RuntimeError('boom')

    import_hooks.when_imported(fresh_package, broken)
    with pytest.warns(RuntimeWarning, match='boom.*NOT active'):
        module = importlib.import_module(fresh_package)
    assert module.VALUE == 1


def test_finder_installed_once_before_path_finder():
    import_hooks._install_finder()
    import_hooks._install_finder()
    finders = [
        f for f in sys.meta_path
        if isinstance(f, import_hooks._PostImportFinder)
    ]
    assert len(finders) == 1
    # It must see module names before the regular file-system finder.
    assert sys.meta_path.index(finders[0]) < sys.meta_path.index(
        importlib.machinery.PathFinder)
