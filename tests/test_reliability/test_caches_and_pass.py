"""Faults of the D-score caches, the pass and the hook: one test per case.

Cases that were already handled are referenced (see the matrix in
``docs/reliability.md``) or checked here with a small test.
"""
import errno
import json
import os
import os.path as osp
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import uuid

import numpy as np
import pytest
import torch
from torch import nn

import mmddl  # noqa: F401  (compat fixes before mmaction.models)
from mmengine.registry import MODELS, DefaultScope

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ENGINE_TESTS = osp.join(REPO, 'tests', 'test_engine')
sys.path.insert(0, ENGINE_TESTS)
from ddl_engine_testutils import (VIDEOS, candidate_pipeline,  # noqa: E402
                                  make_videos, tiny_r3d_cfg, write_video)
from scale_testutils import (LOADED, ToyClipDataset,  # noqa: E402
                             hook_settings, save_toy_checkpoint, toy_hook,
                             toy_model, toy_runner)

from mmddl.engine import DiscriminabilityHook  # noqa: E402
from mmddl.engine import discriminability_pass as dp  # noqa: E402
from mmddl.engine.base_model import load_weights_strict  # noqa: E402
from mmddl.engine.feature_store import FeatureStore  # noqa: E402
from mmddl.engine.lock import LockHeldError, WorkDirLock  # noqa: E402
from mmddl.structures import (CorruptScoreTableError,  # noqa: E402
                              ScoreTable, StaleScoreTableError)

ARRAYS = ('keys', 'positions', 'labels', 'raw', 'dscores')


# ----------------------------------------------------------------- helpers
@pytest.fixture(scope='module')
def video_src(tmp_path_factory):
    """Tiny videos, their lists and a tiny base checkpoint (copied per
    test: tests change files)."""
    root = str(tmp_path_factory.mktemp('src'))
    os.makedirs(osp.join(root, 'videos'))
    make_videos(osp.join(root, 'videos'))
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmaction'):
        base = MODELS.build(tiny_r3d_cfg())
    torch.save(dict(state_dict=base.state_dict()), osp.join(root, 'base.pth'))
    return root


@pytest.fixture
def videos(video_src, tmp_path):
    root = str(tmp_path / 'data')
    shutil.copytree(video_src, root)
    prefix = osp.join(root, 'videos')
    return dict(prefix=prefix, clean=osp.join(prefix, 'clean_list.txt'),
                ckpt=osp.join(root, 'base.pth'), work=str(tmp_path / 'work'))


def _run_hook(data, ann_file=None, **groups):
    hook = DiscriminabilityHook(**hook_settings(
        dict(base=dict(config=dict(default_scope='mmaction',
                                   model=tiny_r3d_cfg()),
                       checkpoint=data['ckpt']),
             candidates=dict(pipeline=candidate_pipeline(), batch_size=2),
             compute=dict(progress=False)), **groups))
    with DefaultScope.overwrite_default_scope('mmaction'):
        hook.before_train(toy_runner(
            data['work'], None, 1, ds_cfg=dict(
                type='VideoDataset', ann_file=ann_file or data['clean'],
                data_prefix=dict(video=data['prefix']), pipeline=[])))
    return ScoreTable.load(hook.table_file), hook


def _fresh_table(data, tmp_path, ann_file=None):
    """The table computed from scratch (new work_dir, nothing cached)."""
    fresh = dict(data, work=str(tmp_path / f'fresh_{uuid.uuid4().hex}'))
    return _run_hook(fresh, ann_file)[0]


def _assert_same(a, b):
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.skipped == b.skipped


