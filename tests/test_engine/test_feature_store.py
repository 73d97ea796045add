"""FeatureStore (atomic, resumable shards) and the resumable pass."""
import json
import os
import os.path as osp

import numpy as np
import pytest

import mmddl  # noqa: F401
from mmddl.engine import feature_store as fs_mod
from mmddl.engine.candidates import SampleRange
from mmddl.engine.discriminability_pass import (compute_score_table,
                                                store_fingerprint)
from mmddl.engine.feature_store import FeatureStore
from mmddl.structures.score_table import ScoreTable
from scale_testutils import (KILL_AT, LOADED, REF_TOL, SimulatedKill, ToyClipDataset,
                             assert_tables_close, reference_table,
                             save_toy_checkpoint, toy_hook, toy_model,
                             toy_runner)


def _shard(n=7, d=3, seed=0):
    rng = np.random.RandomState(seed)
    return dict(feats=rng.randn(n, d).astype(np.float32),
                labels=rng.randint(0, 4, n),
                keys=[f'v{i // 2}.mp4' for i in range(n)],
                positions=rng.randint(0, 100, n))


def _write(store, sid=0, start=10, stop=14, **kw):
    data = dict(_shard(), **kw)
    store.write_shard(sid, start, stop, skipped=[dict(key='bad', reason='x')],
                      info=dict(clip_len=2), **data)
    return data


def test_roundtrip_and_streaming(tmp_path):
    store = FeatureStore(str(tmp_path), fingerprint=dict(a=1))
    data = _write(store)
    sh = store.open_shard(0)
    assert isinstance(sh.feats, np.memmap) and not sh.feats.flags.writeable
    np.testing.assert_array_equal(sh.feats, data['feats'])
    np.testing.assert_array_equal(sh.labels, data['labels'])
    np.testing.assert_array_equal(sh.positions, data['positions'])
    assert sh.keys.tolist() == data['keys']
    assert (sh.start, sh.stop, sh.dim, len(sh)) == (10, 14, 3, 7)
    assert sh.skipped == [dict(key='bad', reason='x')]
    assert sh.info == dict(clip_len=2)
    for chunk in (1, 3, 7, 100):
        parts = list(sh.iter_feature_chunks(chunk))
        assert [lo for lo, _ in parts] == list(range(0, 7, chunk))
        np.testing.assert_array_equal(np.concatenate([p for _, p in parts]),
                                      data['feats'])
    assert store.finished_shards() == [0]
    assert store.check_shard(0, 10, 14) == (store.load_manifest(0),
                                            'finished')


def test_empty_shard(tmp_path):
    store = FeatureStore(str(tmp_path))
    store.write_shard(3, 0, 2, np.zeros((0, 0)), [], [], [],
                      skipped=[dict(key='a', reason='r')])
    sh = store.open_shard(3)
    assert len(sh) == 0 and sh.dim == 0
    assert list(sh.iter_feature_chunks(4)) == []


def test_unfinished_shards_are_never_taken(tmp_path):
    store = FeatureStore(str(tmp_path), fingerprint=dict(ckpt='A'))
    _write(store)
    folder = store.shard_dir(0)
    # wrong range / stale fingerprint / other store format
    assert 'expected [0, 4)' in store.check_shard(0, 0, 4)[1]
    other = FeatureStore(str(tmp_path), fingerprint=dict(ckpt='B'))
    assert not other.is_finished(0)
    assert 'other data' in other.check_shard(0)[1]
    # truncated feature file (killed while copying, disk full ...)
    feats = osp.join(folder, 'feats.npy')
    with open(feats, 'r+b') as f:
        f.truncate(osp.getsize(feats) - 4)
    man, why = store.check_shard(0)
    assert man is None and 'feats.npy has' in why
    with pytest.raises(FileNotFoundError, match='not finished'):
        store.open_shard(0)
    # same size, other bytes: sha256 verification (the default) sees it
    _write(store)
    with open(feats, 'r+b') as f:
        f.seek(-4, 2)
        f.write(b'\x00\x00\x80\x7f')
    assert 'content differs' in store.check_shard(0)[1]
    assert FeatureStore(str(tmp_path), dict(ckpt='A'),
                        verify='size').is_finished(0)
    # unreadable / missing manifest
    with open(osp.join(folder, 'manifest.json'), 'w') as f:
        f.write('{"format": 1, "shard_')
    assert 'unreadable manifest' in store.check_shard(0)[1]
    os.remove(osp.join(folder, 'manifest.json'))
    assert 'no manifest' in store.check_shard(0)[1]
    assert store.finished_shards() == []


