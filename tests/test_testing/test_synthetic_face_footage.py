"""generate_face_footage: MOTChallenge layout, boxes inside the frames and
on the faces, determinism, and COCO-VID annotations of class ``face``."""
import hashlib
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmddl.datasets.tracks import read_mot, read_seqinfo
from mmddl.testing.synthetic_face_footage import (FaceFootageSettings,
                                                  generate_face_footage)
from mmddl.testing.synthetic_footage import write_coco_annotations

S = FaceFootageSettings(num_cameras=2, num_frames=6, num_identities=3)


def _digest(root):
    h = hashlib.sha256()
    for d, _, fs in sorted(os.walk(root)):
        for f in sorted(fs):
            with open(osp.join(d, f), 'rb') as fh:
                h.update(fh.read())
    return h.hexdigest()


def test_layout_and_boxes(tmp_path):
    res = generate_face_footage(str(tmp_path), 0, S)
    assert res['boxes'] == 2 * 6 * 3 and res['frames'] == 12
    assert [osp.basename(s) for s in res['sequences']] == [
        'FACES-01', 'FACES-02'
    ]
    for seq in res['sequences']:
        info = read_seqinfo(seq)
        assert (info.seq_length, info.im_height, info.im_width) == (6, 120,
                                                                    160)
        gt = read_mot(osp.join(seq, 'gt', 'gt.txt'), 'gt', 6)
        assert sorted(set(gt.ids)) == [1, 2, 3]
        b = gt.boxes
        assert (b[:, 0] >= 0).all() and (b[:, 1] >= 0).all()
        assert (b[:, 0] + b[:, 2] <= 160).all()
        assert (b[:, 1] + b[:, 3] <= 120).all()
        assert (b[:, 2] == b[:, 3]).all() and (b[:, 2] >= 28).all()
        # a face's box differs from the background there in most frames
        # (faces pasted later may cover part of an earlier one)
        diffs = []
        for r in range(len(gt.frames)):
            img = cv2.imread(info.frame_path(seq, int(gt.frames[r])))
            x, y, w, h = b[r].astype(int)
            crop = img[y:y + h, x:x + w].astype(float)
            diffs.append(crop.std(axis=(0, 1)).mean())
        assert np.median(diffs) > 10


def test_deterministic_and_coco(tmp_path):
    a, b, c = (str(tmp_path / n) for n in 'abc')
    generate_face_footage(a, 1, S)
    generate_face_footage(b, 1, S)
    generate_face_footage(c, 2, S)
    assert _digest(a) == _digest(b) != _digest(c)
    out = write_coco_annotations(a, str(tmp_path / 'ann.json'),
                                 category='face')
    assert out['images'] == 12 and out['annotations'] == 36
    CocoDataset = pytest.importorskip('mmdet.datasets').CocoDataset
    ds = CocoDataset(
        data_root=a,
        ann_file=str(tmp_path / 'ann.json'),
        data_prefix=dict(img=''),
        metainfo=dict(classes=('face', )),
        pipeline=[],
        test_mode=True)
    assert len(ds) == 12
    assert sum(len(ds.get_data_info(i)['instances'])
               for i in range(12)) == 36


def test_too_small_frames(tmp_path):
    with pytest.raises(ValueError, match='too small'):
        generate_face_footage(
            str(tmp_path), 0, FaceFootageSettings(frame_size=(60, 60)))
