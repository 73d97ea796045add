"""PKSampler: P distinct identities x K instances per batch."""
from collections import Counter

import mmddl  # noqa: F401  (compat fixes, registration)

# isort: split
import numpy as np
import pytest
import torch
from mmengine.dataset import BaseDataset
from mmengine.registry import DATA_SAMPLERS

import mmddl.datasets.samplers.pk_sampler as pk_module
from mmddl.datasets.samplers import PKSampler



class ToyReID(BaseDataset):
    """Items with a ``pid`` (and ``gt_label``) and a tiny image."""

    def __init__(self, counts, **kwargs):
        self.counts = counts
        super().__init__(serialize_data=False, **kwargs)

    def load_data_list(self):
        infos = []
        for pid, n in enumerate(self.counts):
            for _ in range(n):
                infos.append(
                    dict(pid=pid * 10,
                         gt_label=pid,
                         img=np.full((8, 4, 3), pid, np.uint8)))
        return infos


COUNTS = [9, 4, 4, 2, 5, 8, 1, 4]  # identity 6 has fewer than K = 4 items


def _batches(sampler):
    idx = list(sampler)
    assert len(idx) == len(sampler)
    b = sampler.batch_size
    return [idx[i:i + b] for i in range(0, len(idx), b)]


def test_batches_have_p_ids_times_k():
    ds = ToyReID(COUNTS)
    sampler = DATA_SAMPLERS.build(dict(type='PKSampler',
                                       batch_size=12,
                                       num_instances=4,
                                       label_key='pid',
                                       seed=3),
                                  default_args=dict(dataset=ds))
    assert isinstance(sampler, PKSampler)
    # chunks: 2+1+1+1(completed)+1+2+1(completed)+1 = 10 -> 10 // 3 batches
    assert len(sampler) == 3 * 12
    pids = [ds.get_data_info(i)['pid'] for i in range(len(ds))]
    for batch in _batches(sampler):
        per_id = Counter(pids[i] for i in batch)
        assert len(per_id) == 3 and set(per_id.values()) == {4}
    # an identity's items are not repeated within a batch unless it has < K
    for batch in _batches(sampler):
        for pid, c in Counter(pids[i] for i in batch).items():
            items = [i for i in batch if pids[i] == pid]
            if COUNTS[pid // 10] >= 4:
                assert len(set(items)) == c


def test_deterministic_and_epoch_dependent():
    ds = ToyReID(COUNTS)
    a = PKSampler(ds, batch_size=8, num_instances=2, seed=0)
    b = PKSampler(ds, batch_size=8, num_instances=2, seed=0)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    # leftover chunks vary per epoch, so a few epochs see every item
    seen = set()
    for epoch in range(10):
        a.set_epoch(epoch)
        seen |= set(a)
    assert seen == set(range(len(ds)))


def test_distributed_ranks_split_batches(monkeypatch):
    ds = ToyReID(COUNTS)
    full = PKSampler(ds, batch_size=8, num_instances=2, seed=5)
    monkeypatch.setattr(pk_module, 'get_dist_info', lambda: (0, 2))
    r0 = PKSampler(ds, batch_size=8, num_instances=2, seed=5)
    monkeypatch.setattr(pk_module, 'get_dist_info', lambda: (1, 2))
    r1 = PKSampler(ds, batch_size=8, num_instances=2, seed=5)
    assert len(r0) == len(r1) == (len(full) // 8 // 2) * 8
    global_batches = r0._epoch_batches()
    assert _batches(r0) == global_batches[0::2]
    assert _batches(r1) == global_batches[1::2]


def test_bad_inputs():
    ds = ToyReID(COUNTS)
    with pytest.raises(ValueError, match='multiple'):
        PKSampler(ds, batch_size=10, num_instances=4)
    with pytest.raises(ValueError, match='identities'):
        PKSampler(ds, batch_size=40, num_instances=4)
    with pytest.raises(KeyError, match='camid'):
        PKSampler(ds, batch_size=8, num_instances=4, label_key='camid')


def test_runner_builds_pk_dataloader():
    """The sampler works through mmengine's dataloader construction."""
    from mmengine.runner import Runner
    ds = ToyReID(COUNTS, pipeline=[dict(type='mmpretrain.PackInputs')])
    loader = Runner.build_dataloader(dict(
        batch_size=8,
        num_workers=0,
        dataset=ds,
        sampler=dict(type='PKSampler', batch_size=8, num_instances=2),
        collate_fn=dict(type='default_collate')),
                                     seed=1)
    batch = next(iter(loader))
    labels = torch.cat([d.gt_label for d in batch['data_samples']])
    assert sorted(Counter(labels.tolist()).values()) == [2, 2, 2, 2]
    assert batch['inputs'].shape == (8, 3, 8, 4)
