"""Verification metrics vs. independent computations (sklearn, brute force)."""
import itertools

import mmddl  # noqa: F401  (compat first)
import numpy as np
import pytest
import torch
from sklearn.metrics import roc_curve

from mmddl.evaluation.functional import (best_threshold, kfold_accuracy,
                                         roc_points, roc_tar_at_far,
                                         roc_tar_at_far_folds, tpr_at_fpr,
                                         tpr_at_fpr_all_pairs)

FARS = [1e-4, 1e-3, 1e-2, 5e-2, 1e-1, 0.3]


def _random_pairs(rng, n=3000, ties=False):
    labels = rng.random(n) < 0.3
    scores = rng.normal(size=n) + 1.5 * labels
    if ties:  # quantised scores: many ties, vertical/horizontal ROC segments
        scores = np.round(scores, 1)
    return scores, labels.astype(int)


# ---------------------------------------------------------------- ROC / TAR
@pytest.mark.parametrize('ties', [False, True])
@pytest.mark.parametrize('drop', [False, True])
def test_roc_points_equal_sklearn(ties, drop):
    s, y = _random_pairs(np.random.default_rng(0), ties=ties)
    fpr, tpr, thr = roc_points(s, y, drop_intermediate=drop)
    ref_fpr, ref_tpr, ref_thr = roc_curve(y, s, drop_intermediate=drop)
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(tpr, ref_tpr)
    assert np.isinf(thr[0]) and np.isinf(ref_thr[0])
    np.testing.assert_allclose(thr[1:], ref_thr[1:])


@pytest.mark.parametrize('ties', [False, True])
def test_tar_le_vs_sklearn(ties):
    s, y = _random_pairs(np.random.default_rng(1), ties=ties)
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    expected = [tpr[fpr <= far].max() for far in FARS]
    np.testing.assert_allclose(roc_tar_at_far(s, y, FARS, mode='le'), expected)


def test_tar_nearest_reproduces_insightface_rule():
    s, y = _random_pairs(np.random.default_rng(2), ties=True)
    fpr, tpr, _ = roc_curve(y, s)  # insightface: default drop_intermediate
    fpr, tpr = np.flipud(fpr), np.flipud(tpr)
    expected = []
    for far in FARS:  # the exact ijb_11.py expression
        _, idx = min(list(zip(abs(fpr - far), range(len(fpr)))))
        expected.append(tpr[idx])
    np.testing.assert_allclose(roc_tar_at_far(s, y, FARS, mode='nearest'), expected)


def test_tar_interp_vs_segment_loop():
    s, y = _random_pairs(np.random.default_rng(3), ties=True)  # diagonal segments
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    expected = []
    for far in FARS:  # walk the piecewise-linear curve segment by segment
        for i in range(len(fpr) - 1):
            if fpr[i] <= far < fpr[i + 1]:
                val = tpr[i] + (far - fpr[i]) / (fpr[i + 1] - fpr[i]) * (tpr[i + 1] - tpr[i])
        expected.append(val)
    np.testing.assert_allclose(roc_tar_at_far(s, y, FARS, mode='interp'), expected)


def test_tar_modes_agree_on_exact_points_and_order():
    s, y = _random_pairs(np.random.default_rng(4), n=2000)
    n_neg = int((y == 0).sum())
    fars = [7 / n_neg, 3 / n_neg, 50 / n_neg]
    le = roc_tar_at_far(s, y, fars, mode='le')
    np.testing.assert_allclose(roc_tar_at_far(s, y, fars, mode='interp'), le)
    assert le[1] <= le[0] <= le[2]  # returned in the given order
    assert tpr_at_fpr(s, y, fars[0]) == pytest.approx(le[0])


def test_tar_nearest_and_le_differ_on_crafted_roc():
    # scores desc: P P N P P N N -> ROC (0,.25) (0,.5) (1/3,.5) (1/3,1) ...
    s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3]
    y = [1, 1, 0, 1, 1, 0, 0]
    # no ROC point at FAR .25: 'le' stays at FAR 0 (TAR .5), 'nearest' takes
    # the last point at FAR 1/3 (TAR 1), above the target FAR
    assert roc_tar_at_far(s, y, [0.25], mode='le')[0] == pytest.approx(0.5)
    assert roc_tar_at_far(s, y, [0.25], mode='nearest')[0] == pytest.approx(1.0)
    # at FAR 1/3 exactly (an ROC point) both read TAR 1
    np.testing.assert_allclose(
        [roc_tar_at_far(s, y, [1 / 3], mode=m)[0] for m in ('le', 'nearest')],
        [1.0, 1.0])


