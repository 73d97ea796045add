"""mot_challenge_metrics: TrackEval scores of hand-made tracker files whose
counts are known."""
import os.path as osp

import numpy as np
import pytest

from mmddl.datasets.tracks import write_mot
from mmddl.evaluation.functional import mot_challenge_metrics

LENGTH = 10


def _gt(root):
    """Two walkers over 10 frames and a standing person (class 7, conf 0)."""
    frames, ids, boxes, confs, classes = [], [], [], [], []
    for k in range(1, LENGTH + 1):
        for i, (x, y) in enumerate([(10 + 3 * k, 20), (150 - 3 * k, 30)]):
            frames.append(k)
            ids.append(i + 1)
            boxes.append([x, y, 20, 50])
            confs.append(1)
            classes.append(1)
        frames.append(k)
        ids.append(1001)
        boxes.append([90, 80, 20, 50])
        confs.append(0)
        classes.append(7)
    path = osp.join(root, 'gt.txt')
    write_mot(path, frames, ids, np.asarray(boxes, float), confs=confs,
              classes=classes, visibility=np.ones(len(ids)), kind='gt')
    return path, np.asarray(frames), np.asarray(ids), np.asarray(
        boxes, float), np.asarray(classes)


def _pred(root, frames, ids, boxes, name='pred.txt'):
    path = osp.join(root, name)
    write_mot(path, frames, ids, boxes, kind='results')
    return path


def _score(gt, pred):
    return mot_challenge_metrics(
        [dict(name='SEQ-01', gt_file=gt, pred_file=pred,
              length=LENGTH)])['combined']


def test_perfect_tracks_and_static_person_ignored(tmp_path):
    gt, frames, ids, boxes, classes = _gt(str(tmp_path))
    # every box, the standing person's too: MOT17 preprocessing drops the
    # prediction on the distractor (class 7) instead of counting an FP
    pred = _pred(str(tmp_path), frames, ids + 5, boxes)
    m = _score(gt, pred)
    assert m['HOTA'] == 100.0 and m['MOTA'] == 100.0 and m['IDF1'] == 100.0
    assert (m['CLR_TP'], m['CLR_FP'], m['CLR_FN']) == (20, 0, 0)
    assert m['IDSW'] == 0 and m['MT'] == 2


def test_missed_frame_false_box_and_switch(tmp_path):
    gt, frames, ids, boxes, classes = _gt(str(tmp_path))
    walk = classes == 1
    f, i, b = frames[walk], ids[walk].copy(), boxes[walk].copy()
    keep = f != 4  # both walkers missed in frame 4
    i[(i == 1) & (f >= 7)] = 9  # walker 1 gets a new id from frame 7
    f, i, b = f[keep], i[keep], b[keep]
    # one false box far from everyone in frame 2
    f, i = np.r_[f, 2], np.r_[i, 50]
    b = np.r_[b, [[250, 150, 20, 50]]]
    m = _score(gt, _pred(str(tmp_path), f, i, b))
    tp, fp, fn, idsw = 18, 1, 2, 1
    assert (m['CLR_TP'], m['CLR_FP'], m['CLR_FN'], m['IDSW']) == (tp, fp,
                                                                  fn, idsw)
    # CLEAR MOTA = 1 - (FN + FP + IDSW) / gt, computed here independently
    assert m['MOTA'] == pytest.approx(100 * (1 - (fn + fp + idsw) / 20),
                                      abs=1e-3)
    # IDF1 = 2 IDTP / (2 IDTP + IDFP + IDFN): walker 1's best id covers 6
    # of its 9 matched frames (1-3, 5, 6 and none of 7-10 -> 5), walker 2
    # all 9
    assert m['IDTP'] == 5 + 9
    assert m['IDF1'] == pytest.approx(
        100 * 2 * m['IDTP'] / (2 * m['IDTP'] + m['IDFP'] + m['IDFN']),
        abs=1e-3)
    assert m['HOTA'] < 100


def test_bad_inputs_named(tmp_path):
    gt, frames, ids, boxes, _ = _gt(str(tmp_path))
    pred = _pred(str(tmp_path), frames, ids, boxes)
    with pytest.raises(FileNotFoundError, match='pred_file'):
        mot_challenge_metrics([dict(name='A', gt_file=gt,
                                    pred_file=pred + '.x', length=10)])
    with pytest.raises(ValueError, match='repeat'):
        mot_challenge_metrics([
            dict(name='A', gt_file=gt, pred_file=pred, length=10),
            dict(name='A', gt_file=gt, pred_file=pred, length=10)
        ])
    with pytest.raises(KeyError, match='length'):
        mot_challenge_metrics([dict(name='A', gt_file=gt, pred_file=pred)])
    with pytest.raises(ValueError, match='no sequence'):
        mot_challenge_metrics([])
