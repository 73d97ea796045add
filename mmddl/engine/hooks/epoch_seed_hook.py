"""EpochSeedHook: re-seed the RNGs at every epoch so that resume is exact."""
import logging
from typing import List

import numpy as np
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.registry import HOOKS
from mmengine.runner import IterBasedTrainLoop
from mmengine.runner.utils import set_random_seed


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of one epoch, mixed from the run's seed and the epoch.

    Args:
        seed (int): The run's seed (``runner.seed``).
        epoch (int): The 0-based epoch about to run.

    Returns:
        int: A 31-bit seed; distinct epochs give unrelated streams, and
        none equals ``seed + k`` (the data-loader workers' seeds).
    """
    if seed is None or epoch < 0:
        raise ValueError(f'need a seed and an epoch >= 0, got seed={seed}, '
                         f'epoch={epoch}')
    state = np.random.SeedSequence([int(seed) % 2**32, int(epoch)])
    return int(state.generate_state(1)[0] & 0x7FFFFFFF)


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Seed python, numpy and torch from ``(runner.seed, epoch)`` before
    each training epoch.

    mmengine's resume restores weights, optimizer, schedulers, the epoch and
    the seed, but not the random states: a resumed run started its epochs
    from a freshly seeded RNG and drifted from the uninterrupted one. Seeding
    every epoch from ``(seed, epoch)`` (after all other ``before_train_epoch``
    hooks) makes epoch ``e`` draw the same numbers whether or not the run was
    resumed. Data-loader workers are seeded by mmengine from the seed and
    the worker id when they start, i.e. every epoch unless
    ``persistent_workers=True``: persistent workers keep their RNG across
    epochs, which a resumed run cannot restore, so the hook warns about them,
    and about an unset ``randomness.seed`` (``docs/reliability.md``).

    Args:
        warn_persistent (bool): Warn when the train loader keeps persistent
            workers. Defaults to True.
    """

    priority = 'LOWEST'

    def __init__(self, warn_persistent: bool = True) -> None:
        self.warn_persistent = warn_persistent
        self.warnings: List[str] = []

    def before_train(self, runner) -> None:
        """Warn once about settings that a resume cannot reproduce."""
        if isinstance(runner.train_loop, IterBasedTrainLoop):
            print_log(
                'EpochSeedHook: an iteration-based loop has no '
                'epochs; the hook does nothing.',
                logger='current',
                level=logging.WARNING)
            return
        cfg = getattr(runner, 'cfg', None) or {}
        if (cfg.get('randomness') or {}).get('seed') is None:
            self._warn('randomness.seed is not set: the data order and the '
                       'worker seeds follow a seed drawn at start-up, which '
                       'a --resume does not restore; set randomness.seed '
                       '(tools/train.py --seed 0) for bit-identical '
                       'resumes.')
        loader = runner.train_dataloader
        if (self.warn_persistent
                and getattr(loader, 'persistent_workers', False)
                and getattr(loader, 'num_workers', 0) > 0):
            self._warn('train_dataloader has persistent_workers=True: '
                       'their RNG states carry over between epochs and are '
                       'not restored by --resume, so a resumed run can '
                       'differ from an uninterrupted one; set '
                       'train_dataloader.persistent_workers=False for '
                       'bit-identical resumes.')

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        print_log(
            f'EpochSeedHook: {message}',
            logger='current',
            level=logging.WARNING)

    def before_train_epoch(self, runner) -> None:
        """Seed every RNG from the run's seed and the epoch about to run."""
        if isinstance(runner.train_loop, IterBasedTrainLoop):
            return
        set_random_seed(epoch_seed(runner.seed, runner.epoch))