def test_tar_hand_example():
    # scores desc: 0.9(P) 0.8(N) 0.7(P) 0.6(N) 0.5(P) 0.4(N); 3 impostors
    s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    y = [1, 0, 1, 0, 1, 0]
    tar = roc_tar_at_far(s, y, [0.2, 1 / 3, 0.5, 2 / 3], mode='le')
    np.testing.assert_allclose(tar, [1 / 3, 2 / 3, 2 / 3, 1.0])
    # a tie between a genuine and an impostor pair gives a diagonal segment:
    # ROC (0,0) (0,.5) (.5,1) (1,1); at FAR .25: le -> .5, interp -> .75
    s2, y2 = [0.9, 0.5, 0.5, 0.1], [1, 1, 0, 0]
    assert roc_tar_at_far(s2, y2, [0.25], mode='le')[0] == pytest.approx(0.5)
    assert roc_tar_at_far(s2, y2, [0.25], mode='interp')[0] == pytest.approx(0.75)


def test_tar_bad_inputs():
    with pytest.raises(ValueError, match='both classes'):
        roc_tar_at_far([0.1, 0.2], [1, 1], [0.1])
    with pytest.raises(ValueError, match='0/1'):
        roc_tar_at_far([0.1, 0.2], [1, 2], [0.1])
    with pytest.raises(ValueError, match='Length mismatch'):
        roc_tar_at_far([0.1, 0.2, 0.3], [1, 0], [0.1])
    with pytest.raises(ValueError, match='non-finite'):
        roc_tar_at_far([0.1, np.nan], [1, 0], [0.1])
    with pytest.raises(ValueError, match='mode'):
        roc_tar_at_far([0.1, 0.2], [1, 0], [0.1], mode='foo')
    with pytest.warns(UserWarning, match='not resolved'):
        roc_tar_at_far([0.1, 0.2, 0.3], [1, 0, 0], [1e-6])


def test_tar_folds_mean_std():
    rng = np.random.default_rng(5)
    s, y = _random_pairs(rng, n=3000)
    folds = rng.integers(1, 4, size=s.size)
    mean, std, per_fold, ids = roc_tar_at_far_folds(s, y, folds, fars=[1e-2, 1e-1])
    ref = []
    for k in (1, 2, 3):
        fpr, tpr, _ = roc_curve(y[folds == k], s[folds == k])
        ref.append([tpr[fpr <= far].max() for far in (1e-2, 1e-1)])
    ref = np.array(ref)
    np.testing.assert_allclose(per_fold, ref)
    np.testing.assert_allclose(mean, ref.mean(0))
    np.testing.assert_allclose(std, ref.std(0))
    assert ids.tolist() == [1, 2, 3]


# ---------------------------------------------------------- all-pairs TPR
@pytest.mark.parametrize('fpr', [1e-3, 1e-2, 0.2])
@pytest.mark.parametrize('chunk', [7, 1000])
def test_all_pairs_tpr_matches_explicit_pairs(fpr, chunk):
    rng = np.random.default_rng(6)
    labels = rng.integers(0, 12, size=90)
    feats = rng.normal(size=(12, 16))[labels] + 1.2 * rng.normal(size=(90, 16))
    x = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    i, j = np.triu_indices(90, k=1)
    scores = (x[i] * x[j]).sum(1)
    same = (labels[i] == labels[j]).astype(int)
    fp, tp, _ = roc_curve(same, scores, drop_intermediate=False)
    expected = tp[fp <= fpr].max()
    got = tpr_at_fpr_all_pairs(torch.from_numpy(feats), labels, fpr=fpr,
                               chunk_size=chunk, dtype=torch.float64)
    assert got == pytest.approx(expected, abs=1e-12)
    assert got == pytest.approx(tpr_at_fpr(scores, same, fpr))


def test_all_pairs_needs_both_kinds():
    with pytest.raises(ValueError, match='genuine and impostor'):
        tpr_at_fpr_all_pairs(np.eye(3), [0, 1, 2])


