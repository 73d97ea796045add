"""Tests of DScoreMetric against numpy/scipy reference computations."""
import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement
from scipy import stats

import mmddl  # noqa: F401  (applies compat)
from mmddl.evaluation.dscore_metric import DScoreMetric, correlations


def test_correlations_are_scipy_values_with_ties():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, size=50).astype(float)  # many ties
    y = x + rng.standard_normal(50)
    out = correlations(x, y)
    assert out['pearson'] == stats.pearsonr(x, y)[0]
    assert out['spearman'] == stats.spearmanr(x, y)[0]
    assert -1 <= out['spearman'] <= 1 and out['spearman'] > 0.5


def run_metric(samples, batch_size=3):
    metric = DScoreMetric()
    for i in range(0, len(samples), batch_size):
        metric.process({}, samples[i:i + batch_size])
    return metric.evaluate(size=len(samples))


def test_metric_matches_scipy_on_mixed_inputs():
    rng = np.random.default_rng(1)
    gt = rng.random(20)
    pred = np.round(gt + 0.2 * rng.standard_normal(20), 1)  # rounding -> ties
    samples = []
    for i, (p, g) in enumerate(zip(pred, gt)):
        if i % 2:  # as the Evaluator passes them: dicts with tensors
            samples.append(dict(pred_dscore=torch.tensor(p), gt_dscore=float(g)))
        else:  # data elements with numpy fields
            s = BaseDataElement()
            s.set_field(torch.tensor(p), 'pred_dscore')
            s.set_field(np.float32(g), 'gt_dscore')
            samples.append(s)
    res = run_metric(samples)
    assert set(res) == {'dscore/mse', 'dscore/pearson', 'dscore/spearman'}
    gt32 = gt.astype(np.float32).astype(np.float64)
    gt_used = np.where(np.arange(20) % 2 == 1, gt, gt32)
    assert res['dscore/mse'] == pytest.approx(np.mean((pred - gt_used)**2), rel=1e-5)
    assert res['dscore/pearson'] == pytest.approx(stats.pearsonr(pred, gt_used)[0], rel=1e-6)
    assert res['dscore/spearman'] == pytest.approx(stats.spearmanr(pred, gt_used)[0], rel=1e-6)


def test_views_broadcast_and_per_view_targets():
    samples = [
        dict(pred_dscore=torch.tensor([0.1, 0.4, 0.3]), gt_dscore=0.2),
        dict(pred_dscore=torch.tensor([0.9, 0.6]), gt_dscore=np.array([0.8, 0.7])),
    ]
    pred = np.array([0.1, 0.4, 0.3, 0.9, 0.6])
    gt = np.array([0.2, 0.2, 0.2, 0.8, 0.7])
    res = run_metric(samples, batch_size=1)
    assert res['dscore/mse'] == pytest.approx(np.mean((pred - gt)**2), rel=1e-6)
    assert res['dscore/spearman'] == pytest.approx(stats.spearmanr(pred, gt)[0], rel=1e-6)


def test_bad_inputs_raise():
    metric = DScoreMetric()
    with pytest.raises(KeyError, match='gt_dscore'):
        metric.process({}, [dict(pred_dscore=torch.tensor(0.5))])
    with pytest.raises(KeyError, match='pred_dscore'):
        metric.process({}, [dict(gt_dscore=0.5)])
    with pytest.raises(ValueError, match='2 predicted'):
        metric.process({}, [dict(pred_dscore=torch.tensor([0.1, 0.2]), gt_dscore=[0.1, 0.2, 0.3])])
    with pytest.raises(TypeError, match='dict or BaseDataElement'):
        metric.process({}, [0.5])
    with pytest.raises(ValueError, match='no predictions'):
        metric.compute_metrics([])


@pytest.mark.parametrize('pred,gt,why', [
    (np.ones(4), np.arange(4.0), 'constant predictions'),
    (np.arange(4.0), np.full(4, 0.5), 'constant targets'),
    (np.ones(3), np.ones(3), 'constant predictions and constant targets'),
    (np.ones(1), np.ones(1), 'at least 2'),
])
def test_undefined_correlations_are_nan_with_a_warning(pred, gt, why):
    with pytest.warns(UserWarning, match=why):
        out = correlations(pred, gt)
    assert np.isnan(out['pearson']) and np.isnan(out['spearman'])


def test_constant_predictions_give_nan_correlation():
    with pytest.warns(UserWarning, match='constant predictions'):
        res = run_metric([dict(pred_dscore=torch.tensor(0.5), gt_dscore=g) for g in (0.1, 0.9)])
    assert res['dscore/mse'] == pytest.approx(0.16)
    assert np.isnan(res['dscore/spearman']) and np.isnan(res['dscore/pearson'])


def test_registered_for_both_scopes():
    from mmaction.registry import METRICS as ACTION_METRICS
    from mmengine.registry import METRICS, DefaultScope
    from mmpretrain.registry import METRICS as PRETRAIN_METRICS
    assert isinstance(METRICS.build(dict(type='DScoreMetric')), DScoreMetric)
    with DefaultScope.overwrite_default_scope('mmaction'):
        assert isinstance(ACTION_METRICS.build(dict(type='DScoreMetric')), DScoreMetric)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        metric = PRETRAIN_METRICS.build(dict(type='DScoreMetric', prefix='val'))
    assert metric.prefix == 'val'