def test_interrupted_rewrite_leaves_no_finished_shard(tmp_path, monkeypatch):
    store = FeatureStore(str(tmp_path))
    _write(store)
    assert store.is_finished(0)
    real = fs_mod.atomic_write_bytes

    def dying(path, writer):
        if path.endswith('positions.npy'):
            raise SimulatedKill('killed mid-write')
        real(path, writer)

    monkeypatch.setattr(fs_mod, 'atomic_write_bytes', dying)
    with pytest.raises(SimulatedKill):
        _write(store, **_shard(seed=1))
    # new feats + old positions on disk: the old manifest must be gone
    assert not store.is_finished(0)
    assert not osp.exists(osp.join(store.shard_dir(0), 'manifest.json'))
    monkeypatch.setattr(fs_mod, 'atomic_write_bytes', real)
    data = _write(store, **_shard(seed=1))
    np.testing.assert_array_equal(store.open_shard(0).feats, data['feats'])
    assert not [n for n in os.listdir(store.shard_dir(0))
                if n.startswith('.tmp-')]


def test_atomic_write_removes_temp_on_failure(tmp_path):
    path = str(tmp_path / 'x.npy')

    def bad(f):
        f.write(b'partial')
        raise OSError('disk full')

    with pytest.raises(OSError, match='disk full'):
        fs_mod.atomic_write_bytes(path, bad)
    assert os.listdir(tmp_path) == []


def test_write_rejects_bad_input(tmp_path):
    store = FeatureStore(str(tmp_path))
    d = _shard()
    with pytest.raises(ValueError, match='labels has 6 rows'):
        store.write_shard(0, 0, 1, d['feats'], d['labels'][:6], d['keys'],
                          d['positions'])
    bad = d['feats'].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match='NaN'):
        store.write_shard(0, 0, 1, bad, d['labels'], d['keys'],
                          d['positions'])
    with pytest.raises(ValueError, match='verify'):
        FeatureStore(str(tmp_path), verify='md5')


def test_sample_range_forwards_indices():
    ds = ToyClipDataset(10)
    part = SampleRange(ds, 4, 7)
    assert len(part) == 3
    assert part.get_data_info(0) == ds.get_data_info(4)
    part[2]
    assert ds.calls == [6]
    with pytest.raises(IndexError):
        part[3]
    with pytest.raises(ValueError, match='outside'):
        SampleRange(ds, 5, 11)


@pytest.mark.parametrize('metric', ['cosine', 'euclidean'])
def test_killed_pass_resumes_to_identical_table(tmp_path, metric):
    n, size, fail = 19, 4, (2, 13)
    model = toy_model()
    full = compute_score_table(
        model, ToyClipDataset(n, fail_at=fail), str(tmp_path / 'ref'),
        metric=metric, shard_size=size, batch_size=3, progress=False)
    store = str(tmp_path / 'store')
    ds = ToyClipDataset(n, fail_at=fail, kill_at=10)  # in shard 2
    with pytest.raises(SimulatedKill):
        compute_score_table(model, ds, store, metric=metric,
                                    shard_size=size, batch_size=3,
                                    progress=False)
    fp = store_fingerprint(None, size, 'neck', n)
    assert FeatureStore(store, fp).finished_shards() == [0, 1]
    ds = ToyClipDataset(n, fail_at=fail)
    out = str(tmp_path / 'table.npz')
    resumed = compute_score_table(model, ds, store, metric=metric,
                                          shard_size=size, batch_size=3,
                                          out_file=out, progress=False)
    # shards 2..4, and sample 2 of shard 0 (it had failed) is retried once
    assert sorted(set(ds.calls)) == [2] + list(range(8, n))
    for a in ('keys', 'positions', 'labels', 'raw', 'dscores'):
        np.testing.assert_array_equal(getattr(resumed, a), getattr(full, a))
    assert (resumed.mean, resumed.std) == (full.mean, full.std)
    assert_tables_close(resumed, ScoreTable.load(out), tol=0)