# ------------------------------------------------- item 2: content-bound
def test_replaced_video_is_refused_naming_it_then_recomputed(videos,
                                                             tmp_path):
    old, hook = _run_hook(videos)
    assert hook.num_computed == 1
    v1 = osp.join(videos['prefix'], 'v1.mp4')
    write_video(v1, 36, seed=7, label=0)  # same name, other contents
    with pytest.raises(StaleScoreTableError,
                       match=r'data files.*v1\.mp4') as e:
        _run_hook(videos)
    assert 'dscore_table.npz' in str(e.value)
    new, hook = _run_hook(videos, table=dict(on_stale='recompute'))
    assert hook.num_computed == 1
    rows = new.keys == v1
    assert not np.allclose(new.raw[rows], old.raw[old.keys == v1])
    _assert_same(new, _fresh_table(videos, tmp_path))
    # an in-place edit keeping the size is seen too (mtime_ns)
    st = os.stat(v1)
    with open(v1, 'r+b') as f:
        f.seek(st.st_size // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))
    os.utime(v1, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # edited later
    assert os.stat(v1).st_size == st.st_size
    with pytest.raises(StaleScoreTableError, match='same size, modified'):
        _run_hook(videos)


def test_edited_table_value_fails_naming_the_file(tmp_path):
    t = ScoreTable(keys=['a', 'b'], positions=[0, 0], labels=[0, 1],
                   raw=[1., 2.], dscores=[.3, .7], mean=1.5, std=.5,
                   metric='cosine')
    path = t.save(str(tmp_path / 'dscore_table.npz'))
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays['dscores'] = arrays['dscores'].copy()
    arrays['dscores'][1] = 0.9  # one value edited, file rewritten validly
    np.savez(path, **arrays)
    with pytest.raises(CorruptScoreTableError,
                       match='dscore_table.npz.*checksum.*delete it'):
        ScoreTable.load(path)


def test_corrupted_shard_of_same_size_is_recomputed(tmp_path):
    from scale_testutils import SimulatedKill
    n, size = 13, 4
    model = toy_model()
    ref = dp.compute_score_table(model, ToyClipDataset(n),
                                 str(tmp_path / 'ref'), shard_size=size,
                                 batch_size=2, progress=False)
    store = str(tmp_path / 'store')
    with pytest.raises(SimulatedKill):
        dp.compute_score_table(model, ToyClipDataset(n, kill_at=9), store,
                               shard_size=size, batch_size=2,
                               progress=False)
    feats = osp.join(store, 'shard_000000', 'feats.npy')
    nbytes = osp.getsize(feats)
    with open(feats, 'r+b') as f:  # corrupt in place, same size
        f.seek(-8, 2)
        f.write(np.array([1e3, -1e3], np.float32).tobytes())
    assert osp.getsize(feats) == nbytes
    ds = ToyClipDataset(n)
    table = dp.compute_score_table(model, ds, store, shard_size=size,
                                   batch_size=2, progress=False)
    assert 0 in ds.calls and 4 not in ds.calls  # shard 0 redone, 1 reused
    _assert_same(table, ref)
    # verify is a hook option; a bad value is refused up front
    hook = toy_hook('x.pth', compute=dict(verify='size'))
    assert hook.settings['compute']['verify'] == 'size'
    assert toy_hook('x.pth').settings['compute']['verify'] == 'sha256'
    with pytest.raises(ValueError, match=r'compute\.verify'):
        toy_hook('x.pth', compute=dict(verify='md5'))


# -------------------------------------------- item 3: failures not cached
def test_absent_data_folder_then_restored_is_recomputed(videos, tmp_path):
    moved = videos['prefix'] + '_away'
    os.rename(videos['prefix'], moved)
    os.makedirs(videos['prefix'])
    shutil.copy(osp.join(moved, 'clean_list.txt'), videos['clean'])
    with pytest.raises(RuntimeError, match='no element could be scored'):
        _run_hook(videos, compute=dict(keep_features=True))
    shutil.rmtree(videos['prefix'])
    os.rename(moved, videos['prefix'])
    table, hook = _run_hook(videos)
    assert hook.num_computed == 1 and not table.skipped
    assert table.num_samples == len(VIDEOS)
    _assert_same(table, _fresh_table(videos, tmp_path))


def test_one_missing_file_restored_is_recomputed(videos, tmp_path):
    v2 = osp.join(videos['prefix'], 'v2.mp4')
    os.rename(v2, v2 + '.away')
    table, _ = _run_hook(videos)
    assert [s['key'] for s in table.skipped] == [v2]
    os.rename(v2 + '.away', v2)
    table, hook = _run_hook(videos)  # no StaleScoreTableError, no KeyError
    assert hook.num_computed == 1 and not table.skipped
    assert v2 in table
    _assert_same(table, _fresh_table(videos, tmp_path))


def test_failure_that_is_gone_is_retried_with_unchanged_files(tmp_path):
    """A sample failed for a reason that left no trace in its file (a
    network error ...): only the failed samples are loaded again; if they
    load now, the table is recomputed."""
    ann, ckpt = str(tmp_path / 'ann.txt'), str(tmp_path / 'ckpt.pth')
    with open(ann, 'w') as f:
        f.write('toy\n')
    save_toy_checkpoint(ckpt)
    runner = toy_runner(str(tmp_path / 'work'), ann, 9, fail_at=(2, 7))
    toy_hook(ckpt).before_train(runner)
    del LOADED[:]
    hook = toy_hook(ckpt)
    hook.before_train(runner)  # still failing: reused, nothing else loaded
    assert hook.num_computed == 0 and sorted(LOADED) == [2, 7]
    runner.cfg.train_dataloader.dataset.fail_at = []  # the failure is gone
    hook = toy_hook(ckpt)
    hook.before_train(runner)
    assert hook.num_computed == 1
    table = ScoreTable.load(hook.table_file)
    assert not table.skipped and table.num_samples == 9


# ------------------------------------------------------ item 5: the lock
_HOLDER = textwrap.dedent('''
    import importlib.util, sys
    spec = importlib.util.spec_from_file_location('lock', sys.argv[1])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.WorkDirLock(sys.argv[2]).acquire()
    print('ready', flush=True)
    sys.stdin.read()
''')


def test_work_dir_lock_live_holder_refused_dead_holder_taken_over(
        tmp_path, monkeypatch):
    import mmddl.engine.lock as lock_mod
    logged = []
    monkeypatch.setattr(lock_mod, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    store = str(tmp_path / 'work' / 'dscore_features')
    lock_file = store + '.lock'
    holder = subprocess.Popen(
        [sys.executable, '-c', _HOLDER, lock_mod.__file__, lock_file],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'ready'
        with pytest.raises(LockHeldError) as e:
            dp.compute_score_table(toy_model(), ToyClipDataset(5), store,
                                   shard_size=2, progress=False)
        msg = str(e.value)
        assert f'pid {holder.pid} on host {socket.gethostname()}' in msg
        assert 'interrupted' not in msg and not osp.exists(store)
    finally:
        holder.kill()  # dies holding it: the file stays, naming it
        holder.wait()
    assert json.load(open(lock_file))['pid'] == holder.pid
    table = dp.compute_score_table(toy_model(), ToyClipDataset(5), store,
                                   shard_size=2, progress=False)
    assert len(table) == 15 and not osp.exists(lock_file)
    assert len(logged) == 1
    assert f'of pid {holder.pid} on host' in logged[0]
    assert 'no longer running' in logged[0]
    # re-entrant within one process; another host's lock is not taken
    with WorkDirLock(lock_file), WorkDirLock(lock_file):
        assert json.load(open(lock_file))['pid'] == os.getpid()
    with open(lock_file, 'w') as f:
        json.dump(dict(pid=1, host='elsewhere'), f)
    with pytest.raises(LockHeldError, match='elsewhere.*delete the lock'):
        WorkDirLock(lock_file).acquire()


def test_shard_deleted_under_the_pass_names_another_process(tmp_path):
    store = FeatureStore(str(tmp_path))
    store.write_shard(0, 0, 1, np.ones((1, 2)), [0], ['a'], [0])
    shutil.rmtree(store.shard_dir(0))
    with pytest.raises(FileNotFoundError,
                       match='another process deleted or rewrote'):
        store.open_shard(0)


# ---------------------------------------------------- item 6: obscure I/O
def test_truncated_table_names_path_and_says_delete(videos):
    table, _ = _run_hook(videos)
    path = osp.join(videos['work'], 'dscore_table.npz')
    with open(path, 'r+b') as f:
        f.truncate(osp.getsize(path) // 2)
    with pytest.raises(CorruptScoreTableError) as e:
        _run_hook(videos)
    assert path in str(e.value) and 'delete it to recompute' in str(e.value)
    # on_stale='recompute' recomputes it instead
    again, hook = _run_hook(videos, table=dict(on_stale='recompute'))
    assert hook.num_computed == 1
    _assert_same(again, table)


@pytest.mark.parametrize('err', [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_write_errors_name_the_path(tmp_path, monkeypatch, err):
    """No space left / read-only or not writable work dir (injected: the
    tests may run as root, where chmod does not stop writes)."""
    t = ScoreTable(keys=['a'], positions=[0], labels=[0], raw=[1.],
                   dscores=[.5], mean=1., std=0., metric='cosine')
    path = str(tmp_path / 'dscore_table.npz')
    t.save(path)
    before = open(path, 'rb').read()

    def failing(fd):
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr(os, 'fsync', failing)
    with pytest.raises(OSError) as e:
        t.save(path)
    assert e.value.errno == err and path in str(e.value)
    assert open(path, 'rb').read() == before
    assert os.listdir(tmp_path) == ['dscore_table.npz']
    store = FeatureStore(str(tmp_path / 'store'))
    with pytest.raises(OSError) as e:
        store.write_shard(0, 0, 1, np.ones((1, 2)), [0], ['a'], [0])
    assert e.value.errno == err
    assert osp.join(store.shard_dir(0), 'feats.npy') in str(e.value)
    assert not store.is_finished(0)


# ----------------------------------------------------- item 7: labels
def test_label_beyond_base_head_is_refused_before_compute(videos):
    ann = osp.join(videos['prefix'], 'bad_labels.txt')
    with open(ann, 'w') as f:
        f.write('v0.mp4 0\nv1.mp4 1\nv2.mp4 5\nv4.mp4 2\n')
    with pytest.raises(ValueError) as e:
        _run_hook(videos, ann_file=ann)
    msg = str(e.value)
    assert 'sample 2' in msg and 'v2.mp4' in msg and 'label 5' in msg
    assert "base head's num_classes = 3" in msg
    assert not osp.exists(osp.join(videos['work'], 'dscore_features'))
    # the hook's own num_classes is a bound too
    with pytest.raises(ValueError, match=r"hook's dscore\.num_classes = 2"):
        _run_hook(videos, dscore=dict(num_classes=2))


# --------------------------------------- cases that already passed before
_KILLED = textwrap.dedent('''
    import os, signal, sys
    sys.path.insert(0, sys.argv[1])
    import torch
    torch.set_num_threads(1)
    from scale_testutils import ToyClipDataset, toy_model
    from mmddl.engine import compute_score_table

    class Dying(ToyClipDataset):
        def __getitem__(self, i):
            if i == 10:
                os.kill(os.getpid(), signal.SIGKILL)
            return super().__getitem__(i)

    compute_score_table(toy_model(), Dying(19, fail_at=(2, 13)), sys.argv[2],
                        shard_size=4, batch_size=3, progress=False)
''')


def test_sigkilled_pass_resumes_to_identical_table(tmp_path):
    store = str(tmp_path / 'store')
    proc = subprocess.run([sys.executable, '-c', _KILLED, ENGINE_TESTS,
                           store], cwd=REPO)
    assert proc.returncode == -signal.SIGKILL
    assert osp.exists(store + '.lock')  # left by the killed process
    ds = ToyClipDataset(19, fail_at=(2, 13))
    resumed = dp.compute_score_table(toy_model(), ds, store, shard_size=4,
                                     batch_size=3, progress=False)
    assert sorted(set(ds.calls)) == [2] + list(range(8, 19))
    full = dp.compute_score_table(
        toy_model(), ToyClipDataset(19, fail_at=(2, 13)),
        str(tmp_path / 'ref'), shard_size=4, batch_size=3, progress=False)
    _assert_same(resumed, full)
    assert (resumed.mean, resumed.std) == (full.mean, full.std)


class _Payload:
    """Pickles as ``os.system(command)``."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command, )


def _load_paths():
    from mmddl.models.utils.base_config import checkpoint_config
    from mmddl.models.utils.checkpoint import load_submodule_checkpoint
    return {
        'hook base checkpoint': lambda p: load_weights_strict(
            nn.Linear(1, 1), p),
        'DDL base / DDNet checkpoint': lambda p: load_submodule_checkpoint(
            nn.Linear(1, 1), p, 'base'),
        'config saved in a checkpoint': lambda p: checkpoint_config(p),
    }


@pytest.mark.parametrize('path_name', sorted(_load_paths()))
def test_pickle_payload_in_checkpoint_paths_never_runs(tmp_path, path_name):
    """mmengine's load_checkpoint / CheckpointLoader / Runner resume:
    tests/test_compat/test_safe_checkpoint.py; mmddl's own paths here."""
    marker = tmp_path / 'pwned'
    ckpt = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict=nn.Linear(1, 1).state_dict(),
                    x=_Payload(f'touch {marker}')), ckpt)
    with pytest.raises(pickle.UnpicklingError):
        _load_paths()[path_name](ckpt)
    assert not marker.exists()
