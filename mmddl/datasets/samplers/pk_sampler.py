"""PK sampler: batches of P identities x K instances for triplet losses."""
from collections import defaultdict
from typing import Dict, Iterator, List, Optional, Sized

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.registry import DATA_SAMPLERS
from torch.utils.data import Sampler


def _labels_of(dataset: Sized, label_key: str) -> List:
    """Identity label of every dataset item, read from its data info."""
    if label_key == 'gt_label' and hasattr(dataset, 'get_gt_labels'):
        return [int(x) for x in dataset.get_gt_labels()]
    if not hasattr(dataset, 'get_data_info'):
        raise TypeError('PKSampler needs a dataset with `get_data_info` '
                        f'(got {type(dataset).__name__}).')
    labels = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        if label_key not in info:
            raise KeyError(f'PKSampler: item {i} of the dataset has no '
                           f'`{label_key}` field (set `label_key`).')
        label = info[label_key]
        labels.append(
            int(label) if np.ndim(label) ==
            0 else int(np.asarray(label).reshape(-1)[0]))
    return labels


@DATA_SAMPLERS.register_module()
class PKSampler(Sampler):
    """Yield batches of P identities x K instances of each (triplet losses).

    ``P = batch_size // num_instances`` and ``K = num_instances``. The epoch
    length is fixed; identities with fewer than K items are sampled with
    replacement; in distributed runs whole batches are dealt to the ranks.
    The dataloader's ``batch_size`` must equal ``batch_size``. The sampling
    scheme is described in ``docs/models.md``.

    Args:
        dataset (Sized): Dataset whose items carry an identity label.
        batch_size (int): P * K.
        num_instances (int): K, items per identity in a batch.
        label_key (str): Data-info field with the identity.
            Defaults to ``'gt_label'`` (``'pid'`` for re-ID infos).
        seed (int, optional): Random seed, synced across ranks if None.
    """

    def __init__(self,
                 dataset: Sized,
                 batch_size: int,
                 num_instances: int = 4,
                 label_key: str = 'gt_label',
                 seed: Optional[int] = None) -> None:
        if num_instances < 1 or batch_size % num_instances != 0:
            raise ValueError(f'batch_size ({batch_size}) must be a multiple '
                             f'of num_instances ({num_instances}).')
        self.dataset = dataset
        self.batch_size = batch_size
        self.num_instances = num_instances
        self.num_pids_per_batch = batch_size // num_instances
        self.rank, self.world_size = get_dist_info()
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0

        self.index_dic: Dict[int, List[int]] = defaultdict(list)
        for idx, pid in enumerate(_labels_of(dataset, label_key)):
            self.index_dic[pid].append(idx)
        self.pids = sorted(self.index_dic)
        if len(self.pids) < self.num_pids_per_batch:
            raise ValueError(
                f'PKSampler: the dataset has {len(self.pids)} identities, '
                f'fewer than P = {self.num_pids_per_batch} per batch.')
        num_chunks = sum(
            max(1,
                len(v) // num_instances) for v in self.index_dic.values())
        total_batches = num_chunks // self.num_pids_per_batch
        self.num_batches = total_batches // self.world_size
        if self.num_batches == 0:
            raise ValueError('PKSampler: not enough data for one batch per '
                             'rank.')

    def _chunks(self, rng: np.random.Generator, pid: int) -> List[List[int]]:
        """Shuffled K-chunks of one identity's indices."""
        idxs = self.index_dic[pid]
        k = self.num_instances
        if len(idxs) < k:
            return [rng.choice(idxs, size=k, replace=True).tolist()]
        perm = rng.permutation(idxs).tolist()
        return [perm[i:i + k] for i in range(0, len(perm) - k + 1, k)]

    def _epoch_batches(self) -> List[List[int]]:
        """All batches of the current epoch, identical on every rank."""
        rng = np.random.default_rng(self.seed + self.epoch)
        chunks = {pid: self._chunks(rng, pid) for pid in self.pids}
        p = self.num_pids_per_batch
        batches = []
        for _ in range(self.num_batches * self.world_size):
            avail = [pid for pid in self.pids if chunks[pid]]
            if len(avail) >= p:
                chosen = rng.choice(avail, size=p, replace=False).tolist()
            else:
                others = [pid for pid in self.pids if not chunks[pid]]
                extra = rng.choice(
                    others, size=p - len(avail), replace=False).tolist()
                for pid in extra:
                    chunks[pid] = self._chunks(rng, pid)
                chosen = avail + extra
            batch = []
            for pid in chosen:
                batch.extend(chunks[pid].pop())
            batches.append(batch)
        return batches

    def __iter__(self) -> Iterator[int]:
        """Indices of this rank's batches, batch after batch."""
        batches = self._epoch_batches()[self.rank::self.world_size]
        return iter([i for b in batches for i in b])

    def __len__(self) -> int:
        """Number of indices this rank yields per epoch."""
        return self.num_batches * self.batch_size

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch (reseeds the shuffling).

        Args:
            epoch (int): Epoch number.
        """
        self.epoch = epoch


__all__ = ['PKSampler']