# ------------------------------------------------------------ k-fold accuracy
def _brute_force_kfold(s, y, folds):
    """Straightforward loop: try every candidate threshold on the train folds."""
    accs, thrs = [], []
    for f in sorted(set(folds.tolist())):
        tr, te = folds != f, folds == f
        u = sorted(set(s[tr].tolist()))
        cands = [-np.inf] + [(a + b) / 2 for a, b in zip(u[:-1], u[1:])] + [np.inf]
        best_acc, best_thr = -1.0, None
        for t in cands:  # ascending; '>=' keeps the largest best threshold
            acc = np.mean((s[tr] >= t) == y[tr])
            if acc >= best_acc:
                best_acc, best_thr = acc, t
        accs.append(np.mean((s[te] >= best_thr) == y[te]))
        thrs.append(best_thr)
    return np.array(accs), np.array(thrs)


@pytest.mark.parametrize('ties', [False, True])
def test_kfold_accuracy_vs_brute_force(ties):
    rng = np.random.default_rng(7)
    s, y = _random_pairs(rng, n=400, ties=ties)
    folds = np.repeat(np.arange(1, 11), 40)
    res = kfold_accuracy(s, y, folds)
    accs, thrs = _brute_force_kfold(s, y.astype(bool), folds)
    np.testing.assert_allclose(res.accuracies, accs)
    np.testing.assert_allclose(res.thresholds, thrs)
    assert res.mean == pytest.approx(accs.mean())
    assert res.std == pytest.approx(accs.std())
    assert res.fold_ids.tolist() == list(range(1, 11))


def test_best_threshold_hand_example_and_extremes():
    thr, acc = best_threshold(np.array([0.1, 0.2, 0.8, 0.9]),
                              np.array([False, False, True, True]))
    assert thr == pytest.approx(0.5) and acc == 1.0
    thr, acc = best_threshold(np.array([0.3, 0.4]), np.array([True, True]))
    assert thr == -np.inf and acc == 1.0
    thr, acc = best_threshold(np.array([0.3, 0.4]), np.array([False, False]))
    assert thr == np.inf and acc == 1.0


def test_kfold_bad_inputs():
    with pytest.raises(ValueError, match='>= 2 folds'):
        kfold_accuracy([0.1, 0.2], [0, 1], [1, 1])
    with pytest.raises(ValueError, match='Length mismatch'):
        kfold_accuracy([0.1, 0.2], [0, 1], [1, 2, 3])


def test_kfold_accepts_torch_and_perfect_separation():
    s = torch.tensor([0.9, 0.1, 0.8, 0.2] * 5, dtype=torch.float32)
    y = torch.tensor([1, 0, 1, 0] * 5)
    folds = np.repeat(np.arange(5), 4)
    res = kfold_accuracy(s, y, folds)
    assert res.mean == 1.0 and res.std == 0.0
    assert list(itertools.chain(res.accuracies)) == [1.0] * 5


# ------------------------------------------------- IJB media/template pooling
def _insightface_template(feats, medias, scores):
    """The per-template body of insightface's image2template_feature."""
    x = feats * scores[:, np.newaxis]
    media_feats = []
    for u in np.unique(medias):
        (ind,) = np.where(medias == u)
        media_feats.append(x[ind] if len(ind) == 1 else np.mean(x[ind], 0, keepdims=True))
    t = np.sum(np.array(media_feats), axis=0).ravel()
    return t / np.sqrt((t ** 2).sum())


def test_media_template_pool_matches_insightface_loop():
    from mmddl.evaluation.functional import media_template_pool
    rng = np.random.default_rng(8)
    feats, medias = rng.normal(size=(7, 5)), np.array([4, 9, 4, 4, 2, 9, 7])
    scores = rng.uniform(0.5, 1, 7)
    ref = _insightface_template(feats, medias, scores)
    np.testing.assert_allclose(media_template_pool(feats, medias, scores), ref, atol=1e-12)
    out = media_template_pool(torch.from_numpy(feats), medias, scores)
    assert isinstance(out, torch.Tensor)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)
    ones = _insightface_template(feats, medias, np.ones(7))
    np.testing.assert_allclose(media_template_pool(feats, medias), ones, atol=1e-12)
    with pytest.raises(ValueError, match='media ids'):
        media_template_pool(feats, medias[:3])
