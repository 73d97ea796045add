"""DDLMetric vs mmaction's top_k_accuracy and independent means."""
import json

import numpy as np
import pytest
import torch

import mmddl  # noqa: F401  (compat fixes + registration)
from mmaction.evaluation.functional import top_k_accuracy
from mmaction.structures import ActionDataSample
from mmengine.registry import METRICS

from mmddl.evaluation.ddl_metric import DDLMetric

NUM_CLASSES = 10


def make_samples(n=40, seed=0, flops=True):
    rng = np.random.default_rng(seed)
    samples, rows = [], []
    for i in range(n):
        score = rng.random(NUM_CLASSES)
        label = int(rng.integers(NUM_CLASSES))
        k, clips = int(rng.integers(1, 6)), 30
        row = dict(score=score, label=label, base_clips=k, ddnet_clips=clips,
                   time=float(rng.random()), gb=7.28 * 3 * k, gd=0.2 * 3 * clips)
        s = ActionDataSample().set_gt_label(label).set_pred_score(
            torch.from_numpy(score).float())
        s.set_metainfo(dict(video_id=f'v{i}'))
        s.base_elements, s.ddnet_elements = k, clips
        s.time_model_s = row['time']
        s.ddl_selected = torch.arange(k)
        if flops:
            s.gflops_base, s.gflops_ddnet = row['gb'], row['gd']
        samples.append(s)
        rows.append(row)
    return samples, rows


def evaluate(metric, samples, batch=7):
    # like mmengine's Evaluator: samples arrive as dicts, in batches
    for i in range(0, len(samples), batch):
        metric.process(None, [s.to_dict() for s in samples[i:i + batch]])
    return metric.evaluate(len(samples))


def test_metric_vs_independent(tmp_path):
    samples, rows = make_samples()
    out = tmp_path / 'rows.json'
    metric = METRICS.build(dict(type='DDLMetric', out_file=str(out)))
    res = evaluate(metric, samples)
    scores = [np.float32(r['score']) for r in rows]
    labels = [r['label'] for r in rows]
    top1, top5 = top_k_accuracy(scores, labels, (1, 5))
    assert res['ddl/top1'] == pytest.approx(top1)
    assert res['ddl/top5'] == pytest.approx(top5)
    assert 0 < top1 < top5 < 1  # the data exercise both outcomes
    assert res['ddl/mean_top1_top5'] == pytest.approx((top1 + top5) / 2)
    assert res['ddl/base_clips'] == pytest.approx(
        np.mean([r['base_clips'] for r in rows]))
    assert res['ddl/ddnet_clips'] == 30
    assert res['ddl/model_time_s'] == pytest.approx(
        np.mean([r['time'] for r in rows]))
    gb, gd = np.mean([r['gb'] for r in rows]), np.mean([r['gd'] for r in rows])
    assert res['ddl/gflops_base'] == pytest.approx(gb)
    assert res['ddl/gflops_ddnet'] == pytest.approx(gd)
    assert res['ddl/gflops_total'] == pytest.approx(gb + gd)
    assert res['ddl/num_videos'] == 40
    dumped = json.loads(out.read_text())
    assert len(dumped['videos']) == 40
    first = dumped['videos'][0]
    assert first['video'] == 'v0' and first['gt_label'] == labels[0]
    assert first['pred_label'] == int(np.argmax(rows[0]['score']))
    assert first['ddl_selected'] == list(range(rows[0]['base_clips']))
    assert dumped['metrics']['top1'] == pytest.approx(top1)


def test_topk_options_and_no_flops():
    samples, rows = make_samples(n=25, seed=1, flops=False)
    res = evaluate(DDLMetric(topk=(2, 3), prefix='x'), samples)
    scores = [np.float32(r['score']) for r in rows]
    labels = [r['label'] for r in rows]
    top2, top3 = top_k_accuracy(scores, labels, (2, 3))
    assert res['x/top2'] == pytest.approx(top2)
    assert res['x/top3'] == pytest.approx(top3)
    assert 'x/mean_top1_top5' not in res
    assert not any('gflops' in k for k in res)


def test_bad_inputs():
    samples, _ = make_samples(n=3)
    del samples[1].base_elements
    with pytest.raises(KeyError, match='base_elements'):
        evaluate(DDLMetric(), samples)
    samples, _ = make_samples(n=3)
    del samples[2].gflops_base
    with pytest.raises(KeyError, match='all or none'):
        evaluate(DDLMetric(), samples)
    samples, _ = make_samples(n=2)
    samples[0].set_gt_label([1, 2])
    with pytest.raises(ValueError, match='single-label'):
        evaluate(DDLMetric(), samples)
    samples, _ = make_samples(n=2)
    samples[0].set_gt_label(NUM_CLASSES)
    with pytest.raises(ValueError, match='out of range'):
        evaluate(DDLMetric(), samples)
    with pytest.raises(ValueError, match='topk'):
        DDLMetric(topk=(0, 1))
