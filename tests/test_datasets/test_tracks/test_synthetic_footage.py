"""The footage generator: MOTChallenge layout, determinism, its record against
the files, and the detector (COCO) / re-ID (MARS) training material."""
import hashlib
import json
import os
import os.path as osp

import mmddl  # noqa: F401  (compat first)

# isort: split
import cv2
import numpy as np
import pytest

from mmddl.datasets.reid import MARSDataset
from mmddl.datasets.tracks import cut_crop, read_mot, read_seqinfo
from mmddl.testing.synthetic_footage import (BOX_FIELDS, FootageSettings,
                                             footage_sequences,
                                             generate_footage,
                                             write_coco_annotations,
                                             write_reid_crops)

F = {k: i for i, k in enumerate(BOX_FIELDS)}
SMALL = FootageSettings(num_frames=8, num_identities=3, frame_size=(96, 128))


def _digest(root):
    h = hashlib.sha256()
    for d, _, files in sorted(os.walk(root)):
        for f in sorted(files):
            h.update(f.encode())
            with open(osp.join(d, f), 'rb') as fh:
                h.update(fh.read())
    return h.hexdigest()


def test_layout_seqinfo_and_gt(footage):
    s = FootageSettings()
    root, summary = footage['root'], footage['summary']
    assert summary['sequences'] == [
        osp.join(root, 'SYNTH-01'), osp.join(root, 'SYNTH-02')
    ]
    for c, seq in enumerate(summary['sequences']):
        info = read_seqinfo(seq)
        assert (info.name, info.im_dir, info.frame_rate, info.seq_length,
                info.im_width, info.im_height,
                info.im_ext) == (f'SYNTH-0{c + 1}', 'img1', 10.0, 40, 320,
                                 240, '.jpg')
        names = sorted(os.listdir(osp.join(seq, 'img1')))
        assert names == [f'{k:06d}.jpg' for k in range(1, 41)]
        assert cv2.imread(osp.join(seq, 'img1', names[-1])).shape == (240,
                                                                      320, 3)
        gt = read_mot(osp.join(seq, 'gt', 'gt.txt'), 'gt', 40,
                      keep_classes=None, keep_zero_conf=True)
        walk = gt.classes == 1
        assert set(gt.ids[walk]) <= set(range(1, s.num_identities + 1))
        assert (gt.confs[walk] == 1).all() and (gt.confs[~walk] == 0).all()
        assert set(gt.classes[~walk]) == {7} and (gt.ids[~walk] > 1000).all()
        # the record holds exactly the gt rows
        rec = [b for b in footage['record']['boxes'] if b[F['camera']] == c]
        got = sorted(zip(gt.frames, gt.ids, *gt.boxes.T, gt.visibility))
        want = sorted((b[F['frame']], b[F['id']], b[F['x']], b[F['y']],
                       b[F['w']], b[F['h']], b[F['visibility']])
                      for b in rec)
        np.testing.assert_allclose(np.asarray(got), np.asarray(want),
                                   atol=1e-3)
        # partial flag == box crosses the frame border
        for b in rec:
            out = (b[F['x']] < 0 or b[F['y']] < 0
                   or b[F['x']] + b[F['w']] > 320
                   or b[F['y']] + b[F['h']] > 240)
            assert b[F['partial']] == out
            if out or b[F['occluded']]:
                assert b[F['visibility']] < 1


def test_summary_counts_from_the_files(footage):
    summary = footage['summary']
    tracks, frames, boxes = {}, set(), 0
    for c, seq in enumerate(summary['sequences']):
        gt = read_mot(osp.join(seq, 'gt', 'gt.txt'))  # pedestrians
        boxes += len(gt)
        for tid, rows in gt.tracks().items():
            tracks[c, tid] = gt.frames[rows]
        frames |= {(c, int(f)) for f in gt.frames}
    assert summary['boxes'] == boxes
    assert summary['tracks'] == len(tracks)
    assert summary['reentries'] == sum(
        int((np.diff(f) > 1).any()) for f in tracks.values())
    assert summary['empty_frames'] == 80 - len(frames)
    assert summary['frames'] == 80 and summary['identities'] == 6
    # the clip shows what it is meant to show
    for key in ('reentries', 'occluded_boxes', 'partial_boxes',
                'blurred_boxes', 'static_boxes', 'empty_frames'):
        assert summary[key] > 0, key
    occluders = {b[F['occluder']] for b in footage['record']['boxes']}
    assert {'pole', 'walker'} <= occluders
    cams = footage['record']['cameras']
    assert all(c['gain_after'] < c['gain'] for c in cams)
    # lighting change: the last frame is darker than the first
    for c, seq in zip(cams, summary['sequences']):
        first = cv2.imread(osp.join(seq, 'img1', '000001.jpg')).mean()
        last = cv2.imread(osp.join(seq, 'img1', '000040.jpg')).mean()
        assert last < first * (c['gain_after'] / c['gain'] + 0.1)


