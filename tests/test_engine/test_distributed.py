"""Distributed discriminability pass: 2 gloo processes == 1 process."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

import mmddl  # noqa: F401
from mmddl.engine import compute_score_table
from mmddl.engine.distributed import (all_reduce_centroid_sums,
                                      all_reduce_max, broadcast_object,
                                      dist_info, gather_shard_results,
                                      rank_shards, shard_ranges)
from mmddl.structures.score_table import ScoreTable
from scale_testutils import (REF_TOL, ToyClipDataset, assert_tables_close,
                             dist_worker, reference_table,
                             save_toy_checkpoint, toy_model)

N, FAIL, SHARD = 23, (5, 17), 4  # 6 shards; rank 0 gets 0,2,4, rank 1 1,3,5


@pytest.mark.parametrize('num,size', [(0, 3), (1, 3), (9, 3), (10, 3),
                                      (23, 4), (5, 100)])
def test_shard_ranges_cover_in_order(num, size):
    ranges = shard_ranges(num, size)
    covered = [i for lo, hi in ranges for i in range(lo, hi)]
    assert covered == list(range(num))
    assert all(0 < hi - lo <= size for lo, hi in ranges)
    assert len(ranges) == -(-num // size)


@pytest.mark.parametrize('world', [1, 2, 3, 7])
def test_rank_shards_partition(world):
    parts = [rank_shards(10, r, world) for r in range(world)]
    assert sorted(sum(parts, [])) == list(range(10))
    for r, p in enumerate(parts):
        assert all(s % world == r for s in p)


def test_bad_arguments():
    with pytest.raises(ValueError, match='shard_size'):
        shard_ranges(5, 0)
    with pytest.raises(ValueError, match='rank 2'):
        rank_shards(5, 2, 2)
    with pytest.raises(ValueError, match=r'\(K, d\)'):
        all_reduce_centroid_sums(torch.zeros(3), torch.zeros(3))


def test_noops_without_process_group():
    assert dist_info() == (0, 1)
    sums = torch.arange(6, dtype=torch.float64).view(3, 2)
    counts = torch.tensor([1, 0, 2])
    s, c = all_reduce_centroid_sums(sums.clone(), counts.clone())
    assert torch.equal(s, sums) and torch.equal(c, counts)
    assert all_reduce_max(4) == 4
    assert broadcast_object({'a': 1}) == {'a': 1}
    out = gather_shard_results({1: 'b', 0: 'a'}, 2)
    assert list(out.items()) == [(0, 'a'), (1, 'b')]  # id order
    with pytest.raises(RuntimeError, match=r'shards \[2\]'):
        gather_shard_results({0: 'a', 1: 'b'}, 3)


@pytest.fixture(scope='module')
def two_proc(tmp_path_factory):
    """Run the sharded pass in 2 gloo processes (tables on rank 0)."""
    root = str(tmp_path_factory.mktemp('dist'))
    with open(osp.join(root, 'ann.txt'), 'w') as f:
        f.write('toy data list\n')
    save_toy_checkpoint(osp.join(root, 'ckpt.pth'))
    mp.spawn(dist_worker, args=(2, osp.join(root, 'pg_init'), root, N, FAIL,
                                SHARD), nprocs=2, join=True)
    ranks = []
    for r in range(2):
        with open(osp.join(root, f'rank{r}.json')) as f:
            ranks.append(json.load(f))
    return root, ranks


def test_collectives_in_two_processes(two_proc):
    _, ranks = two_proc
    for res in ranks:  # independent sums: rank0 = 1s, rank1 = 2s
        assert res['sums'] == [[3.0, 3.0]] * 3
        assert res['counts'] == [1, 2, 0]
        assert res['gathered'] == {'0': 'from 0', '1': 'from 1'}
        assert res['max'] == 13


def test_progress_is_logged_by_rank_0_only(two_proc):
    _, ranks = two_proc
    lines = ranks[0]['progress']
    assert not ranks[1]['progress'] and lines
    # rank 1's log exists and has its own (timing) lines
    assert ranks[1]['own'] and ranks[0]['own']
    # rank 0 counts its own shards (every other one) and reaches 100 %
    assert 'DDL pass (rank 0/2, ' in lines[0]
    assert '(100%' in lines[-1] and 'ETA 0:00:00' in lines[-1]


def test_each_rank_loads_only_its_shards(two_proc):
    _, ranks = two_proc
    ranges = shard_ranges(N, SHARD)
    for r, res in enumerate(ranks):
        expect = sorted(i for s in range(r, len(ranges), 2)
                        for i in range(*ranges[s]))
        assert res['calls'] == expect


@pytest.mark.parametrize('metric', ['cosine', 'euclidean'])
def test_two_processes_equal_one_process(two_proc, tmp_path, metric):
    root, _ = two_proc
    two = ScoreTable.load(osp.join(root, f'table_{metric}.npz'))
    ds = ToyClipDataset(N, fail_at=FAIL)
    model = toy_model()
    one = compute_score_table(model, ds, str(tmp_path / 'store'),
                              metric=metric, shard_size=SHARD, batch_size=2,
                              progress=False)
    # sample by sample, Eq. 2-4 in numpy
    plain = reference_table(ToyClipDataset(N, fail_at=FAIL), model, metric)
    assert_tables_close(two, one, tol=1e-6)
    assert_tables_close(two, plain, tol=REF_TOL)
    assert len(two) == 3 * (N - len(FAIL))
    assert [s['key'] for s in two.skipped] == [
        f'sample_{i:04d}.mp4' for i in FAIL]
    assert np.isfinite(two.raw).all() and two.std > 0


def test_resume_with_another_world_size(two_proc, tmp_path):
    """1 process reuses every shard the 2 processes wrote."""
    root, _ = two_proc
    ds = ToyClipDataset(N, fail_at=FAIL)
    again = compute_score_table(toy_model(), ds, osp.join(root, 'store'),
                                shard_size=SHARD, batch_size=2,
                                progress=False)
    # nothing re-extracted; only the failed samples are loaded again
    assert sorted(set(ds.calls)) == sorted(FAIL)
    assert_tables_close(again, ScoreTable.load(
        osp.join(root, 'table_cosine.npz')), tol=1e-6)


def test_hook_under_two_processes(two_proc):
    """DiscriminabilityHook as under tools/dist_train.sh (2 gloo ranks)."""
    root, ranks = two_proc
    ranges = shard_ranges(N, SHARD)
    path = osp.join(root, 'work', 'dscore_table.npz')
    for r, res in enumerate(ranks):
        assert res['hook_calls'] == sorted(
            i for s in range(r, len(ranges), 2) for i in range(*ranges[s]))
        assert res['attached'] == path
        assert not res['store_left']  # keep_features=False
    # same table as the numpy reference
    plain = reference_table(ToyClipDataset(N, fail_at=FAIL), toy_model())
    table = ScoreTable.load(path)
    assert_tables_close(table, plain, tol=REF_TOL)
    assert table.fingerprint['sim_dtype'] == 'float32'
    # the stale table made both ranks raise (rank 1 with rank 0's message)
    assert ranks[0]['stale'].startswith('StaleScoreTableError: ')
    assert ranks[1]['stale'].startswith(
        'StaleScoreTableError: (from rank 0) ')
    assert 'metric' in ranks[1]['stale']
