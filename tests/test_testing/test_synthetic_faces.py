"""Synthetic identities and degradations: determinism and effects."""
import numpy as np
import pytest

from mmddl.testing.synthetic_faces import (DEGRADATIONS, degrade,
                                           make_identities, pose)


def test_make_identities_deterministic_and_shaped():
    a, meta_a = make_identities(3, [2, 4, 3], size=24, seed=5, degradation_prob=0.7,
                                return_meta=True)
    b, meta_b = make_identities(3, [2, 4, 3], size=24, seed=5, degradation_prob=0.7,
                                return_meta=True)
    c = make_identities(3, [2, 4, 3], size=24, seed=6, degradation_prob=0.7)
    assert [x.shape for x in a] == [(2, 24, 24, 3), (4, 24, 24, 3), (3, 24, 24, 3)]
    assert all(x.dtype == np.uint8 for x in a)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert meta_a['degradations'] == meta_b['degradations']
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))
    kinds = {k for per_id in meta_a['degradations'] for rec in per_id for k in rec['kinds']}
    assert kinds <= set(DEGRADATIONS) and kinds
    assert all(isinstance(k, str) for k in kinds)
    assert meta_a['landmarks'][1].shape == (4, 5, 2)


def test_identities_differ_more_between_than_within():
    ids = make_identities(4, 5, size=32, seed=1)
    means = np.stack([x.reshape(5, -1).astype(float).mean(0) for x in ids])
    within = np.mean([np.abs(x.reshape(5, -1) - m).mean() for x, m in zip(ids, means)])
    between = np.mean([np.abs(means[i] - means[j]).mean()
                       for i in range(4) for j in range(i + 1, 4)])
    assert between > within * 0.8  # identity appearance dominates jitter


@pytest.mark.parametrize('kind', DEGRADATIONS)
def test_each_degradation_changes_image_and_is_seeded(kind):
    img = make_identities(1, 1, size=32, seed=2)[0][0]
    out1, _ = degrade(img, [kind], np.random.default_rng(0), 0.8)
    out2, _ = degrade(img, [kind], np.random.default_rng(0), 0.8)
    assert out1.shape == img.shape and out1.dtype == np.uint8
    assert np.array_equal(out1, out2)
    assert np.abs(out1.astype(int) - img).mean() > 2


def test_degradation_strength_grows_with_severity():
    img = make_identities(1, 1, size=32, seed=3)[0][0]
    for kind in ('blur', 'noise', 'low_light'):
        def change(sev):
            out = degrade(img, [kind], np.random.default_rng(0), sev)[0]
            return np.abs(out.astype(int) - img).mean()
        weak, strong = change(0.1), change(1.0)
        assert strong > weak, kind
    dark = degrade(img, ['low_light'], np.random.default_rng(0), 1.0)[0]
    assert dark.mean() < img.mean() * 0.5


def test_pose_moves_landmarks_with_the_pixels():
    img = np.zeros((48, 48, 3), np.uint8)
    pts = np.array([[14, 18], [33, 17], [24, 27], [17, 36], [31, 35]], np.float32)
    for x, y in pts.astype(int):
        img[y, x] = 255
    out, moved = pose(img, np.random.default_rng(4), 0.7, pts)
    for x, y in moved:  # the bright dot must have landed at the moved point
        xi, yi = int(round(x)), int(round(y))
        assert out[max(yi - 1, 0):yi + 2, max(xi - 1, 0):xi + 2].max() > 40


def test_bad_degradation_inputs():
    img = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match='Unknown degradation'):
        degrade(img, ['rain'], np.random.default_rng(0))
    with pytest.raises(ValueError, match='severity'):
        degrade(img, ['blur'], np.random.default_rng(0), 1.5)
    with pytest.raises(ValueError, match='image counts'):
        make_identities(2, [1, 2, 3])
