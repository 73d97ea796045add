"""Group metrics against independent numpy / sklearn computations."""
import math

import mmddl  # noqa: F401  (compat fixes, registration)
import numpy as np
import pytest
import torch
from mmengine.dataset import BaseDataset
from mmengine.registry import METRICS
from mmpretrain.structures import DataSample
from sklearn.metrics import roc_curve

from mmddl.evaluation.functional import kfold_accuracy
from mmddl.evaluation.group_metrics import (GroupReIDMetric,
                                            GroupVerificationMetric)
from mmddl.models.recognizers import DDLGroupEncoder  # noqa: F401  (registers)



def _samples(feats, **fields):
    """Data samples as the Evaluator hands them to metrics (dicts)."""
    out = []
    for i, f in enumerate(feats):
        ds = DataSample(pred_feature=torch.as_tensor(f, dtype=torch.float32),
                        base_elements=i % 3 + 1,
                        ddnet_elements=5)
        ds.set_metainfo({k: v[i] for k, v in fields.items()})
        out.append(ds.to_dict())
    return out


def _cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _tar_le(scores, labels, far):
    """Largest TAR at an ROC point with FAR <= far (sklearn's ROC)."""
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    return float(tpr[fpr <= far].max())


def _tar_nearest(scores, labels, far):
    """insightface ijb_11.py: the ROC point whose FAR is nearest (last)."""
    fpr, tpr, _ = roc_curve(labels, scores)
    diff = np.abs(fpr - far)
    return float(tpr[np.where(diff == diff.min())[0][-1]])


def _verif_data(seed=0, groups=40, pairs=300, folds=5):
    rng = np.random.default_rng(seed)
    ident = rng.integers(0, 8, groups)
    centres = rng.normal(size=(8, 16))
    feats = centres[ident] + 1.2 * rng.normal(size=(groups, 16))
    a = rng.integers(0, groups, pairs)
    b = rng.integers(0, groups, pairs)
    same = (ident[a] == ident[b]).astype(int)
    fold = np.arange(pairs) % folds + 1
    return feats, ident, a, b, same, fold


def test_verification_pairs_from_meta():
    feats, _, a, b, same, fold = _verif_data()
    fars = (1e-2, 1e-1)
    metric = METRICS.build(
        dict(type='GroupVerificationMetric',
             protocols=('kfold', 'tar_at_far', 'tpr_at_fpr'),
             fars=fars,
             fpr=0.05))
    keys = [f'tpl{i}' for i in range(len(feats))]
    metric.group_key = 'template_id'
    metric.dataset_meta = dict(pairs=[(keys[i], keys[j], int(s))
                                      for i, j, s in zip(a, b, same)],
                               pair_folds=fold.tolist())
    samples = _samples(feats, template_id=keys)
    # groups arrive in a different order than the data set's
    metric.process(None, samples[::2])
    metric.process(None, samples[1::2])
    res = metric.evaluate(len(feats))

    scores = np.array([_cos(feats[i], feats[j]) for i, j in zip(a, b)])
    kf = kfold_accuracy(scores, same, fold)
    assert res['group_verif/kfold_acc'] == pytest.approx(kf.mean, abs=1e-6)
    assert res['group_verif/kfold_acc_std'] == pytest.approx(kf.std, abs=1e-6)
    for far in fars:  # tar_at_far (IJB-B/C) reads the nearest ROC point
        assert res[f'group_verif/tar@far={far:g}'] == pytest.approx(
            _tar_nearest(scores, same, far))
    assert res['group_verif/tpr@fpr=0.05'] == pytest.approx(
        _tar_le(scores, same, 0.05))
    assert res['group_verif/base_images'] == pytest.approx(
        np.mean([i % 3 + 1 for i in range(len(feats))]))
    assert res['group_verif/ddnet_images'] == 5
    assert res['group_verif/num_pairs'] == len(a)


