"""Training batches checked at the start: no empty split, no epoch without a
batch, no lone last sample through a BatchNorm that cannot normalise it."""
import math
from typing import Any, List, Optional, Tuple

from mmengine.dataset import InfiniteSampler
from mmengine.model import is_model_wrapper
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmddl.datasets.samplers.group_split import GroupSplitSampler
from .distributed import all_reduce_max, dist_info

#: Problem codes, in order of precedence (the highest over ranks counts).
OK, LONE_LAST, NO_BATCH, EMPTY = 0, 1, 2, 3


def training_batchnorms(model: nn.Module,
                        world_size: int = 1) -> List[Tuple[str, nn.Module]]:
    """The BatchNorm layers that normalise with batch statistics in training
    mode (after ``model.train()``, so ``norm_eval`` and frozen stages count
    as they will in training).

    Args:
        model (nn.Module): the model (wrapped or not).
        world_size (int): SyncBatchNorm layers pool the batch over the
            ranks, so they count only in a single process.

    Returns:
        List[Tuple[str, nn.Module]]: ``(name, layer)`` pairs.
    """
    was = model.training
    model.train()
    try:
        return [(name, m) for name, m in model.named_modules()
                if isinstance(m, _BatchNorm) and m.training
                and not (isinstance(m, nn.SyncBatchNorm) and world_size > 1)]
    finally:
        model.train(was)


def batch_problem(num_samples: int,
                  batch_size: int,
                  drop_last: bool,
                  infinite: bool = False,
                  max_iters: Optional[int] = None) -> int:
    """The problem code of one rank's training batches.

    Args:
        num_samples (int): samples of this rank per epoch.
        batch_size (int): samples per batch.
        drop_last (bool): the loader drops a last, smaller batch.
        infinite (bool): the sampler never ends (every batch is full).
        max_iters (int, optional): iterations of the whole run; a run that
            ends before the first epoch's last batch never meets it.

    Returns:
        int: :data:`EMPTY` (no sample), :data:`NO_BATCH` (``drop_last``
        with fewer samples than a batch), :data:`LONE_LAST` (the run meets
        a last batch of one sample while batches hold more) or :data:`OK`.
        A batch size of 1 is taken as chosen.
    """
    if num_samples == 0:
        return EMPTY
    if infinite:
        return OK
    if drop_last and num_samples < batch_size:
        return NO_BATCH
    reached = max_iters is None or max_iters >= math.ceil(
        num_samples / batch_size)
    if (not drop_last and batch_size > 1 and num_samples % batch_size == 1
            and reached):
        return LONE_LAST
    return OK


def other_batch_size(num_samples: int, batch_size: int) -> int:
    """The batch size nearest ``batch_size`` (> 1) that does not leave a
    last batch of one sample.

    Args:
        num_samples (int): samples per epoch.
        batch_size (int): the batch size that does.
    """
    for d in range(1, num_samples + batch_size):
        for b in (batch_size - d, batch_size + d):
            if b > 1 and num_samples % b != 1:
                return b
    return 2


class LoneBatchProbe:
    """Forward pre-hooks on BatchNorm layers that stop the first training
    forward when a layer sees one value per channel and sample: the lone
    last batch of the epoch would stop there (PyTorch: "Expected more than
    1 value per channel when training"). Each hook removes itself after the
    first training forward of its layer.

    Args:
        layers (List[Tuple[str, nn.Module]]): ``(name, BatchNorm)`` pairs.
        message (str): the error's text before the layer is named.
        fix (str): the error's text after it.
    """

    def __init__(self,
                 layers: List[Tuple[str, nn.Module]],
                 message: str,
                 fix: str = '') -> None:
        self.message, self.fix = message, fix
        self.handles = {
            name: m.register_forward_pre_hook(self._hook(name))
            for name, m in layers
        }

    def _hook(self, name: str):

        def hook(module: nn.Module, args: tuple) -> None:
            if not module.training or not args:
                return
            x = args[0]
            self.handles.pop(name).remove()
            per_sample = math.prod(x.shape[2:])
            if per_sample == 1:
                self.remove()
                raise ValueError(
                    f'{self.message}: the BatchNorm layer {name} sees 1 '
                    f'value per channel and sample (input '
                    f'{tuple(x.shape)}), so the last batch of every epoch, '
                    'which holds 1 sample, would stop training (PyTorch: '
                    '"Expected more than 1 value per channel when '
                    'training")' + self.fix)

        return hook

    def remove(self) -> None:
        """Remove the hooks not run yet."""
        for handle in self.handles.values():
            handle.remove()
        self.handles.clear()


