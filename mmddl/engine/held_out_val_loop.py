"""HeldOutValLoop: validate the DDNet on the training groups its
GroupSplitSampler holds out, read from the train data set's own source."""
import copy
from typing import Any, Dict, List, Union

from mmengine.registry import LOOPS
from mmengine.runner import ValLoop
from torch.utils.data import DataLoader

from mmddl.datasets.samplers.group_split import GroupSplitSampler
from .candidates import train_dataset_cfg
from .distributed import all_reduce_max

#: Dataset fields of the val dataloader config that may not name data: the
#: held-out split is always of the train data set.
SOURCE_FIELDS = ('type', 'ann_file', 'data_root', 'data_prefix', 'rec_file',
                 'split', 'item')


def held_out_loader_cfg(runner: Any, loader_cfg: Dict) -> Dict:
    """The val dataloader config over the held-out groups.

    The dataset is the (innermost) train dataset config with the val
    config's ``dataset`` fields (its ``pipeline`` ...) on top and
    ``test_mode=True``; the sampler is a :class:`GroupSplitSampler`
    (``split='val'``) with the train sampler's ``val_fraction`` and
    ``group_by``.

    Args:
        runner (Runner): the runner (its ``cfg.train_dataloader``).
        loader_cfg (dict): the ``val_dataloader`` config.

    Returns:
        dict: the dataloader config.
    """
    train_loader = runner.cfg.get('train_dataloader') or {}
    sampler = dict(train_loader.get('sampler') or {})
    if sampler.get('type') not in ('GroupSplitSampler', GroupSplitSampler) \
            or sampler.get('split', 'train') != 'train':
        raise ValueError(
            "HeldOutValLoop: train_dataloader.sampler must be "
            "dict(type='GroupSplitSampler', split='train', ...) so that the "
            'DDNet does not train on the held-out groups; got '
            f'{sampler or None}')
    cfg = copy.deepcopy(dict(loader_cfg))
    overrides = dict(cfg.get('dataset') or {})
    named = [k for k in SOURCE_FIELDS if k in overrides]
    if named:
        raise ValueError(
            f'HeldOutValLoop: val_dataloader.dataset sets {named}; the '
            'held-out groups are read from the train data set, so give '
            'only the val pipeline (and other non-data fields) there')
    dataset = train_dataset_cfg(runner)
    dataset.update(copy.deepcopy(overrides))
    dataset['test_mode'] = True
    cfg['dataset'] = dataset
    val_sampler = dict(cfg.get('sampler') or {})
    if val_sampler.get('type',
                       'GroupSplitSampler') not in ('GroupSplitSampler',
                                                    GroupSplitSampler):
        raise ValueError('HeldOutValLoop: val_dataloader.sampler must be a '
                         f'GroupSplitSampler (or unset), got {val_sampler}')
    val_sampler.update(
        type='GroupSplitSampler',
        split='val',
        val_fraction=sampler.get('val_fraction', 0.1),
        group_by=sampler.get('group_by', 'filename'))
    val_sampler.setdefault('shuffle', False)
    val_sampler.setdefault('round_up', False)
    cfg['sampler'] = val_sampler
    return cfg


@LOOPS.register_module()
class HeldOutValLoop(ValLoop):
    """:class:`~mmengine.runner.ValLoop` over the held-out training groups.

    The train dataloader's :class:`GroupSplitSampler` (``split='train'``)
    keeps a deterministic share of the training groups out of training;
    this loop evaluates those (see :func:`held_out_loader_cfg`). The
    targets (``gt_dscore``) come from the D-score table, handed to the val
    pipeline by :class:`~mmddl.engine.DiscriminabilityHook` (the table
    covers the whole training set, so Eq. 4's mean and std do too).

    Args:
        runner (Runner): the runner.
        dataloader (DataLoader | dict): the val dataloader (config: its
            ``dataset`` holds only the pipeline and other non-data fields).
        evaluator (Evaluator | dict | list): e.g.
            ``dict(type='DScoreMetric')``.
        fp16 (bool): fp16 validation.
    """

    def __init__(self,
                 runner: Any,
                 dataloader: Union[DataLoader, Dict],
                 evaluator: Union[Any, Dict, List],
                 fp16: bool = False) -> None:
        if isinstance(dataloader, dict):
            dataloader = held_out_loader_cfg(runner, dataloader)
        super().__init__(runner, dataloader, evaluator, fp16)
        sampler = self.dataloader.sampler
        if isinstance(sampler, GroupSplitSampler):
            runner.logger.info(
                f'HeldOutValLoop: {len(sampler.indices)} samples of '
                f'{len(sampler.val_groups)} held-out groups (by '
                f'{sampler.group_by!r}, val_fraction={sampler.val_fraction})'
                f'; {len(sampler.dataset) - len(sampler.indices)} samples '
                'train')
        self._check_batches()

    def _check_batches(self) -> None:
        """Refuse a validation without any batch (e.g. ``drop_last`` with
        fewer held-out samples than a batch), which would stop the run after
        the first training epoch (every rank calls it)."""
        try:
            num_batches = len(self.dataloader)
        except TypeError:  # a sampler without a length
            return
        if all_reduce_max(num_batches) > 0:
            return
        sampler = self.dataloader.sampler
        n = len(getattr(sampler, 'indices', None) or [])
        raise ValueError(
            f'HeldOutValLoop: no validation batch: {n} held-out samples '
            f'with batch_size={self.dataloader.batch_size} and '
            f'drop_last={self.dataloader.drop_last}; set '
            'val_dataloader.drop_last=False (or a larger val_fraction of '
            'the train sampler)')