def test_verification_folds_in_pairs_and_all_pairs():
    feats, ident, a, b, same, fold = _verif_data(seed=1, folds=3)
    metric = GroupVerificationMetric(protocols=('tar_at_far_folds',
                                                'all_pairs_tpr_at_fpr'),
                                     fars=(0.1, ),
                                     fpr=0.1,
                                     pairs=np.stack([a, b, same, fold],
                                                    axis=1))
    metric.process(
        None,
        _samples(feats,
                 group_id=list(range(len(feats))),
                 gt_label=ident.tolist()))
    res = metric.evaluate(len(feats))
    scores = np.array([_cos(feats[i], feats[j]) for i, j in zip(a, b)])
    per_fold = [
        _tar_le(scores[fold == k], same[fold == k], 0.1) for k in (1, 2, 3)
    ]
    assert res['group_verif/tar@far=0.1'] == pytest.approx(np.mean(per_fold))
    assert res['group_verif/tar@far=0.1_std'] == pytest.approx(
        np.std(per_fold))
    # all unordered pairs of groups, brute force
    s_all, y_all = [], []
    for i in range(len(feats)):
        for j in range(i + 1, len(feats)):
            s_all.append(_cos(feats[i], feats[j]))
            y_all.append(int(ident[i] == ident[j]))
    assert res['group_verif/all_pairs_tpr@fpr=0.1'] == pytest.approx(_tar_le(
        np.array(s_all), np.array(y_all), 0.1),
                                                                     abs=1e-6)


def test_protocol_from_dataset_meta():
    """protocols=None follows metainfo['protocol'] (data-set names)."""
    feats, ident, a, b, same, fold = _verif_data(seed=2, folds=2)
    samples = _samples(feats,
                       group_id=list(range(len(feats))),
                       gt_label=ident.tolist())
    scores = np.array([_cos(feats[i], feats[j]) for i, j in zip(a, b)])
    metric = GroupVerificationMetric()
    metric.dataset_meta = dict(pairs=np.stack([a, b, same],
                                              1).astype(np.int32),
                               pair_folds=fold,
                               protocol=dict(type='tar_at_far_per_fold',
                                             fars=[0.1]))
    metric.process(None, samples)
    res = metric.evaluate(len(feats))
    per_fold = [
        _tar_le(scores[fold == k], same[fold == k], 0.1) for k in (1, 2)
    ]
    assert res['group_verif/tar@far=0.1'] == pytest.approx(np.mean(per_fold))
    assert 'group_verif/tar@far=0.1_std' in res
    # YTF-style name
    metric = GroupVerificationMetric()
    metric.dataset_meta = dict(pairs=np.stack([a, b, same], 1),
                               pair_folds=fold,
                               protocol=dict(type='kfold_accuracy'))
    metric.process(None, samples)
    res = metric.evaluate(len(feats))
    assert res['group_verif/kfold_acc'] == pytest.approx(
        kfold_accuracy(scores, same, fold).mean)
    # the fars argument overrides the meta's
    metric = GroupVerificationMetric(fars=(0.2, ))
    metric.dataset_meta = dict(pairs=np.stack([a, b, same], 1),
                               protocol=dict(type='tar_at_far', fars=[0.5]))
    metric.process(None, samples)
    res = metric.evaluate(len(feats))
    assert 'group_verif/tar@far=0.5' not in res
    assert res['group_verif/tar@far=0.2'] == pytest.approx(
        _tar_nearest(scores, same, 0.2))
    # iQIYI-style: no pair list at all
    metric = GroupVerificationMetric()
    metric.dataset_meta = dict(
        protocol=dict(type='tpr_at_fpr_all_pairs', fpr=0.3))
    metric.process(None, samples)
    res = metric.evaluate(len(feats))
    assert 'group_verif/all_pairs_tpr@fpr=0.3' in res
    assert 'group_verif/num_pairs' not in res


def test_pair_scores_dense_and_sparse_paths():
    rng = np.random.default_rng(4)
    feats = rng.normal(size=(30, 8))
    a, b = rng.integers(0, 30, 1000), rng.integers(0, 30, 1000)
    expected = np.array([_cos(feats[i], feats[j]) for i, j in zip(a, b)])
    metric = GroupVerificationMetric(protocols='tar_at_far', pair_chunk=64)
    f = torch.as_tensor(feats, dtype=torch.float32)
    dense = metric._pair_scores(f, a, b)  # 30^2 <= 256 * 1000
    sparse = metric._pair_scores(f, a[:3], b[:3])  # 30^2 > 256 * 3: gathers
    np.testing.assert_allclose(dense, expected, atol=1e-6)
    np.testing.assert_allclose(sparse, expected[:3], atol=1e-6)


