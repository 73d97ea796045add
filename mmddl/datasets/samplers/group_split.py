"""GroupSplitSampler: a deterministic held-out split of a data set's groups
(videos, identities) for DDNet validation; the other groups train."""
import hashlib
import math
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Set, Tuple

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.registry import DATA_SAMPLERS
from torch.utils.data import Sampler

SPLITS = ('train', 'val')


def group_rank(group: str) -> str:
    """The sort key placing a group in the held-out order (SHA-1 of its id:
    independent of the data order and of the other groups)."""
    return hashlib.sha1(group.encode('utf-8')).hexdigest()


def _relative(ids: List[str]) -> List[str]:
    """File-path ids relative to their common folder (so the split does not
    change when the data moves); other ids as they are."""
    if len(ids) > 1 and all('/' in i for i in ids):
        common = osp.commonpath(ids) if all(
            osp.isabs(i) == osp.isabs(ids[0]) for i in ids) else ''
        if common:
            return [osp.relpath(i, common) for i in ids]
    return list(ids)


def held_out_groups(groups: Sequence[str], val_fraction: float) -> Set[str]:
    """The ``max(1, round(val_fraction * G))`` groups of lowest SHA-1 (of
    the id, relative to the ids' common folder when they are file paths).

    Args:
        groups (Sequence[str]): group ids (repeats allowed).
        val_fraction (float): share of the groups held out, in (0, 1).

    Returns:
        Set[str]: the held-out group ids.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f'val_fraction must be in (0, 1), got {val_fraction}')
    ids = sorted(set(groups))
    rank = dict(zip(ids, (group_rank(r) for r in _relative(ids))))
    unique = sorted(ids, key=lambda g: (rank[g], g))
    if len(unique) < 2:
        raise ValueError(f'cannot hold out groups of a data set with '
                         f'{len(unique)} group(s); at least 2 are needed')
    n = min(len(unique) - 1, max(1, int(round(val_fraction * len(unique)))))
    return set(unique[:n])


def sample_groups(dataset, group_by: str) -> List[str]:
    """The group id (``str(info[group_by])``) of every sample.

    Args:
        dataset (BaseDataset): a data set with ``get_data_info``.
        group_by (str): the data-info field naming the group.

    Returns:
        List[str]: one id per sample.
    """
    get_info = getattr(dataset, 'get_data_info', None)
    if get_info is None:
        raise TypeError(f'{type(dataset).__name__} has no get_data_info(); '
                        'GroupSplitSampler needs the samples\' infos')
    out = []
    for i in range(len(dataset)):
        info = get_info(i)
        if group_by not in info:
            raise KeyError(
                f'GroupSplitSampler: sample {i} of {type(dataset).__name__} '
                f'has no field {group_by!r} to group by (fields: '
                f'{sorted(info)})')
        value = info[group_by]
        if hasattr(value, 'tolist'):
            value = value.tolist()
        out.append(str(value))
    return out


def split_indices(dataset, val_fraction: float,
                  group_by: str) -> Tuple[List[int], List[int], Set[str]]:
    """Train and held-out sample indices of ``dataset``.

    Args:
        dataset (BaseDataset): the training data set.
        val_fraction (float): share of the groups held out.
        group_by (str): the data-info field naming the group.

    Returns:
        Tuple[List[int], List[int], Set[str]]: train indices, held-out
        indices and the held-out group ids.
    """
    groups = sample_groups(dataset, group_by)
    val = held_out_groups(groups, val_fraction)
    train_idx = [i for i, g in enumerate(groups) if g not in val]
    val_idx = [i for i, g in enumerate(groups) if g in val]
    return train_idx, val_idx, val


@DATA_SAMPLERS.register_module()
class GroupSplitSampler(Sampler):
    """:class:`mmengine.dataset.DefaultSampler` over one side of a held-out
    split of the data set's groups.

    The ``max(1, round(val_fraction * G))`` groups with the lowest SHA-1 of
    their id (``group_by`` field of the sample infos: ``'filename'`` for
    videos, ``'gt_label'`` for identities) are held out, so a video or an
    identity is never on both sides. ``split='train'`` yields the others
    (the DDNet trains on them), ``split='val'`` the held-out ones.

    Args:
        dataset (BaseDataset): the data set.
        split (str): ``'train'`` or ``'val'``.
        val_fraction (float): share of the groups held out, in (0, 1).
        group_by (str): the data-info field naming a sample's group.
        shuffle (bool): shuffle every epoch (as DefaultSampler).
        seed (int, optional): shuffle seed; default: a synced random one.
        round_up (bool): pad so that every rank gets as many samples
            (as DefaultSampler; keep False for validation).
    """

    def __init__(self,
                 dataset,
                 split: str = 'train',
                 val_fraction: float = 0.1,
                 group_by: str = 'filename',
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 round_up: bool = True) -> None:
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        self.rank, self.world_size = get_dist_info()
        self.dataset, self.split = dataset, split
        self.val_fraction, self.group_by = val_fraction, group_by
        self.shuffle, self.round_up = shuffle, round_up
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        train_idx, val_idx, self.val_groups = split_indices(
            dataset, val_fraction, group_by)
        self.indices = train_idx if split == 'train' else val_idx
        self.excluded: List[Tuple[int, str]] = []

    def exclude(self, indices: Sequence[int], reason: str) -> int:
        """Drop samples of this side (e.g. ones the score table skipped).

        Args:
            indices (Sequence[int]): data set indices.
            reason (str): why, kept in :attr:`excluded`.

        Returns:
            int: how many were dropped from this side.
        """
        drop = set(indices) & set(self.indices)
        self.indices = [i for i in self.indices if i not in drop]
        self.excluded += [(i, reason) for i in sorted(drop)]
        if not self.indices:
            raise ValueError(f'GroupSplitSampler: no {self.split} sample is '
                             f'left after excluding {len(drop)} ({reason})')
        return len(drop)

    @property
    def num_samples(self) -> int:
        """Samples of this rank."""
        n = len(self.indices)
        if self.round_up:
            return math.ceil(n / self.world_size)
        return math.ceil((n - self.rank) / self.world_size)

    def __iter__(self) -> Iterator[int]:
        n = len(self.indices)
        if self.shuffle:
            g = torch.Generator()
            g.manual_seed(self.seed + self.epoch)
            order = torch.randperm(n, generator=g).tolist()
        else:
            order = list(range(n))
        total = n
        if self.round_up:
            total = self.num_samples * self.world_size
            order = (order * int(total / max(n, 1) + 1))[:total]
        return iter(
            [self.indices[j] for j in order[self.rank:total:self.world_size]])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch (the shuffle order follows it).

        Args:
            epoch (int): the epoch.
        """
        self.epoch = epoch