def test_deterministic_by_seed(tmp_path):
    a, b, c = (str(tmp_path / n) for n in 'abc')
    sa = generate_footage(a, seed=5, settings=SMALL)
    sb = generate_footage(b, seed=5, settings=SMALL)
    generate_footage(c, seed=6, settings=SMALL)
    assert _digest(a) == _digest(b) != _digest(c)
    drop = ('sequences', 'videos', 'record', 'seconds')
    assert ({k: v for k, v in sa.items() if k not in drop}
            == {k: v for k, v in sb.items() if k not in drop})
    with pytest.raises(ValueError, match='frame_size'):
        generate_footage(a, settings=FootageSettings(frame_size=(30, 40)))
    with pytest.raises(ValueError, match='walk_speed'):
        generate_footage(a, settings=FootageSettings(walk_speed=(2.0, 1.0)))


def test_walkers_move_at_walking_speed(footage):
    # a walker's box moves by about speed / fps x focal / depth a frame:
    # at most 1.8 m/s / 10 fps x 288 px / 5 m = 10.4 px (format 1 moved
    # 20-30 px, more than a box's width, and broke IoU association)
    rec = footage['record']
    s = rec['settings']
    steps = []
    for b0 in rec['boxes']:
        for b1 in rec['boxes']:
            if (b1[F['camera']], b1[F['id']], b1[F['frame']]) == (
                    b0[F['camera']], b0[F['id']], b0[F['frame']] + 1):
                steps.append(abs((b1[F['x']] + b1[F['w']] / 2) -
                                 (b0[F['x']] + b0[F['w']] / 2)))
    bound = (s['walk_speed'][1] / s['fps'] * s['focal'] *
             s['frame_size'][1] / s['depth_range'][0])
    assert steps and max(steps) <= bound + 1e-6
    assert np.median(steps) > 0


def test_coco_annotations(footage, tmp_path):
    from pycocotools.coco import COCO
    out = str(tmp_path / 'coco.json')
    res = write_coco_annotations(footage['root'], out)
    coco = COCO(out)
    rec = footage['record']['boxes']
    assert res['images'] == len(coco.getImgIds()) == 80
    assert res['annotations'] == len(coco.getAnnIds()) == len(rec)
    assert res['ignored'] == sum(b[F['visibility']] < 0.1 for b in rec) > 0
    assert coco.loadCats(coco.getCatIds()) == [dict(id=1, name='pedestrian')]
    for img in coco.loadImgs(coco.getImgIds()):
        assert osp.isfile(osp.join(footage['root'], img['file_name']))
        assert img['file_name'] == (f'SYNTH-0{img["video_id"]}/img1/'
                                    f'{img["mot_frame_id"]:06d}.jpg')
        assert img['frame_id'] == img['mot_frame_id'] - 1
    # camera 2, frame 6: the gt rows of the record, as in gt.txt
    img = coco.loadImgs(coco.getImgIds())[45]
    assert (img['video_id'], img['mot_frame_id']) == (2, 6)
    got = sorted((a['mot_instance_id'], a['bbox'], a['mot_conf'],
                  a['visibility'], a['category_id'])
                 for a in coco.loadAnns(coco.getAnnIds(imgIds=img['id'])))
    want = sorted((b[F['id']], [b[F[k]] for k in 'xywh'],
                   float(b[F['class']] == 1), b[F['visibility']], 1)
                  for b in rec if (b[F['camera']], b[F['frame']]) == (1, 6))
    assert got == want and got
    # one instance id per camera and walker
    pairs = {(coco.imgs[a['image_id']]['video_id'], a['mot_instance_id']):
             a['instance_id'] for a in coco.loadAnns(coco.getAnnIds())}
    assert len(set(pairs.values())) == len(pairs)
    res = write_coco_annotations(footage['root'], out, mot_classes=True)
    coco = COCO(out)
    statics = {a['category_id'] for a in coco.loadAnns(coco.getAnnIds())
               if a['mot_conf'] == 0}
    assert statics == {7} and len(coco.getCatIds()) == 2


def test_mmdet_datasets_read_the_annotations(footage, tmp_path):
    try:
        from mmdet.datasets import CocoDataset, MOTChallengeDataset
    except ImportError as err:  # mmcv-lite: no compiled ops yet
        pytest.skip(f'mmdet.datasets does not import: {err}')
    out = str(tmp_path / 'coco.json')
    write_coco_annotations(footage['root'], out)
    ds = CocoDataset(data_root=footage['root'], ann_file=out,
                     data_prefix=dict(img=''), pipeline=[],
                     metainfo=dict(classes=('pedestrian', )),
                     filter_cfg=dict(filter_empty_gt=False))
    assert len(ds) == 80
    n = sum(len(ds.get_data_info(i)['instances']) for i in range(len(ds)))
    assert n == len(footage['record']['boxes'])
    mot = MOTChallengeDataset(data_root=footage['root'], ann_file=out,
                              data_prefix=dict(img_path=''), pipeline=[],
                              metainfo=dict(classes=('pedestrian', )),
                              test_mode=True)
    assert len(mot) == 2
    video = mot.get_data_info(0)
    assert video['video_length'] == 40
    assert video['images'][0]['img_path'].split(os.sep)[-3] == 'SYNTH-01'


