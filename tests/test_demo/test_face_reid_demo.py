"""Miniature end-to-end runs of the face and re-ID demos.

Each runs the whole flow (data in the real formats, base training, the
DiscriminabilityHook + DDNet training, group evaluation of every method,
tables, results.json, Fig. 3 picture) on a few identities for one epoch.
The reported numbers are then checked against independent computations:
images per group from the generated data, and the verification / re-ID
metrics recomputed from the dumped fused features.
"""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.fileio import load
from sklearn.metrics import roc_curve

import mmddl  # noqa: F401  (compat fixes + registration)
from demo import face, reid
from demo.common import (METHODS, choose_operating_point,
                               operating_points, ranking_quality, repo_root,
                               roc_auc, summarize_seeds, within_group_ranking)



def check_common(res: dict, work: str, groups: dict, figure: str) -> None:
    """Fields every demo writes, and the images-per-group bookkeeping.

    Args:
        res: The returned results.
        work: The demo's work dir.
        groups: ``{data set: sizes of its groups}`` from the generated data.
        figure: The Fig. 3 file name.
    """
    on_disk = json.load(open(osp.join(work, 'results.json')))
    assert on_disk['entries'] == json.loads(json.dumps(res['entries']))
    assert osp.isfile(osp.join(work, figure))
    with open(osp.join(work, figure), 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    for dataset, sizes in groups.items():
        per = on_disk['base_images_per_group'][dataset]
        assert set(per) == set(METHODS) | {'ddl_val'}
        # average pooling runs the base on every element, top-1 on one
        assert per['average'] == pytest.approx(np.mean(sizes))
        assert per['top1'] == pytest.approx(1.0)
        for m in ('ddl', 'ddl_norescale', 'ddl_val'):
            assert 1.0 <= per[m] <= np.mean(sizes)
        m = on_disk['metrics'][dataset]
        assert m['average']['ddnet_images'] == 0  # DDNet skipped
        assert m['ddl']['ddnet_images'] == pytest.approx(np.mean(sizes))
        # ddl and ddl_norescale select the same elements (same threshold)
        assert per['ddl'] == per['ddl_norescale']
        entry_methods = {
            e['method']
            for e in on_disk['entries'] if e['dataset'] == dataset
        }
        assert entry_methods == set(METHODS) | {'ddl_val'}


def check_seeds(res: dict, dataset: str, seeds: list, val_keys: tuple,
                num_val_elements: int) -> None:
    """Per-seed numbers, their summary, the DDNet's ranking quality and the
    validation-chosen operating point are consistent.

    Args:
        res: The returned results.
        dataset: ``'ijbc'`` or ``'mars'``.
        seeds: The test seeds.
        val_keys: Metrics the operating point must not lose on.
        num_val_elements: Elements of the validation set with ground truth.
    """
    per_seed = res['per_seed'][dataset]
    assert list(per_seed) == [str(s) for s in seeds]
    assert res['seeds']['test'] == seeds
    assert res['seeds']['validation'] not in seeds
    summary = res['summary'][dataset]
    for m, vals in summary['mean'].items():
        for k, v in vals.items():
            col = [per_seed[str(s)][m][k] for s in seeds]
            assert v == pytest.approx(np.mean(col))
            assert res['metrics'][dataset][m][k] == pytest.approx(v)
            if m != 'average':
                diff = summary['difference'][m][k]
                ref = [per_seed[str(s)]['average'][k] for s in seeds]
                assert diff['per_seed'] == pytest.approx(
                    list(np.subtract(col, ref)))
    ranking = res['ddnet_ranking']['validation']
    assert -1 <= ranking['spearman'] <= 1
    assert 0 <= ranking['auc'] <= 1 and 0 <= ranking['target_auc'] <= 1
    assert ranking['num_elements'] == num_val_elements
    val = res['validation']
    chosen = val['chosen']
    assert chosen['name'] in val['candidates']
    ref = val[dataset]['average']
    ok = [
        n for n in val['candidates']
        if all(val[dataset][n][k] >= ref[k] for k in val_keys)
    ]
    assert chosen['qualified'] == bool(ok)
    if ok:
        assert chosen['base_images'] == min(val[dataset][n]['base_images']
                                            for n in ok)


def check_ceilings(res: dict, dataset: str, seeds: list, out: str,
                   size: int) -> None:
    """The selection ceilings: printed, beside the measured average pooling
    and top-1 of each set, one base run per top-1 row, K per top-K row.

    Args:
        res: The returned results.
        dataset: ``'ijbc'`` or ``'mars'``.
        seeds: The test seeds.
        out: The printed output.
        size: Elements per group.
    """
    assert 'selection ceilings' in out
    assert 'Ceiling: top-1 by the true D-score' in out
    ceil = res['ceilings'][dataset]
    for s in seeds:
        rows = ceil['per_seed'][str(s)]
        for m in ('average', 'top1'):
            assert rows[m] == res['per_seed'][dataset][str(s)][m]
        assert rows['top1_true_d']['base_images'] == 1
        assert rows['top1_clean']['base_images'] == 1
        for k in (2, 3, 4):
            assert rows[f'true_d_norescale@k={k}']['base_images'] == \
                min(k, size)
    assert set(ceil['summary']['difference']) == {
        'top1', 'top1_true_d', 'top1_clean', 'true_d_norescale@k=2',
        'true_d_norescale@k=3', 'true_d_norescale@k=4'
    }


def mean_ap(feats: np.ndarray, pid: np.ndarray, cam: np.ndarray,
            q: np.ndarray) -> float:
    """MARS mAP by hand: each query against the gallery minus its own
    identity-and-camera tracklets, Euclidean distance on L2-normalised
    features."""
    feats = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    aps = []
    for i in np.flatnonzero(q):
        g = ~q & ~((pid == pid[i]) & (cam == cam[i]))
        d = np.linalg.norm(feats[g] - feats[i], axis=1)
        match = (pid[g] == pid[i])[np.argsort(d, kind='stable')]
        if match.any():
            hits = np.cumsum(match)
            aps.append(np.mean(hits[match] / (np.flatnonzero(match) + 1)))
    return float(np.mean(aps))


def check_dump_selection(dump: str, threshold: float = 0.15) -> list:
    """DDL kept exactly the elements with D-score > t (or the best one)."""
    samples = load(dump)
    for s in samples:
        scores = s['ddl_scores'].numpy()
        kept = sorted(s['ddl_selected'].tolist())
        expect = np.flatnonzero(scores > threshold).tolist() or \
            [int(np.argmax(scores))]
        assert kept == sorted(expect)
        assert s['base_elements'] == len(kept)
    return samples


def run_again(main, work: str, argv: list, first: dict, data: str,
              capsys) -> str:
    """Run a demo again in its work dir (DDL only): every stage is reused
    and the DDL numbers repeat. Returns the printed log."""
    again = main(['--work-dir', work, '--methods', 'ddl'] + argv)
    log = capsys.readouterr().out
    for stage in (data, 'base model', 'DDNet'):
        assert f'[demo] {stage}: reusing' in log
    assert 'recomputing' not in log
    for dataset, per_method in again['metrics'].items():
        assert per_method.keys() == {'ddl', 'ddl_val'}
        assert per_method['ddl'] == first['metrics'][dataset]['ddl']
    assert again['validation']['chosen'] == first['validation']['chosen']
    return log


FACE_TINY = [
    '--train-ids', '12', '--train-images', '6', '--ytf-ids', '4',
    '--ytf-frames', '3', '--ytf-pairs', '2', '--ijbc-ids', '5',
    '--ijbc-templates', '2', '--ijbc-images', '3', '--ddnet-epochs', '1',
    '--test-seeds', '2', '--val-thresholds', '0.5', '--val-modes', 'ddl'
]


def test_face_demo_miniature(tmp_path, capsys):
    work = str(tmp_path / 'demo_face')
    res = face.main(['--work-dir', work, '--base-epochs', '1'] + FACE_TINY)
    out = capsys.readouterr().out
    assert 'Table 1 style' in out and 'Table 4 style' in out
    assert 'test set seed 1001' in out and 'mean +- std over 2' in out
    for name in ('Average pooling', 'Top-1', 'DDL w/o re-scaling', 'DDL',
                 'validation-chosen'):
        assert name in out
    # YTF: 2 videos x 3 frames per identity; IJB-C: 2 templates x 3 images
    check_common(res, work, {
        'ytf': [3] * 8,
        'ijbc': [3] * 10
    }, 'fig3_dscore_template.png')
    check_seeds(res, 'ijbc', [1000, 1001], face.VAL_KEYS, 5 * 6)
    assert res['data']['ytf']['pairs'] == 20
    assert set(res['metrics']['ijbc']['ddl']) >= {
        'tar@far=0.001', 'tar@far=0.01', 'tar@far=0.1', 'num_pairs'
    }
    assert {'ddl_ge_average_every_set', 'top1_within_3_points',
            'ddl_val_ok'} <= set(res['target'])
    check_ceilings(res, 'ijbc', [1000, 1001], out, 3)
    # the DDNet was trained on a table the hook wrote
    assert osp.isfile(osp.join(work, 'ddnet', 'dscore_table.npz'))

    # independent TAR@FAR=0.1 of the DDL run from the dumped features
    dump = osp.join(work, 'test', 'ijbc_seed1000', 'ddl', 'predictions.pkl')
    samples = check_dump_selection(dump)
    from mmddl.datasets.face import IJBDataset
    ds = IJBDataset(data_root=osp.join(work, 'data', 'ijbc_seed1000'))
    pairs = ds.metainfo['pairs']
    feats = {
        int(s['group_id']):
        torch.nn.functional.normalize(s['pred_feature'].double(),
                                      dim=0).numpy()
        for s in samples
    }
    sims = np.array([feats[a] @ feats[b] for a, b, _ in pairs])
    cfg = Config.fromfile(osp.join(repo_root(), face.TEST_CONFIGS['ijbc']))
    if cfg.test_evaluator.get('tar_mode', 'le') == 'nearest':
        # insightface's rule: the ROC point whose FAR is closest (ties: the
        # later point)
        fpr, tpr, _ = roc_curve(pairs[:, 2], sims, drop_intermediate=True)
        gap = np.abs(fpr - 0.1)
        expected = tpr[np.flatnonzero(gap == gap.min())[-1]]
    else:  # the largest TAR with FAR <= target
        fpr, tpr, _ = roc_curve(pairs[:, 2], sims)
        expected = tpr[fpr <= 0.1].max()
    assert res['per_seed']['ijbc']['1000']['ddl']['tar@far=0.1'] == \
        pytest.approx(expected)

    # the same command again (IJB-C only): everything reused, same numbers
    table = osp.join(work, 'ddnet', 'dscore_table.npz')
    before = open(table, 'rb').read()
    run_again(face.main, work,
              ['--base-epochs', '1', '--skip-ytf'] + FACE_TINY, res,
              'training data', capsys)
    # another base (2 epochs): the base is retrained, the DDNet stage and
    # the stale D-score table of the first base are recomputed, not refused
    face.main(
        [
            '--work-dir', work, '--methods', 'ddl', '--base-epochs', '2',
            '--skip-ytf'
        ] + FACE_TINY[:-6] +
        ['--test-seeds', '1', '--val-thresholds', '0.5', '--val-modes', 'ddl'])
    log = capsys.readouterr().out
    assert '[demo] training data: reusing' in log
    assert '[demo] base model: recomputing (inputs changed: config)' in log
    # (the base checkpoint's name changes too: epoch_2.pth)
    assert '[demo] DDNet: recomputing (inputs changed: base, config)' in log
    assert open(table, 'rb').read() != before


def test_reid_demo_miniature(tmp_path, capsys, monkeypatch):
    # run from another working directory, as a user's script would
    monkeypatch.chdir(tmp_path)
    work = str(tmp_path / 'demo_reid')
    tiny = [
        '--train-ids', '8', '--test-ids', '5', '--tracklets', '2', '--frames',
        '3', '--base-epochs', '1', '--ddnet-epochs', '1', '--test-seeds', '2',
        '--val-thresholds', '0.5', '--val-modes', 'ddl'
    ]
    res = reid.main(['--work-dir', work] + tiny)
    out = capsys.readouterr().out
    assert 'Table 7 style' in out and 'mean +- std over 2' in out
    # test groups: 5 ids x 2 tracklets x 3 frames + 2 distractors of 3
    # frames (the junk tracklet is dropped by the loader)
    check_common(res, work, {'mars': [3] * 12}, 'fig3_dscore_tracklet.png')
    # validation: 5 identities x 6 frames with ground truth (the 2
    # distractor tracklets are left out of the ranking)
    check_seeds(res, 'mars', [1000, 1001], reid.VAL_KEYS, 5 * 6)
    assert res['ddnet_ranking']['validation']['left_out'] == 6
    for s in ('1000', '1001'):
        assert res['data'][f'mars_seed{s}']['test']['queries'] == 5
    # gallery of 5 + 2 tracklets: ranks 1 and 5 only
    assert {'mAP', 'rank1', 'rank5'} <= set(res['metrics']['mars']['ddl'])
    assert 'rank20' not in res['metrics']['mars']['ddl']
    assert {'ddl_ge_average_every_set',
            'ddl_val_base_share'} <= set(res['target'])

    # independent mAP of the DDL run from the dumped features
    samples = check_dump_selection(
        osp.join(work, 'test', 'mars_seed1000', 'ddl', 'predictions.pkl'))
    feats = np.stack([s['pred_feature'].double().numpy() for s in samples])
    pid = np.array([s['pid'] for s in samples])
    cam = np.array([s['camid'] for s in samples])
    q = np.array([bool(s['is_query']) for s in samples])
    assert res['per_seed']['mars']['1000']['ddl']['mAP'] == \
        pytest.approx(mean_ap(feats, pid, cam, q))

    # the ceilings, and the top-1-by-true-D one by hand from the dense pass:
    # Eq. 2-3 over the set's frames with ground truth, one frame per
    # tracklet (the distractors keep the DDNet's choice)
    check_ceilings(res, 'mars', [1000, 1001], out, 3)
    from mmddl.analysis import load_sweep_dump
    from mmddl.core.discriminability import class_centroids, discriminability
    dump = load_sweep_dump(osp.join(work, 'test', 'mars_seed1000', 'ceilings'))
    meta = json.load(
        open(osp.join(work, 'data', 'mars_seed1000', 'element_meta.json')))
    names = [
        osp.basename(p) for g in dump.groups['groups'] for p in g['elements']
    ]
    known = np.array([n in meta for n in names])
    ids = np.unique([meta[n][0] for n in np.array(names)[known]],
                    return_inverse=True)[1]
    f = dump.outputs.astype(np.float64)
    d = np.array(dump.scores, np.float64)
    d[known] = discriminability(f[known], ids, class_centroids(f[known],
                                                               ids)).numpy()
    ptr = dump.group_ptr
    best = np.stack(
        [f[a + int(np.argmax(d[a:b]))] for a, b in zip(ptr[:-1], ptr[1:])])
    recs = dump.groups['groups']
    assert res['ceilings']['mars']['per_seed']['1000']['top1_true_d'][
        'mAP'] == pytest.approx(
            mean_ap(best, np.array([r['pid'] for r in recs]),
                    np.array([r['camid'] for r in recs]),
                    np.array([bool(r['is_query']) for r in recs])))
    run_again(reid.main, work, tiny, res, 'MARS validation data (seed 100)',
              capsys)


def test_roc_auc_rank_formula():
    """The rank formula equals sklearn's AUC, ties included."""
    from sklearn.metrics import roc_auc_score
    rng = np.random.default_rng(0)
    pos = np.round(rng.normal(0.5, 1, 40), 1)
    neg = np.round(rng.normal(0, 1, 70), 1)
    y = np.r_[np.ones(40), np.zeros(70)]
    assert roc_auc(pos,
                   neg) == pytest.approx(roc_auc_score(y, np.r_[pos, neg]))
    assert roc_auc([2, 3], [0, 1]) == 1.0
    with pytest.raises(ValueError, match='positives and negatives'):
        roc_auc([], [1.0])


def test_ranking_quality_perfect_and_left_out():
    """A predictor equal to the true D ranks perfectly; its AUC is the
    target's; elements without ground truth are left out."""
    from mmddl.core.discriminability import class_centroids, discriminability
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(4), 6)
    centers = rng.normal(size=(4, 16))
    degraded = rng.random(24) < 0.5
    degraded[:2] = [True, False]
    noise = np.where(degraded, 2.0, 0.2)[:, None]
    feats = centers[labels] + noise * rng.normal(size=(24, 16))
    true_d = discriminability(feats, labels, class_centroids(feats,
                                                             labels)).numpy()
    names = np.array([f'{i}.jpg' for i in range(25)])
    scores = dict(
        names=names,
        feats=np.r_[feats, rng.normal(size=(1, 16))],
        scores=np.r_[true_d, 0.5])
    meta = {
        f'{i}.jpg': [int(labels[i]), int(degraded[i]), 0.7]
        for i in range(24)
    }
    out = ranking_quality(scores, meta)
    assert out['spearman'] == pytest.approx(1.0)
    assert out['auc'] == out['target_auc'] == pytest.approx(
        roc_auc(true_d[~degraded], true_d[degraded]))
    assert (out['num_elements'], out['left_out'],
            out['num_degraded']) == (24, 1, int(degraded.sum()))
    with pytest.raises(ValueError, match='no element'):
        ranking_quality(scores, {})
    # with group sizes (the left-out element sits in the last group)
    scores['group_sizes'] = np.array([6, 6, 6, 7])
    out = ranking_quality(scores, meta)
    assert out['group_spearman'] == pytest.approx(1.0)
    assert out['num_groups'] == 4
    with pytest.raises(ValueError, match='group sizes sum to 24'):
        ranking_quality(dict(scores, group_sizes=np.array([6, 6, 6, 6])), meta)


