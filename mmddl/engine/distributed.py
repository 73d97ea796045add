"""Rank sharding and collectives of the discriminability pass.

Without a process group each function gives the single-process answer."""
from typing import Any, Dict, List, Optional, Tuple

import torch
from mmengine import dist


def dist_info() -> Tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` without a process group."""
    return dist.get_dist_info()


def shard_ranges(num_samples: int, shard_size: int) -> List[Tuple[int, int]]:
    """Contiguous ``[start, stop)`` sample ranges of ``shard_size`` samples.

    Shard ids depend on the dataset and ``shard_size`` only, never on the
    world size, so finished shards are reused by a rerun with any number of
    processes (``tools/dist_train.sh`` = torchrun, ``tools/slurm_train.sh``
    = srun), and concatenating the shards in id order gives exactly the
    single-process element order; shard ``j`` goes to rank
    ``j % world_size`` (:func:`rank_shards`).

    Args:
        num_samples (int): dataset length S (>= 0).
        shard_size (int): samples per shard (>= 1); the last shard may be
            shorter.

    Returns:
        ``ceil(S / shard_size)`` ranges covering ``[0, S)`` in order.
    """
    if shard_size < 1:
        raise ValueError(f'shard_size must be >= 1, got {shard_size}')
    if num_samples < 0:
        raise ValueError(f'num_samples must be >= 0, got {num_samples}')
    return [(lo, min(lo + shard_size, num_samples))
            for lo in range(0, num_samples, shard_size)]


def rank_shards(num_shards: int,
                rank: Optional[int] = None,
                world_size: Optional[int] = None) -> List[int]:
    """Shard ids of ``rank``: ``rank, rank + world_size, ...`` (round robin).

    Round robin (not one contiguous block per rank) balances ranks when the
    cost varies along the data list (lists sorted by class or length).

    Args:
        num_shards (int): number of shards.
        rank (int, optional): defaults to this process's rank.
        world_size (int, optional): defaults to the number of processes.
    """
    r, w = dist_info()
    rank = r if rank is None else rank
    world_size = w if world_size is None else world_size
    if not 0 <= rank < world_size:
        raise ValueError(f'rank {rank} not in [0, {world_size})')
    return list(range(rank, num_shards, world_size))


def all_reduce_centroid_sums(sums: torch.Tensor, counts: torch.Tensor
                             ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Sum per-class feature sums and counts over all ranks (in place).

    Every rank must call it with tensors of the same shape (same K and d).
    Sums should be float64 (the reduction order then changes the centroids
    by ~1e-16 relative, far below what Eq. 2-4 can resolve).

    Args:
        sums (torch.Tensor): (K, d) per-class feature sums of this rank's
            elements.
        counts (torch.Tensor): (K,) int64 per-class element counts.

    Returns:
        ``(sums, counts)`` of the whole data set (the same tensors).
    """
    if sums.dim() != 2 or counts.dim() != 1 or \
            sums.shape[0] != counts.shape[0]:
        raise ValueError(f'sums must be (K, d) and counts (K,), got '
                         f'{tuple(sums.shape)} and {tuple(counts.shape)}')
    _check_same_shape(sums, 'centroid sums')
    dist.all_reduce(sums, op='sum')
    dist.all_reduce(counts, op='sum')
    return sums, counts


def _check_same_shape(t: torch.Tensor, what: str) -> None:
    """Raise on every rank if ranks disagree about ``t``'s shape."""
    if dist.get_world_size() == 1:
        return
    shapes = dist.all_gather_object(tuple(t.shape))
    if len(set(shapes)) != 1:
        raise ValueError(f'ranks disagree about the shape of the {what}: '
                         f'{shapes} (is num_classes / the feature dim the '
                         'same on every rank?)')


def all_reduce_max(value: int) -> int:
    """The maximum of an integer over all ranks (``value`` without a group)."""
    t = torch.tensor([int(value)], dtype=torch.int64)
    dist.all_reduce(t, op='max')
    return int(t.item())


def gather_shard_results(local: Dict[int, Any],
                         num_shards: int,
                         dst: Optional[int] = 0) -> Optional[Dict[int, Any]]:
    """Collect per-shard results of all ranks, checked and keyed by shard id.

    Uses ``mmengine.dist.all_gather_object`` (works on gloo and NCCL).

    Args:
        local (Dict[int, Any]): ``{shard_id: result}`` of this rank.
        num_shards (int): total number of shards; every id in ``[0,
            num_shards)`` must come from exactly one rank.
        dst (int, optional): the rank that gets the result (others get None);
            ``None`` returns it on every rank.

    Returns:
        ``{shard_id: result}`` of all shards (insertion order = id order).
    """
    parts = dist.all_gather_object(local)
    rank, _ = dist_info()
    if dst is not None and rank != dst:
        return None
    merged: Dict[int, Any] = {}
    for part in parts:
        for sid, res in part.items():
            if sid in merged:
                raise RuntimeError(f'shard {sid} was scored by two ranks')
            merged[sid] = res
    missing = sorted(set(range(num_shards)) - set(merged))
    if missing:
        raise RuntimeError(f'no rank returned shards {missing[:10]}'
                           f'{" ..." if len(missing) > 10 else ""}')
    return {sid: merged[sid] for sid in range(num_shards)}


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """``obj`` of rank ``src`` on every rank (itself without a group)."""
    if dist.get_world_size() == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def barrier() -> None:
    """Wait for every rank (no-op without a process group)."""
    dist.barrier()