def test_verification_errors():
    feats, _, a, b, same, _ = _verif_data(groups=6, pairs=20)
    samples = _samples(feats, group_id=list(range(6)))
    m = GroupVerificationMetric(protocols='kfold', pairs=list(zip(a, b, same)))
    m.process(None, samples)
    with pytest.raises(KeyError, match='fold'):
        m.compute_metrics(m.results)
    m = GroupVerificationMetric(protocols='tar_at_far',
                                pairs=[(0, 99, 1), (1, 2, 0)])
    m.process(None, samples)
    with pytest.raises(KeyError, match='99'):
        m.compute_metrics(m.results)
    m = GroupVerificationMetric(protocols='tar_at_far',
                                pairs=[(0, 1, 2), (1, 2, 0)])
    m.process(None, samples)
    with pytest.raises(ValueError, match='is_same'):
        m.compute_metrics(m.results)
    m = GroupVerificationMetric(protocols='tar_at_far',
                                pairs=np.array([[0, 1, 1], [1, 7, 0]]))
    m.process(None, samples)
    with pytest.raises(KeyError, match=r"\['7'\]"):
        m.compute_metrics(m.results)
    m = GroupVerificationMetric(protocols='tar_at_far')
    m.dataset_meta = {}
    m.process(None, samples + samples[:1])
    with pytest.raises(ValueError, match='duplicate'):
        m.compute_metrics(m.results)
    with pytest.raises(KeyError, match='pair list'):
        m.compute_metrics(m.results[:6])
    with pytest.raises(KeyError, match='pred_feature'):
        m.process(None, [dict(group_id=0)])
    m = GroupVerificationMetric()
    m.dataset_meta = dict(pairs=[(0, 1, 1)])
    m.process(None, samples)
    with pytest.raises(KeyError, match='protocol'):
        m.compute_metrics(m.results)
    m = GroupVerificationMetric(protocols='all_pairs_tpr_at_fpr')
    m.process(None, samples)
    with pytest.raises(KeyError, match='gt_label'):
        m.compute_metrics(m.results)
    with pytest.raises(ValueError, match='protocols'):
        GroupVerificationMetric(protocols=('accuracy', ))
    with pytest.raises(ValueError, match='tar_mode'):
        GroupVerificationMetric(tar_mode='closest')
    # the counters are read from the new field names only
    m = GroupVerificationMetric(protocols='tar_at_far')
    with pytest.raises(KeyError, match='base_elements'):
        m.process(None, [dict(pred_feature=torch.ones(2), group_id=0,
                              base_images=3)])


def _crafted_roc():
    """Pairs whose ROC has no point at FAR 0.25: 'le' reads the point at
    FAR 0 (TAR 0.5), 'nearest' the one at FAR 1/3 (TAR 1.0)."""
    # scores desc: P P N P P N N ; 4 genuine, 3 impostor pairs
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3])
    same = np.array([1, 1, 0, 1, 1, 0, 0])
    return scores, same


@pytest.mark.parametrize('tar_mode,expected', [(None, 1.0), ('nearest', 1.0),
                                               ('le', 0.5)])
def test_tar_mode_nearest_and_le_differ(tar_mode, expected):
    scores, same = _crafted_roc()
    assert _tar_le(scores, same, 0.25) == 0.5
    assert _tar_nearest(scores, same, 0.25) == 1.0
    # features on the unit circle whose pair cosines are the crafted scores
    n = len(scores)
    angles = np.arccos(scores)
    feats = np.concatenate([np.array([[1.0, 0.0]] * n),
                            np.stack([np.cos(angles), np.sin(angles)], 1)])
    pairs = [(i, n + i, int(s)) for i, s in enumerate(same)]
    metric = GroupVerificationMetric(protocols='tar_at_far', fars=(0.25, ),
                                     tar_mode=tar_mode, pairs=pairs)
    metric.process(None, _samples(feats, group_id=list(range(2 * n))))
    res = metric.evaluate(2 * n)
    assert res['group_verif/tar@far=0.25'] == pytest.approx(expected)


def test_tar_mode_defaults_per_protocol():
    """IJB-A folds and TPR@FPR keep 'le'; an explicit mode applies to all."""
    scores, same = _crafted_roc()
    n = len(scores)
    angles = np.arccos(scores)
    feats = np.concatenate([np.array([[1.0, 0.0]] * n),
                            np.stack([np.cos(angles), np.sin(angles)], 1)])
    pairs = [(i, n + i, int(s), 1) for i, s in enumerate(same)]
    samples = _samples(feats, group_id=list(range(2 * n)))
    for mode, expected in ((None, 0.5), ('nearest', 1.0)):
        metric = GroupVerificationMetric(
            protocols=('tar_at_far_folds', 'tpr_at_fpr'), fars=(0.25, ),
            fpr=0.25, tar_mode=mode, pairs=pairs)
        metric.process(None, samples)
        res = metric.evaluate(2 * n)
        assert res['group_verif/tar@far=0.25'] == pytest.approx(expected)
        assert res['group_verif/tpr@fpr=0.25'] == pytest.approx(expected)