def test_within_group_ranking_by_hand():
    pred = np.array([0.9, 0.1, 0.5, 0.2, 0.8, 0.3, 0.7])
    true_d = np.array([3.0, 1.0, 2.0, 1.0, 2.0, 3.0, 5.0])
    degraded = np.array([0, 1, 1, 1, 0, 1, 0], bool)
    groups = np.array([0, 0, 0, 1, 1, 1, 2])
    out = within_group_ranking(pred, true_d, degraded, groups)
    # group 0: same order (rho 1), best scored is clean; group 1: pred
    # order 0.2 < 0.3 < 0.8 vs true 1 < 3 > 2 -> rho 0.5, best is clean;
    # group 2: one element (no rho, no clean/degraded mix)
    assert out['group_spearman'] == pytest.approx((1.0 + 0.5) / 2)
    assert out['top1_clean'] == 1.0 and out['num_groups'] == 3
    out = within_group_ranking(-pred, true_d, degraded, groups)
    assert out['top1_clean'] == 0.0
    assert out['group_spearman'] == pytest.approx((-1.0 - 0.5) / 2)


def test_summarize_seeds_and_operating_point():
    per_seed = {
        1:
        dict(
            average=dict(a=0.5, base_images=6.0),
            ddl=dict(a=0.7, base_images=4.0)),
        2:
        dict(
            average=dict(a=0.6, base_images=6.0),
            ddl=dict(a=0.5, base_images=3.0)),
    }
    out = summarize_seeds(per_seed)
    assert out['mean']['ddl']['a'] == pytest.approx(0.6)
    assert out['std']['ddl']['a'] == pytest.approx(np.std([0.7, 0.5], ddof=1))
    diff = out['difference']['ddl']['a']
    assert diff['per_seed'] == pytest.approx([0.2, -0.1])
    assert (diff['min'], diff['max']) == pytest.approx((-0.1, 0.2))
    assert 'average' not in out['difference']

    cands = operating_points((0.15, 0.5), ('ddl', ))
    assert cands == {
        'ddl@t=0.15': dict(mode='ddl', threshold=0.15),
        'ddl@t=0.5': dict(mode='ddl', threshold=0.5)
    }
    assert operating_points((0.3, ), ('ddl_norescale', ), (3, )) == {
        'ddl_norescale@t=0.3': dict(mode='ddl_norescale', threshold=0.3),
        'ddl_norescale@k=3':
        dict(mode='ddl_norescale', threshold=None, topk=3)
    }
    with pytest.raises(ValueError, match='>= 1'):
        operating_points((0.3, ), ('ddl', ), (0, ))
    val = {
        'average': dict(a=0.5, base_images=6.0),
        'ddl@t=0.15': dict(a=0.6, base_images=5.0),
        'ddl@t=0.5': dict(a=0.5, base_images=2.0)
    }
    chosen = choose_operating_point(val, cands, ['a'])
    assert chosen['name'] == 'ddl@t=0.5' and chosen['qualified']
    val['ddl@t=0.5']['a'] = 0.4
    assert choose_operating_point(val, cands, ['a'])['name'] == 'ddl@t=0.15'
    val['ddl@t=0.15']['a'] = 0.45  # none qualifies: the best one
    chosen = choose_operating_point(val, cands, ['a'])
    assert chosen['name'] == 'ddl@t=0.15' and not chosen['qualified']
    with pytest.raises(KeyError, match='no validation metrics'):
        choose_operating_point({'average': val['average']}, cands, ['a'])


def test_make_persons_meta_keeps_images():
    """return_meta records the degradations without changing the images."""
    from mmddl.testing.synthetic_persons import make_persons
    plain = make_persons(3, 4, seed=5, degradation_prob=0.5)
    imgs, meta = make_persons(
        3, 4, seed=5, degradation_prob=0.5, return_meta=True)
    for a, b in zip(plain, imgs):
        np.testing.assert_array_equal(a, b)
    recs = [r for per in meta['degradations'] for r in per]
    assert len(recs) == 12
    assert all((r['severity'] > 0) == bool(r['kinds']) for r in recs)
    clean = make_persons(2, 3, seed=5, return_meta=True)[1]
    assert not any(r['kinds'] for per in clean['degradations'] for r in per)
