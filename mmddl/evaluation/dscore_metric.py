"""DScoreMetric: how well DDNet's predicted D-scores match the targets."""
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS
from mmengine.structures import BaseDataElement
from scipy import stats

from mmddl.structures.score_table import KEY_FIELDS
from .functional import NON_FINITE_HINT, check_finite


def correlations(pred: np.ndarray, gt: np.ndarray) -> Dict[str, float]:
    """Pearson and Spearman correlation (``scipy.stats``) of two sequences.

    A correlation is undefined for fewer than 2 pairs or when either side
    is constant (e.g. a DDNet that predicts one value for every element):
    it is then NaN, with a warning saying which side is constant.

    Args:
        pred (np.ndarray): 1-D predicted values.
        gt (np.ndarray): 1-D targets, same length.

    Returns:
        Dict[str, float]: ``pearson`` and ``spearman`` in [-1, 1] or NaN.
    """
    pred = np.asarray(pred, dtype=np.float64).reshape(-1)
    gt = np.asarray(gt, dtype=np.float64).reshape(-1)
    if pred.size != gt.size:
        raise ValueError(f'DScoreMetric: {pred.size} predictions but '
                         f'{gt.size} targets')
    why = None
    if pred.size < 2:
        why = f'{pred.size} value(s) (at least 2 needed)'
    elif np.ptp(pred) == 0 and np.ptp(gt) == 0:
        why = 'constant predictions and constant targets'
    elif np.ptp(pred) == 0:
        why = f'constant predictions (every one is {pred[0]:.6g})'
    elif np.ptp(gt) == 0:
        why = f'constant targets (every one is {gt[0]:.6g})'
    if why is not None:
        warnings.warn(f'DScoreMetric: the correlations are undefined for '
                      f'{why}; reporting NaN')
        return dict(pearson=float('nan'), spearman=float('nan'))
    return dict(
        pearson=float(np.clip(stats.pearsonr(pred, gt)[0], -1.0, 1.0)),
        spearman=float(np.clip(stats.spearmanr(pred, gt)[0], -1.0, 1.0)))


def _as_dict(sample: Any, index: int) -> dict:
    """A data sample given as dict or BaseDataElement, as a dict."""
    if isinstance(sample, BaseDataElement):
        sample = sample.to_dict()
    if not isinstance(sample, dict):
        raise TypeError(
            f'DScoreMetric: data sample {index} is a {type(sample)}, '
            'expected a dict or BaseDataElement')
    return sample


def _field(sample: dict, name: str, index: int, where: str) -> np.ndarray:
    """Field ``name`` of a data sample as finite float64 values."""
    if name not in sample:
        raise KeyError(
            f'DScoreMetric: data sample {index} has no field "{name}"')
    value = sample[name]
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    value = np.asarray(value, dtype=np.float64).reshape(-1)
    check_finite(value, name, where, NON_FINITE_HINT)
    return value


@METRICS.register_module()
class DScoreMetric(BaseMetric):
    """MSE, Pearson and Spearman correlation (``scipy.stats``) of predicted
    vs. target D-scores, pooled over every element evaluated.

    NaN or inf in a prediction or target raises :class:`NonFiniteError`
    naming the sample.

    Every view counts as one pair: a sample with V predicted views is compared
    with its V targets, or with its single target repeated V times.

    Args:
        collect_device (str): Device used to gather results across ranks.
        prefix (str, optional): Metric-name prefix; defaults to ``'dscore'``.
    """

    default_prefix: Optional[str] = 'dscore'

    def __init__(self,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Store the (pred, gt) pairs of one batch.

        Args:
            data_batch (Any): Unused.
            data_samples (Sequence[dict | BaseDataElement]): Model outputs
                carrying ``pred_dscore`` and ``gt_dscore``.
        """
        for i, sample in enumerate(data_samples):
            sample = _as_dict(sample, i)
            key = next((sample[k] for k in KEY_FIELDS if k in sample), None)
            where = f'data sample {i} of the batch' + (f' ({key})' if key
                                                       is not None else '')
            pred = _field(sample, 'pred_dscore', i, where)
            gt = _field(sample, 'gt_dscore', i, where)
            if gt.size == 1 and pred.size > 1:
                gt = np.repeat(gt, pred.size)
            if gt.size != pred.size:
                raise ValueError(
                    f'DScoreMetric: data sample {i} has {pred.size} predicted '
                    f'D-scores but {gt.size} targets')
            self.results.append((pred, gt))

    def compute_metrics(self, results: List[Tuple[np.ndarray,
                                                  np.ndarray]]) -> dict:
        """Compute the metrics over all stored pairs.

        Args:
            results (list[tuple]): (pred, gt) arrays collected by
                :meth:`process`.

        Returns:
            dict: ``mse``, ``pearson`` and ``spearman`` (floats; correlations
            are NaN when undefined).
        """
        if not results:
            raise ValueError(
                'DScoreMetric received no predictions to evaluate')
        pred = np.concatenate([r[0] for r in results])
        gt = np.concatenate([r[1] for r in results])
        return dict(
            mse=float(np.mean((pred - gt)**2)), **correlations(pred, gt))