def naive_reid(qf, gf, qp, gp, qc, gc, max_rank):
    """Straightforward re-ID evaluation: loops, L2, same pid+cam removed."""
    cmcs, aps = [], []
    for q in range(len(qf)):
        d = [math.dist(qf[q], gf[g]) for g in range(len(gf))]
        order = sorted(range(len(gf)), key=lambda g: (d[g], g))
        order = [g for g in order if not (gp[g] == qp[q] and gc[g] == qc[q])]
        hits = [gp[g] == qp[q] for g in order]
        if not any(hits):
            continue
        first = hits.index(True)
        cmcs.append([1.0 if r >= first else 0.0 for r in range(max_rank)])
        found, precs = 0, []
        for r, h in enumerate(hits):
            if h:
                found += 1
                precs.append(found / (r + 1))
        aps.append(sum(precs) / len(precs))
    return np.mean(cmcs, axis=0), float(np.mean(aps)), len(aps)


@pytest.mark.parametrize('normalize', [False, True])
def test_reid_metric_matches_naive(normalize):
    rng = np.random.default_rng(3)
    n = 60
    pids = rng.integers(0, 12, n)
    pids[:3] = 99  # pid 99 queries with no gallery match: skipped
    cams = rng.integers(1, 4, n)
    is_q = np.zeros(n, bool)
    is_q[:3] = True
    is_q[rng.choice(np.arange(3, n), 12, replace=False)] = True
    feats = rng.normal(size=(n, 8)) + 2 * rng.normal(size=(12, 8))[pids % 12]
    metric = GroupReIDMetric(ranks=(1, 5, 20), normalize=normalize)
    metric.process(
        None,
        _samples(feats,
                 pid=pids.tolist(),
                 camid=cams.tolist(),
                 is_query=is_q.tolist()))
    res = metric.evaluate(n)
    f = feats / np.linalg.norm(feats, axis=1, keepdims=True) \
        if normalize else feats
    cmc, m_ap, valid = naive_reid(f[is_q], f[~is_q], pids[is_q], pids[~is_q],
                                  cams[is_q], cams[~is_q], 20)
    assert res['group_reid/mAP'] == pytest.approx(m_ap, abs=1e-6)
    for r in (1, 5, 20):
        assert res[f'group_reid/rank{r}'] == pytest.approx(cmc[r - 1])
    assert res['group_reid/num_valid_queries'] == valid == 12
    assert res['group_reid/num_queries'] == 15
    assert res['group_reid/num_gallery'] == n - 15
    assert 'group_reid/base_images' in res


def test_reid_metric_needs_fields():
    m = GroupReIDMetric()
    with pytest.raises(KeyError, match='camid'):
        m.process(None, _samples(np.ones((1, 4)), pid=[1], is_query=[True]))


class ToyGroups(BaseDataset):
    """Each item is a group of images; pairs in the meta (data-set index)."""

    def __init__(self, **kwargs):
        super().__init__(serialize_data=False, **kwargs)

    def load_data_list(self):
        rng = np.random.default_rng(0)
        items = []
        for g, n in enumerate((3, 5, 2, 4)):
            imgs = [
                rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
                for _ in range(n)
            ]
            items.append(dict(img=imgs, gt_label=g % 2))
        self._metainfo['pairs'] = [(0, 1, 0), (0, 2, 1), (1, 3, 1), (2, 3, 0),
                                   (0, 3, 0), (1, 2, 0)]
        self._metainfo['protocol'] = dict(type='tar_at_far', fars=[0.5])
        return items


def test_runner_end_to_end(tmp_path):
    """Runner.test: group dataset -> DDLGroupEncoder -> metric."""
    from mmengine.runner import Runner
    base = dict(type='ImageClassifier',
                backbone=dict(type='ResNet',
                              depth=18,
                              stem_channels=4,
                              base_channels=4,
                              out_indices=(3, )),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='CosFaceClsHead', num_classes=3,
                          in_channels=32),
                data_preprocessor=dict(type='ClsDataPreprocessor',
                                       mean=[127.5] * 3,
                                       std=[64.] * 3))
    ddnet = dict(type='ImageClassifier',
                 backbone=dict(type='DDNetResNet', stage_widths=(4, 4, 8, 8)),
                 head=dict(type='DDNetHead', in_channels=8))
    runner = Runner(
        model=dict(type='DDLGroupEncoder',
                   base=base,
                   ddnet=ddnet,
                   # a random DDNet may saturate: every D-score 0 (a
                   # counted fallback here, an error by default)
                   aggregator=dict(type='DDLAggregator', mode='ddl', topk=2,
                                   on_constant_scores='uniform'),
                   ddnet_input_size=8,
                   allow_random_weights=True),
        work_dir=str(tmp_path),
        test_dataloader=dict(
            batch_size=2,
            num_workers=0,
            dataset=ToyGroups(pipeline=[dict(type='mmpretrain.PackInputs')]),
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='group_collate')),
        test_cfg=dict(type='TestLoop'),
        test_evaluator=dict(type='GroupVerificationMetric',
                            group_key='sample_idx'),
        default_scope='mmpretrain')
    res = runner.test()
    assert res['group_verif/base_images'] == pytest.approx(
        np.mean([2, 2, 2, 2]))
    assert res['group_verif/ddnet_images'] == pytest.approx(14 / 4)
    assert res['group_verif/num_pairs'] == 6
    assert 0.0 <= res['group_verif/tar@far=0.5'] <= 1.0
    # at most the 3 groups of more than 2 images (the one of 2 keeps both;
    # whether the randomly initialised DDNet saturates depends on the seed)
    assert 0 <= res['group_verif/fallback_constant_scores'] <= 3
    assert res['group_verif/fallback_topk_over_group'] == 0


