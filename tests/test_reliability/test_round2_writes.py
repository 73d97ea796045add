"""Nothing half-written, no two writers of one output: every file written
atomically with errors naming it, checkpoint load errors naming the file,
and the D-score table locked against a second run (issue 22, items 7-8)."""
import builtins
import errno
import json
import os
import os.path as osp
import subprocess
import sys
import textwrap
import uuid

import numpy as np
import pytest
import torch
from mmengine.fileio.backends.local_backend import LocalBackend
from mmengine.runner import Runner

import mmddl  # noqa: F401  (compat fixes: atomic backend, named errors)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ENGINE_TESTS = osp.join(REPO, 'tests', 'test_engine')
TOOL_TESTS = osp.join(REPO, 'tests', 'test_tools')
sys.path.insert(0, ENGINE_TESTS)
from scale_testutils import (save_toy_checkpoint, toy_hook,  # noqa: E402
                             toy_runner)

from mmddl.engine.lock import LockHeldError  # noqa: E402
from mmddl.structures import ScoreTable, StaleScoreTableError  # noqa: E402
from mmddl.utils.atomic_write import TMP_PREFIX  # noqa: E402
from toy_runner import ToyData, ToyModel  # noqa: E402

ENOSPC = os.strerror(errno.ENOSPC)