def _split_text(sampler: Any, dataset: Any, n: int, world: int) -> str:
    """How many samples train, and why (the held-out split, the ranks)."""
    per_rank = f' per rank ({world} ranks)' if world > 1 else ''
    if isinstance(sampler, GroupSplitSampler):
        held = len(dataset) - len(sampler.indices)
        return (f'{n} training samples{per_rank}: the train side of '
                f'GroupSplitSampler ({len(dataset)} samples, {held} of them '
                f'in {len(sampler.val_groups)} group(s) held out for '
                f'validation, val_fraction={sampler.val_fraction})')
    return f'{n} training samples{per_rank} ({type(sampler).__name__})'


def check_train_batches(runner: Any) -> Optional[LoneBatchProbe]:
    """Check the training batches before any model runs.

    Every rank calls it (problems are all-reduced, so all ranks raise
    together). An empty training split and an epoch without a batch
    (``drop_last`` with fewer samples than a batch: the run would save an
    untrained model) raise now. When the last batch of an epoch holds one
    sample (and batches hold more), a :class:`LoneBatchProbe` on the
    BatchNorm layers stops the first training iteration if a layer could
    not normalise that lone sample (it sees one value per channel and
    sample); otherwise the run goes on.

    Args:
        runner (Runner): the runner, its train dataloader built.

    Returns:
        LoneBatchProbe | None: the probe, when one was installed.

    Raises:
        ValueError: naming the sample count, the split, the batch size and
            the fix.
    """
    loader = runner.train_dataloader
    batch_sampler = getattr(loader, 'batch_sampler', None)
    batch_size = getattr(batch_sampler, 'batch_size', None)
    sampler = getattr(batch_sampler, 'sampler', None) or getattr(
        loader, 'sampler', None)
    code, n = OK, None
    _, world = dist_info()
    if isinstance(batch_size, int) and batch_size >= 1:
        try:
            n = len(sampler)
        except TypeError:  # a sampler without a length
            n = None
    if n is not None:
        drop_last = bool(getattr(batch_sampler, 'drop_last', False))
        code = batch_problem(
            n, batch_size, drop_last, isinstance(sampler, InfiniteSampler),
            getattr(getattr(runner, 'train_loop', None), 'max_iters', None))
    worst = all_reduce_max(code)
    if worst in (EMPTY, NO_BATCH):
        if code != worst:
            raise ValueError('check_train_batches: another rank has no '
                             'training batch; see its message')
        split = _split_text(sampler, loader.dataset, n, world)
        if code == EMPTY:
            raise ValueError(f'{split}: the training split is empty; check '
                             'the data list (and val_fraction / group_by '
                             'of GroupSplitSampler)')
        raise ValueError(f'{split} and batch_size={batch_size} with '
                         'drop_last=True: no batch per epoch, nothing would '
                         'be trained; set train_dataloader.drop_last=False '
                         f'or a batch size of at most {n}')
    if code != LONE_LAST:
        return None
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    layers = training_batchnorms(model, world)
    if not layers:
        return None
    shuffle = ('the sampler shuffles, so another sample is left out each '
               'epoch' if getattr(sampler, 'shuffle', True) else
               'the sampler does not shuffle: the same sample would never '
               'train')
    return LoneBatchProbe(
        layers, f'{_split_text(sampler, loader.dataset, n, world)} and '
        f'batch_size={batch_size}',
        f'; set train_dataloader.drop_last=True ({shuffle}) or a batch size '
        f'that does not leave 1 (e.g. {other_batch_size(n, batch_size)})')