def test_reid_crops_in_mars_layout(footage, tmp_path):
    with pytest.raises(ValueError, match='frame_step'):
        write_reid_crops(footage['root'], str(tmp_path / 'x'), frame_step=0)
    half = write_reid_crops(footage['root'], str(tmp_path / 'half'),
                            frame_step=2)
    root = str(tmp_path / 'mars')
    res = write_reid_crops(footage['root'], root, num_train=4)
    rec = [b for b in footage['record']['boxes'] if b[F['class']] == 1]
    low = sum(b[F['visibility']] < 0.1 for b in rec)
    by_id = {}
    for b in rec:
        if b[F['visibility']] >= 0.1:
            by_id[b[F['id']]] = by_id.get(b[F['id']], 0) + 1
    # a walker needs a crop for each of the 2 tracklets (cameras)
    walkers = sorted(i for i, n in by_id.items() if n >= 2)
    assert len(walkers) >= 5
    assert res['low_visibility'] == low
    assert res['too_few'] == len(by_id) - len(walkers)
    assert res['crops'] == sum(by_id[i] for i in walkers)
    assert res['pids'] == {p + 1: w for p, w in enumerate(walkers)}
    # every second frame with a walker in each camera (1st, 3rd, ...)
    kept = {}
    for cam in {b[F['camera']] for b in rec}:
        frames = sorted({b[F['frame']] for b in rec if b[F['camera']] == cam})
        for b in rec:
            if (b[F['camera']] == cam and b[F['frame']] in frames[::2]
                    and b[F['visibility']] >= 0.1):
                kept[b[F['id']]] = kept.get(b[F['id']], 0) + 1
    assert half['crops'] == sum(n for n in kept.values() if n >= 2)
    assert half['crops'] < res['crops']
    train = MARSDataset(data_root=root, split='train')
    test = MARSDataset(data_root=root, split='test')
    assert len(train) == 4 * 2  # one tracklet per camera
    n_train = sum(len(train.get_data_info(i)['img_paths'])
                  for i in range(len(train)))
    assert n_train == sum(by_id[i] for i in walkers[:4])
    assert {test.get_data_info(i)['pid']
            for i in range(len(test))} == {0} | set(
                range(5, len(walkers) + 1))
    # the first crop of MARS pid 1: its walker's first camera, first
    # visible frame there
    mine = [b for b in rec
            if b[F['id']] == walkers[0] and b[F['visibility']] >= 0.1]
    first = min(mine, key=lambda b: (b[F['camera']], b[F['frame']]))
    frame = cv2.imread(
        osp.join(footage['root'], f'SYNTH-0{first[F["camera"]] + 1}', 'img1',
                 f'{first[F["frame"]]:06d}.jpg'))
    ref, _ = cut_crop(frame, [first[F[k]] for k in 'xywh'], 0.1, (64, 32))
    path = sorted(p for i in range(len(train))
                  for p in train.get_data_info(i)['img_paths']
                  if '/0001/' in p and 'F001' in p)
    crops = [cv2.imread(p) for p in path]
    # JPEG re-encoding of the crop: close, not equal
    assert min(np.abs(c.astype(int) - ref).mean() for c in crops) < 3
    with open(osp.join(footage['root'], 'footage.json')) as f:
        assert json.load(f)['settings']['num_cameras'] == 2


def test_reid_crops_of_several_footage_folders(footage, tmp_path):
    # a second generator seed: other walkers, after the first folder's
    other = str(tmp_path / 'other')
    generate_footage(other, seed=7)  # the fixture's settings (defaults)
    one = write_reid_crops(footage['root'], str(tmp_path / 'one'))
    two = write_reid_crops(other, str(tmp_path / 'two'))
    both = write_reid_crops([footage['root'], other],
                            str(tmp_path / 'both'))
    assert both['identities'] == one['identities'] + two['identities']
    assert both['crops'] == one['crops'] + two['crops']
    assert both['low_visibility'] == (one['low_visibility'] +
                                      two['low_visibility'])
    assert both['pids'] == {
        **{p: [0, w] for p, w in one['pids'].items()},
        **{p + one['identities']: [1, w] for p, w in two['pids'].items()}
    }
    train = MARSDataset(data_root=str(tmp_path / 'both'), split='train')
    assert sum(len(train.get_data_info(i)['img_paths'])
               for i in range(len(train))) == both['crops']
    with pytest.raises(ValueError, match='no footage folder'):
        write_reid_crops([], str(tmp_path / 'none'))


def test_reid_crops_name_a_missing_frame(tmp_path):
    root = str(tmp_path / 'footage')
    generate_footage(root, seed=5)
    seq = footage_sequences(root)[1]
    info = read_seqinfo(seq)
    gt = read_mot(osp.join(seq, 'gt', 'gt.txt'), 'gt', info.seq_length)
    k = int(gt.frames.min())  # a frame with boxes: its crops are cut
    os.remove(info.frame_path(seq, k))
    with pytest.raises(FileNotFoundError) as e:
        write_reid_crops(root, str(tmp_path / 'mars'))
    assert info.frame_path(seq, k) in str(e.value)
    assert f'frame {k} of {seq}' in str(e.value)