# ----------------------------------------------------------------- helpers
class _FullDisk:
    """A file whose ``write`` stores half of the bytes, then raises ENOSPC
    (a disk that fills up mid-write)."""

    def __init__(self, f) -> None:
        self._f = f

    def write(self, data) -> int:
        self._f.write(data[:len(data) // 2])
        self._f.flush()
        raise OSError(errno.ENOSPC, ENOSPC)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._f.close()


@pytest.fixture
def full_disk(monkeypatch):
    """``full_disk(name)``: writes to files whose name ends with ``name``
    (their temporary files included) fill the disk from now on."""
    real_open = builtins.open
    names = []

    def fake_open(file, mode='r', *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        if any(c in mode for c in 'wax') and isinstance(
                file, (str, os.PathLike)) and str(file).endswith(
                    tuple(names)):
            return _FullDisk(f)
        return f

    monkeypatch.setattr(builtins, 'open', fake_open)
    return names.append


def _leftovers(folder: str):
    return [n for n in os.listdir(folder) if n.startswith(TMP_PREFIX)]


def _truncated_copy(src: str, dst: str) -> str:
    with open(src, 'rb') as f:
        data = f.read()
    with open(dst, 'wb') as f:
        f.write(data[:len(data) // 2])
    return dst




def _runner(work_dir: str, max_epochs: int, **kwargs) -> Runner:
    """A tiny Runner saving a checkpoint every epoch (CheckpointHook)."""
    return Runner(
        model=ToyModel(),
        work_dir=work_dir,
        experiment_name=f'writes_{uuid.uuid4().hex[:8]}',
        train_dataloader=dict(
            dataset=ToyData(4),
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=2,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', interval=1)),
        randomness=dict(seed=0),
        log_level='WARNING',
        **kwargs)


# ------------------------------- item 8: a full disk during a checkpoint save
def test_full_disk_during_checkpoint_save_names_it_and_leaves_no_file(
        tmp_path, full_disk, monkeypatch):
    work = str(tmp_path / 'work')
    full_disk('epoch_2.pth')
    with pytest.raises(OSError) as e:
        _runner(work, 2).train()
    path = osp.join(work, 'epoch_2.pth')
    assert e.value.errno == errno.ENOSPC
    assert repr(path) in str(e.value) and 'checkpoint' in str(e.value)
    assert not osp.exists(path) and _leftovers(work) == []
    good = torch.load(osp.join(work, 'epoch_1.pth'), weights_only=False)
    assert 'fc.weight' in good['state_dict']
    # control: mmengine's own put leaves the truncated file, naming nothing
    monkeypatch.setattr(LocalBackend, 'put', LocalBackend.put.__wrapped__)
    with pytest.raises(OSError) as e:
        _runner(str(tmp_path / 'plain'), 2).train()
    bad = str(tmp_path / 'plain' / 'epoch_2.pth')
    assert osp.exists(bad) and 'epoch_2' not in str(e.value)
    assert 0 < osp.getsize(bad) < osp.getsize(osp.join(work, 'epoch_1.pth'))


# -------------------------------- item 8: a truncated checkpoint, every load
def test_truncated_checkpoint_resume_and_load_from_name_the_file(tmp_path):
    _runner(str(tmp_path / 'a'), 1).train()
    bad = _truncated_copy(
        str(tmp_path / 'a' / 'epoch_1.pth'), str(tmp_path / 'epoch_1.pth'))
    for kwargs in (dict(load_from=bad, resume=True), dict(load_from=bad)):
        with pytest.raises(Exception) as e:  # the type torch.load gives
            _runner(str(tmp_path / 'b'), 2, **kwargs).train()
        msg = str(e.value)
        assert repr(bad) in msg, kwargs
        assert 'truncated or is not a PyTorch checkpoint' in msg
    empty = str(tmp_path / 'empty.pth')
    open(empty, 'wb').close()
    with pytest.raises(EOFError, match=repr(empty)):
        _runner(str(tmp_path / 'c'), 1, load_from=empty).train()


def test_truncated_base_checkpoint_of_the_hook_names_the_file(tmp_path):
    ann, ckpt = str(tmp_path / 'ann.txt'), str(tmp_path / 'full.pth')
    with open(ann, 'w') as f:
        f.write('toy\n')
    save_toy_checkpoint(ckpt)
    bad = _truncated_copy(ckpt, str(tmp_path / 'base.pth'))
    with pytest.raises(Exception) as e:  # the type torch.load gives
        toy_hook(bad).before_train(toy_runner(str(tmp_path / 'w'), ann, 6))
    assert repr(bad) in str(e.value) and 'truncated' in str(e.value)


def test_tools_test_truncated_ddnet_checkpoint_names_the_file(tmp_path):
    sys.path.insert(0, TOOL_TESTS)
    from ddl_tool_testutils import DEMO_DDL_CONFIG, demo_ddl_checkpoints
    base, ddnet = demo_ddl_checkpoints(str(tmp_path))
    bad = _truncated_copy(ddnet, str(tmp_path / 'epoch_1.pth'))
    proc = subprocess.run(
        [
            sys.executable,
            osp.join(REPO, 'tools', 'test.py'), DEMO_DDL_CONFIG, base,
            '--ddnet-checkpoint', bad, '--work-dir',
            str(tmp_path / 'work')
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"cannot load the checkpoint '{bad}'" in log, log[-3000:]
    assert 'truncated or is not a PyTorch checkpoint' in log


# ----------------------------------- item 8: every writer, a full disk
def _score_table(path, seed):
    ScoreTable(keys=['a', 'b'], positions=[0, 1], labels=[0, 1],
               raw=[1., 2. + seed], dscores=[.3, .7], mean=1.5, std=.5,
               metric='cosine').save(path)


def _feature_shard(path, seed):
    from mmddl.engine.feature_store import FeatureStore
    FeatureStore(osp.dirname(osp.dirname(path))).write_shard(
        0, 0, 1, np.full((1, 2), seed), [0], ['a'], [0])


def _demo_results(path, seed):
    from demo.common import write_results
    write_results(path, dict(seed=seed, top1=np.float32(0.5)))


def _ddl_metric_rows(path, seed):
    """``DDLMetric(out_file=...)``, as ``tools/test.py`` runs it."""
    from mmddl.evaluation import DDLMetric
    metric = DDLMetric(topk=(1, ), out_file=path)
    metric.process(None, [
        dict(pred_score=torch.tensor([0.9, 0.1]), gt_label=torch.tensor([0]),
             base_elements=seed + 1, ddnet_elements=1, time_model_s=0.0,
             video_id='v0.mp4')
    ])
    metric.compute_metrics(metric.results)


def _histogram_png(path, seed):
    from mmddl.visualization.histograms import class_histograms
    rng = np.random.default_rng(seed)
    class_histograms([('D', rng.random(20), np.arange(20) % 2)], path)


def _gallery_png(path, seed):
    from mmddl.visualization.gallery import save_png
    save_png(np.full((8, 8, 3), 40 * seed, np.uint8), path)


def _helper_text(path, seed):
    """The helper itself, in text mode (``budget.json``, ``sweep.json``)."""
    from mmddl.utils.atomic_write import atomic_write
    atomic_write(path, lambda f: json.dump(dict(seed=seed), f), text=True)


def _sweep_dump(path, seed):
    from mmddl.analysis.sweep import SweepDump, save_sweep_dump
    save_sweep_dump(
        SweepDump(group_ptr=np.array([0, 2]), scores=np.full(2, seed),
                  outputs=np.ones((2, 3)), gflops_base=np.ones(2),
                  gflops_ddnet=np.ones(2), groups=dict(groups=[{}])),
        osp.dirname(path))


def _mmengine_dump(path, seed):
    """What ``tools/test.py --dump`` writes (mmengine's DumpResults)."""
    from mmengine.fileio import dump
    dump([dict(seed=seed)], path)


def _mmengine_checkpoint(path, seed):
    from mmengine.runner.checkpoint import save_checkpoint
    save_checkpoint(dict(state_dict=dict(w=torch.full((50, ), seed))), path)


WRITERS = {
    'dscore_table.npz': _score_table,
    'store/shard_000000/feats.npy': _feature_shard,
    'results.json': _demo_results,
    'ddl_rows.json': _ddl_metric_rows,
    'hist_train.png': _histogram_png,
    'gallery_test.png': _gallery_png,
    'budget.json': _helper_text,
    'sweep/sweep_dump.npz': _sweep_dump,
    'pred.pkl': _mmengine_dump,
    'epoch_3.pth': _mmengine_checkpoint,
}


@pytest.mark.parametrize('name', list(WRITERS))
def test_full_disk_keeps_the_old_file_and_names_the_path(
        tmp_path, full_disk, name):
    path = str(tmp_path / name)
    write = WRITERS[name]
    write(path, 1)
    with open(path, 'rb') as f:
        before = f.read()
    assert before
    full_disk(osp.basename(path))
    with pytest.raises(OSError) as e:
        write(path, 2)
    assert e.value.errno == errno.ENOSPC
    assert repr(path) in str(e.value), str(e.value)
    with open(path, 'rb') as f:
        assert f.read() == before
    assert _leftovers(osp.dirname(path)) == []


def test_full_disk_fault_truncates_a_plain_write(tmp_path, full_disk):
    """Control: the injected fault does leave a half file behind a plain
    ``open`` + ``write`` (so the test above can fail)."""
    path = str(tmp_path / 'results.json')
    full_disk('results.json')
    text = '{"top1": 0.5}'
    with pytest.raises(OSError), open(path, 'w') as f:
        f.write(text)
    with open(path) as f:
        assert f.read() == text[:len(text) // 2]


# ------------------------------- item 7: two runs, one score table
_RUN_A = textwrap.dedent('''
    import sys
    sys.path.insert(0, sys.argv[1])
    import mmddl
    from mmengine.registry import DATASETS
    from scale_testutils import ToyHookDataset, toy_hook, toy_runner

    class BlockingToyDataset(ToyHookDataset):
        """Blocks in the pass (on stdin) at the first sample."""

        def __getitem__(self, i):
            if not getattr(self, 'blocked', False):
                self.blocked = True
                print('computing', flush=True)
                sys.stdin.read()
            return super().__getitem__(i)

    DATASETS.register_module(module=BlockingToyDataset, force=True)
    ckpt, ann, work, table = sys.argv[2:6]
    runner = toy_runner(work, ann, 6, ds_cfg=dict(
        type='BlockingToyDataset', ann_file=ann, num_samples=6))
    toy_hook(ckpt, table=dict(file=table)).before_train(runner)
    print('done', flush=True)
''')


def test_two_runs_writing_one_score_table_do_not_both_succeed(tmp_path):
    ckpt, table = str(tmp_path / 'base.pth'), str(tmp_path / 'dscores.npz')
    save_toy_checkpoint(ckpt)
    ann_a, ann_b = str(tmp_path / 'a.txt'), str(tmp_path / 'b.txt')
    for ann, text in ((ann_a, 'list a\n'), (ann_b, 'list b\n')):
        with open(ann, 'w') as f:
            f.write(text)
    run_a = subprocess.Popen(
        [sys.executable, '-c', _RUN_A, ENGINE_TESTS, ckpt, ann_a,
         str(tmp_path / 'work_a'), table],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    try:
        lines = iter(run_a.stdout.readline, '')  # (its log goes there too)
        assert any(line.strip() == 'computing' for line in lines)

        def run_b(**kw):
            hook = toy_hook(ckpt, table=dict(file=table, **kw))
            hook.before_train(toy_runner(str(tmp_path / 'work_b'), ann_b, 8))
            return hook

        # run B (another list, another work_dir) while A computes the table
        with pytest.raises(LockHeldError) as e:
            run_b()
        msg = str(e.value)
        assert f'pid {run_a.pid}' in msg and table + '.lock' in msg
        assert "another table file (the DiscriminabilityHook's table.file)" \
            in msg
        assert not osp.exists(table)
        out, _ = run_a.communicate('', timeout=300)
        assert run_a.returncode == 0
        assert out.strip().splitlines()[-1] == 'done'
    finally:
        if run_a.poll() is None:
            run_a.kill()
            run_a.wait()
    assert ScoreTable.load(table).num_samples == 6  # A's table, whole
    assert not osp.exists(table + '.lock')
    # B again: A's table is not silently replaced
    with pytest.raises(StaleScoreTableError, match='dscores.npz'):
        run_b()
    assert ScoreTable.load(table).num_samples == 6
    hook = run_b(on_stale='recompute')  # unless the user says so
    assert hook.num_computed == 1
    assert ScoreTable.load(table).num_samples == 8


_HOLDER = textwrap.dedent('''
    import importlib.util, sys
    spec = importlib.util.spec_from_file_location('lock', sys.argv[1])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.WorkDirLock(sys.argv[2]).acquire()
    print('ready', flush=True)
    sys.stdin.read()
''')


def test_two_sweeps_into_one_out_folder_do_not_both_run(tmp_path):
    """``tools/analysis/ddl_sweep.py --out DIR`` holds ``DIR/sweep.lock``:
    a second sweep into DIR stops before running anything."""
    import importlib.util

    import mmddl.engine.lock as lock_mod
    spec = importlib.util.spec_from_file_location(
        'ddl_sweep_tool', osp.join(REPO, 'tools', 'analysis', 'ddl_sweep.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = str(tmp_path / 'sweep')
    holder = subprocess.Popen(
        [sys.executable, '-c', _HOLDER, lock_mod.__file__,
         osp.join(out, 'sweep.lock')],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'ready'
        with pytest.raises(LockHeldError) as e:
            tool.main(['missing_cfg.py', 'missing.pth', '--out', out])
        assert f'pid {holder.pid}' in str(e.value)
        assert 'another --out' in str(e.value)
        assert os.listdir(out) == ['sweep.lock']  # nothing written
    finally:
        holder.kill()
        holder.wait()


def test_table_in_a_read_only_folder_is_still_reused(tmp_path, monkeypatch):
    """The table lock beside a shared read-only table cannot be created:
    the table is reused with a warning (a write to it would still fail,
    naming it)."""
    import mmddl.engine.discriminability_pass as dp
    ann, ckpt = str(tmp_path / 'ann.txt'), str(tmp_path / 'base.pth')
    table = str(tmp_path / 'shared' / 'dscores.npz')
    with open(ann, 'w') as f:
        f.write('toy\n')
    save_toy_checkpoint(ckpt)
    runner = toy_runner(str(tmp_path / 'work'), ann, 6)
    toy_hook(ckpt, table=dict(file=table)).before_train(runner)
    real_open = os.open

    def read_only(path, flags, *args):
        if str(path) == table + '.lock':
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)
        return real_open(path, flags, *args)

    logged = []
    monkeypatch.setattr(os, 'open', read_only)
    monkeypatch.setattr(dp, 'print_log', lambda msg, **kw: logged.append(msg))
    hook = toy_hook(ckpt, table=dict(file=table))
    hook.before_train(runner)
    assert hook.num_computed == 0
    assert any('not locking the D-score table' in m and 'Read-only' in m
               for m in logged), logged