def test_stale_store_is_recomputed(tmp_path):
    model = toy_model()
    store = str(tmp_path / 'store')
    compute_score_table(model, ToyClipDataset(9), store,
                                shard_size=4, fingerprint=dict(ckpt='A'),
                                progress=False)
    ds = ToyClipDataset(9)
    compute_score_table(model, ds, store, shard_size=4,
                                fingerprint=dict(ckpt='B'), progress=False)
    assert sorted(set(ds.calls)) == list(range(9))
    # another metric reuses the features (they do not depend on it)
    ds = ToyClipDataset(9)
    t = compute_score_table(model, ds, store, shard_size=4,
                                    metric='euclidean',
                                    fingerprint=dict(ckpt='B'),
                                    progress=False)
    assert ds.calls == [] and t.metric == 'euclidean'
    with open(osp.join(store, 'shard_000000', 'manifest.json')) as f:
        assert json.load(f)['fingerprint']['table'] == dict(ckpt='B')


def test_no_scorable_element_raises(tmp_path):
    with pytest.raises(RuntimeError, match='no element could be scored'):
        compute_score_table(toy_model(),
                                    ToyClipDataset(3, fail_at=(0, 1, 2)),
                                    str(tmp_path), shard_size=2,
                                    progress=False)


def test_hook_resumes_a_killed_pass(tmp_path):
    """DiscriminabilityHook: kill, rerun -> only unfinished shards run."""
    n, fail = 19, (2, 13)
    ann, ckpt = str(tmp_path / 'ann.txt'), str(tmp_path / 'ckpt.pth')
    with open(ann, 'w') as f:
        f.write('toy\n')
    save_toy_checkpoint(ckpt)
    work = str(tmp_path / 'work')
    runner = toy_runner(work, ann, n, fail)
    del LOADED[:]
    KILL_AT[0] = 10
    try:
        with pytest.raises(SimulatedKill):
            toy_hook(ckpt).before_train(runner)
    finally:
        KILL_AT[0] = None
    table_file = osp.join(work, 'dscore_table.npz')
    assert not osp.exists(table_file)
    store_dir = osp.join(work, 'dscore_features')
    assert sorted(os.listdir(store_dir)) == ['shard_000000', 'shard_000001']
    del LOADED[:]
    hook = toy_hook(ckpt, compute=dict(keep_features=True))
    hook.before_train(runner)
    # shards 2..4 only (+ one load of failed sample 2: still fails)
    assert sorted(set(LOADED)) == [2] + list(range(8, n))
    assert hook.num_computed == 1 and osp.isdir(store_dir)
    assert runner.train_dataloader.dataset.pipeline[0].table_file == \
        table_file
    ref = compute_score_table(
        toy_model(), ToyClipDataset(n, fail_at=fail), str(tmp_path / 'ref'),
        shard_size=4, batch_size=2, progress=False)
    table = ScoreTable.load(table_file)
    for a in ('keys', 'positions', 'labels', 'raw', 'dscores'):
        np.testing.assert_array_equal(getattr(table, a), getattr(ref, a))
    # a third run reuses the table; with reuse=False it recomputes from the
    # kept shards (only the two failed samples are loaded again, and still
    # fail) and then deletes them
    del LOADED[:]
    hook = toy_hook(ckpt, table=dict(reuse=False))
    hook.before_train(runner)
    assert LOADED == [2, 13] and hook.num_computed == 1
    assert not osp.exists(store_dir)


def test_one_loader_with_workers_across_shards(tmp_path):
    """A worker-backed loader spans all pending shards; batches never
    straddle a shard, so the table equals the sample-by-sample reference."""
    n, fail = 14, (4, )
    model = toy_model()
    sharded = compute_score_table(
        model, ToyClipDataset(n, fail_at=fail), str(tmp_path), shard_size=5,
        batch_size=3, num_workers=1, progress=False)
    plain = reference_table(ToyClipDataset(n, fail_at=fail), model)
    assert_tables_close(sharded, plain, tol=REF_TOL)
    fp = store_fingerprint(None, 5, 'neck', n)
    man = FeatureStore(str(tmp_path), fp).load_manifest(0)
    assert (man['start'], man['stop'], man['num_elements']) == (0, 5, 12)
    assert man['skipped'][0]['key'] == 'sample_0004.mp4'
