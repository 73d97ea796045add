"""track_identities, cross_camera_queries and cross_camera_reid against
hand-worked examples."""
import numpy as np
import pytest

from mmddl.evaluation.functional import (NO_IDENTITY, box_iou,
                                         cross_camera_queries,
                                         cross_camera_reid, track_identities)


def test_box_iou():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[5, 0, 10, 10], [20, 20, 5, 5], [0, 0, 10, 10]])
    np.testing.assert_allclose(box_iou(a, b), [[50 / 150, 0, 1]])


def test_track_identities_majority_and_false_track():
    gt_f = [1, 1, 2, 2, 3, 3]
    gt_i = [7, 8, 7, 8, 7, 8]
    gt_b = [[0, 0, 10, 20], [30, 0, 10, 20]] * 3
    # track 1 sits on id 7 in frames 1-2, drifts onto id 8 in frame 3;
    # track 2 is nowhere near anyone; track 3 overlaps id 8 at IoU 0.4
    pf = [1, 2, 3, 1, 2, 1]
    pi = [1, 1, 1, 2, 2, 3]
    pb = [[0, 0, 10, 20], [1, 0, 10, 20], [30, 0, 10, 20], [100, 100, 5, 5],
          [100, 100, 5, 5], [34, 0, 10, 20]]
    out = track_identities(pf, pi, pb, gt_f, gt_i, gt_b)
    assert out[1] == dict(identity=7, frames=3, overlap=pytest.approx(2 / 3))
    assert out[2]['identity'] == NO_IDENTITY and out[2]['overlap'] == 0
    assert out[3]['identity'] == NO_IDENTITY  # IoU 6/14 < 0.5
    out = track_identities(pf, pi, pb, gt_f, gt_i, gt_b, iou_threshold=0.4)
    assert out[3]['identity'] == 8
    with pytest.raises(ValueError, match='predicted boxes'):
        track_identities(pf, pi[:-1], pb, gt_f, gt_i, gt_b)


def test_cross_camera_reid_hand_worked():
    # camera 0: A, B; camera 1: A', B', a false track F; camera 2: C only
    emb = np.array([[1, 0, 0], [0, 1, 0], [0.9, 0.1, 0], [0.3, 0.9, 0.3],
                    [0, 0.95, 0.3], [0.1, 0.2, 1]], float)
    ids = [1, 2, 1, 2, NO_IDENTITY, 3]
    cams = [0, 0, 1, 1, 1, 2]
    res = cross_camera_reid(emb, ids, cams, max_rank=3)
    # independent: rank every query's other-camera gallery by hand
    aps, r1 = [], []
    e = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    for q in range(len(ids)):
        if ids[q] == NO_IDENTITY:
            continue
        g = [j for j in range(len(ids)) if cams[j] != cams[q]]
        if ids[q] not in [ids[j] for j in g]:
            continue
        order = sorted(g, key=lambda j: np.linalg.norm(e[q] - e[j]))
        hits = np.array([ids[j] == ids[q] for j in order], float)
        prec = np.cumsum(hits) / np.arange(1, len(hits) + 1)
        aps.append((prec * hits).sum() / hits.sum())
        r1.append(hits[0])
    assert res['queries'] == 4 and res['skipped_queries'] == 1
    assert res['no_identity'] == 1
    assert res['mAP'] == pytest.approx(100 * np.mean(aps), abs=1e-3)
    assert res['rank1'] == pytest.approx(100 * np.mean(r1), abs=1e-3)
    # B (camera 0) ranks the false track F above B': rank-1 misses it
    # (no two distances tie, so no tie rule is involved)
    assert res['rank1'] == 75.0


def test_cross_camera_reid_errors():
    with pytest.raises(ValueError, match='nothing to match'):
        cross_camera_reid(np.eye(2), [1, 2], [0, 1])
    with pytest.raises(ValueError, match='non-finite'):
        cross_camera_reid(np.array([[np.nan, 0], [1, 0]]), [1, 1], [0, 1])
    with pytest.raises(ValueError, match='identities'):
        cross_camera_reid(np.eye(2), [1], [0, 1])


def test_cross_camera_queries():
    # walker 0 in cameras 0 and 1, walker 1 in camera 1 only, nobody (-1)
    # in both: the two tracks of walker 0 are the only queries
    np.testing.assert_array_equal(
        cross_camera_queries([0, 0, 1, NO_IDENTITY, NO_IDENTITY],
                             [0, 1, 1, 0, 1]),
        [True, True, False, False, False])
    assert not cross_camera_queries([0, 0, 1], [0, 0, 1]).any()
    with pytest.raises(ValueError, match='2 identities and 3 cameras'):
        cross_camera_queries([0, 1], [0, 1, 2])
    # the queries cross_camera_reid scores and the ones it skips
    rng = np.random.default_rng(3)
    for _ in range(20):
        ids = rng.integers(-1, 6, 15)
        cams = rng.integers(0, 3, 15)
        n = int(cross_camera_queries(ids, cams).sum())
        emb = rng.normal(size=(15, 4))
        if n:
            res = cross_camera_reid(emb, ids, cams)
            assert res['queries'] == n
            assert res['skipped_queries'] == int((ids >= 0).sum()) - n
        else:
            with pytest.raises(ValueError, match='another camera'):
                cross_camera_reid(emb, ids, cams)
