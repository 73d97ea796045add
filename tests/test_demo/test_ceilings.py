"""The selection ceilings' oracle scores, checked by hand."""
import numpy as np
import pytest

from demo.ceilings import (ceiling_points, oracle_scores,
                                 summarize_ceilings)


def _raw_d(feats, labels):
    """Eq. 2-3 by hand: cos to the own centroid over the largest cos to
    another centroid (centroids: mean of the class's features), that cos
    floored at the library's NEG_COS_FLOOR."""
    from mmddl.core.discriminability import NEG_COS_FLOOR
    cents = np.stack([feats[labels == c].mean(0) for c in np.unique(labels)])
    f = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    c = cents / np.linalg.norm(cents, axis=1, keepdims=True)
    cos = f @ c.T
    pos = cos[np.arange(len(f)), labels]
    neg = np.where(np.eye(len(c), dtype=bool)[labels], -np.inf, cos).max(1)
    return pos / np.maximum(neg, NEG_COS_FLOOR)


def _per_class_dscore(d, labels):
    out = np.empty_like(d)
    for c in np.unique(labels):
        m = labels == c
        out[m] = 1 / (1 + np.exp(-(d[m] - d[m].mean()) / d[m].std()))
    return out


def test_oracle_scores_by_hand():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 4)  # 3 identities, 4 images each
    degraded = np.tile([False, True, True, False], 3)
    centers = 3 * rng.normal(size=(3, 8))
    feats = centers[labels] + np.where(degraded, 2.0, 0.3)[:, None] * \
        rng.normal(size=(12, 8))
    # groups: two per identity, plus a group with an unknown element
    names = [f'{i}.jpg' for i in range(12)] + ['junk.jpg']
    feats = np.r_[feats, rng.normal(size=(1, 8))]
    ddnet = rng.random(13)
    ptr = np.array([0, 2, 4, 6, 8, 10, 11, 13])
    meta = {
        f'{i}.jpg': [int(labels[i]) + 7,
                     int(degraded[i]), 0.5]
        for i in range(12)
    }
    out = oracle_scores(names, feats, ddnet, ptr, meta)
    dscore = _per_class_dscore(_raw_d(feats[:12], labels), labels)
    # groups 0-5 hold known elements only; the last mixes 11 and junk
    np.testing.assert_allclose(out['true_d'][:11], dscore[:11], rtol=1e-5)
    np.testing.assert_allclose(out['true_d'][11:], ddnet[11:], rtol=1e-6)
    np.testing.assert_allclose(out['clean'][11:], ddnet[11:], rtol=1e-6)
    assert out['ddnet_groups'] == 1
    clean = out['clean']
    for a, b in zip(ptr[:-2], ptr[1:-1]):
        d, c = degraded[a:b], clean[a:b]
        if d.any() and (~d).any():
            assert c[~d].min() > c[d].max()
        # each kind in true-D order
        assert (np.argsort(c[~d]) == np.argsort(dscore[a:b][~d])).all()
    assert ((0 < clean) & (clean < 1)).all()
    with pytest.raises(
            ValueError, match='group offsets end at 11, not at the 13'):
        oracle_scores(names, feats, ddnet, ptr[:-1], meta)
    with pytest.raises(ValueError, match='no element'):
        oracle_scores(names, feats, ddnet, ptr, {})


def test_ceiling_points_and_summary():
    points = ceiling_points([2, 3])
    assert list(points) == [
        'top1_true_d', 'top1_clean', 'true_d_norescale@k=2',
        'true_d_norescale@k=3'
    ]
    assert points['true_d_norescale@k=3'] == ('true_d',
                                              dict(
                                                  mode='ddl_norescale',
                                                  threshold=None,
                                                  topk=3))
    per_seed = {
        s:
        dict(average=dict(t=0.5 + s / 10), top1=dict(t=0.4), ddl=dict(t=0.9))
        for s in (1, 2)
    }
    ceil = {s: dict(top1_true_d=dict(t=0.45)) for s in (1, 2)}
    out = summarize_ceilings(per_seed, ceil)
    assert list(out['per_seed']['1']) == ['average', 'top1', 'top1_true_d']
    diff = out['summary']['difference']['top1_true_d']['t']
    assert diff['per_seed'] == pytest.approx([-0.15, -0.25])
    with pytest.raises(ValueError, match='ceilings of sets'):
        summarize_ceilings(per_seed, {1: ceil[1]})