@pytest.mark.parametrize('name', ['ytf', 'mars'])
def test_with_the_face_and_reid_datasets(tmp_path, name):
    """The real data-set classes (miniatures), default keys and collate."""
    from mmengine.runner import Runner

    import mmddl.datasets.face  # noqa: F401
    import mmddl.datasets.reid  # noqa: F401
    from mmddl.testing.synthetic_faces import (make_identities, write_mars,
                                                write_ytf)
    ids = make_identities(6, 6, size=32, seed=0)
    pipeline = [
        dict(type='LoadGroupImages', size=32, align=False, crop_bbox=False),
        dict(type='PackGroupInputs')
    ]
    if name == 'ytf':
        write_ytf(str(tmp_path), ids, num_splits=2, pairs_per_split=4)
        dataset = dict(type='YTFDataset',
                       data_root=str(tmp_path),
                       ann_file='splits.txt',
                       data_prefix='aligned_images_DB',
                       pipeline=pipeline)
        evaluator = dict(type='GroupVerificationMetric')  # meta protocol
    else:
        write_mars(str(tmp_path), ids)
        dataset = dict(type='MARSDataset',
                       data_root=str(tmp_path),
                       split='test',
                       pipeline=pipeline)
        evaluator = dict(type='GroupReIDMetric')
    base = dict(type='ImageClassifier',
                backbone=dict(type='ResNet',
                              depth=18,
                              stem_channels=4,
                              base_channels=4,
                              out_indices=(3, )),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='ReIDHead', num_classes=3, in_channels=32))
    ddnet = dict(type='ImageClassifier',
                 backbone=dict(type='DDNetResNet', stage_widths=(4, 4, 8, 8)),
                 head=dict(type='DDNetHead', in_channels=8))
    runner = Runner(model=dict(type='DDLGroupEncoder',
                               base=base,
                               ddnet=ddnet,
                               # the random DDNet saturates on raw
                               # pixels: constant D-scores, counted
                               aggregator=dict(type='DDLAggregator',
                                               mode='ddl',
                                               topk=2,
                                               on_constant_scores='uniform'),
                               ddnet_input_size=16,
                               allow_random_weights=True),
                    work_dir=str(tmp_path / 'work'),
                    test_dataloader=dict(batch_size=2,
                                         num_workers=0,
                                         dataset=dataset,
                                         sampler=dict(type='DefaultSampler',
                                                      shuffle=False)),
                    test_cfg=dict(type='TestLoop'),
                    test_evaluator=evaluator,
                    default_scope='mmpretrain')
    res = runner.test()
    ds = runner.test_dataloader.dataset
    sizes = [ds.get_data_info(i)['num_images'] for i in range(len(ds))]
    prefix = 'group_verif' if name == 'ytf' else 'group_reid'
    assert res[f'{prefix}/ddnet_images'] == pytest.approx(np.mean(sizes))
    assert res[f'{prefix}/base_images'] == pytest.approx(
        np.mean([min(2, n) for n in sizes]))
    assert res[f'{prefix}/fallback_topk_over_group'] == sum(
        n < 2 for n in sizes)
    assert 0 <= res[f'{prefix}/fallback_constant_scores'] <= sum(
        n > 2 for n in sizes)
    if name == 'ytf':
        assert res['group_verif/num_pairs'] == 8
        assert 0.0 <= res['group_verif/kfold_acc'] <= 1.0
    else:
        assert res['group_reid/num_queries'] >= 1
        assert 0.0 < res['group_reid/mAP'] <= 1.0
