"""DScoreMetric: how well DDNet's predicted D-scores match the targets."""
import warnings
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS
from mmengine.structures import BaseDataElement

from mmddl.structures.score_table import KEY_FIELDS
from .functional import NON_FINITE_HINT, check_finite


def rank_average(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x``; tied values share the mean of their ranks.

    Args:
        x (np.ndarray): 1-D values.

    Returns:
        np.ndarray: float64 ranks, same length as ``x``.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    order = np.argsort(x, kind='mergesort')
    ordered = x[order]
    starts_group = np.r_[True,
                         ordered[1:] != ordered[:-1]] if x.size else np.zeros(
                             0, bool)
    group = np.cumsum(starts_group) - 1
    starts = np.flatnonzero(starts_group)
    ends = np.r_[starts[1:], x.size]  # exclusive
    mean_rank = (starts + ends - 1) / 2.0 + 1.0
    ranks = np.empty(x.size, dtype=np.float64)
    ranks[order] = mean_rank[group]
    return ranks


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; NaN (with a warning) when either side is constant.

    Args:
        x (np.ndarray): 1-D values.
        y (np.ndarray): 1-D values, same length.

    Returns:
        float: The correlation in [-1, 1], or NaN if undefined.
    """
    xc = np.asarray(x, dtype=np.float64) - np.mean(x)
    yc = np.asarray(y, dtype=np.float64) - np.mean(y)
    denom = np.sqrt(np.sum(xc * xc) * np.sum(yc * yc))
    if xc.size < 2 or denom == 0:
        warnings.warn(
            'DScoreMetric: correlation is undefined for fewer than 2 values '
            'or constant predictions/targets; reporting NaN')
        return float('nan')
    return float(np.clip(np.sum(xc * yc) / denom, -1.0, 1.0))


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
    """MSE, Pearson and Spearman correlation of predicted vs. target D-scores.

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
            mse=float(np.mean((pred - gt)**2)),
            pearson=pearson(pred, gt),
            spearman=pearson(rank_average(pred), rank_average(gt)))
