"""MOTTrackDataset + LoadTrackCrops on generated footage: from a MOT sequence
folder, its img1/ folder and an mp4; crops equal the hand-cut frame regions;
counts equal the generator's own record; bad inputs stop naming the file."""
import os
import os.path as osp
import shutil

import mmddl  # noqa: F401  (compat first)

# isort: split
import cv2
import decord
import numpy as np
import pytest
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from mmddl.datasets import DatasetFormatError
from mmddl.datasets.tracks import (TRACK_META_KEYS, LoadTrackCrops,
                                   MOTTrackDataset, read_mot, write_mot)
from mmddl.datasets.transforms import VideoDecodeError
from mmddl.testing.synthetic_footage import BOX_FIELDS
from mmddl.testing.synthetic_video import write_corrupt_video

SIZE = (64, 32)
MARGIN = 0.1
F = {k: i for i, k in enumerate(BOX_FIELDS)}


def _pipeline(**kw):
    return [
        dict(type='LoadTrackCrops', size=SIZE, margin=MARGIN, **kw),
        dict(type='PackGroupInputs', meta_keys=TRACK_META_KEYS)
    ]


def _walker_rows(record, camera):
    """The record's walker boxes of one camera (class 1)."""
    return [b for b in record['boxes']
            if b[F['camera']] == camera and b[F['class']] == 1]


def _hand_crop(frame, box, margin=MARGIN):
    """The crop by hand: grow, round, clip, cut, resize."""
    x, y, w, h = box
    H, W = frame.shape[:2]
    x0 = min(max(int(round(x - margin * w)), 0), W - 1)
    y0 = min(max(int(round(y - margin * h)), 0), H - 1)
    x1 = min(max(int(round(x + w + margin * w)), x0 + 1), W)
    y1 = min(max(int(round(y + h + margin * h)), y0 + 1), H)
    return cv2.resize(frame[y0:y1, x0:x1], (SIZE[1], SIZE[0]))


def _seq(footage, c):
    return osp.join(footage['root'], f'SYNTH-{c + 1:02d}')


@pytest.mark.parametrize('form', ['sequence', 'img1'])
def test_frame_folder_tracks_match_record_and_hand_crops(footage, form):
    seq = _seq(footage, 0)
    source = seq if form == 'sequence' else osp.join(seq, 'img1')
    ann = '' if form == 'sequence' else osp.join(seq, 'gt', 'gt.txt')
    ds = MOTTrackDataset(source=source, ann_file=ann, pipeline=_pipeline())
    rows = _walker_rows(footage['record'], 0)
    ids = sorted({b[F['id']] for b in rows})
    assert [ds.get_data_info(i)['track_id'] for i in range(len(ds))] == ids
    for i, tid in enumerate(ids):
        info = ds.get_data_info(i)
        mine = sorted((b for b in rows if b[F['id']] == tid),
                      key=lambda b: b[F['frame']])
        assert info['frame_ids'].tolist() == [b[F['frame']] for b in mine]
        np.testing.assert_array_equal(
            info['bboxes'], [[b[F[k]] for k in 'xywh'] for b in mine])
        assert info['group_name'] == f'SYNTH-01/{tid}'
        assert info['img_paths'] == [
            osp.join(seq, 'img1', f'{b[F["frame"]]:06d}.jpg') for b in mine
        ]
    # crops of a track with a box partly outside the frame
    tid = next(b[F['id']] for b in rows if b[F['partial']])
    i = ids.index(tid)
    out = ds[i]
    sample, imgs = out['data_samples'], out['inputs'].numpy()
    assert imgs.shape == (len(sample.frame_ids), 3) + SIZE
    assert sample.track_id == tid and sample.camid == 0
    for k, (f, box) in enumerate(zip(sample.frame_ids, sample.bboxes)):
        frame = cv2.imread(osp.join(seq, 'img1', f'{f:06d}.jpg'))
        ref = _hand_crop(frame, box)
        np.testing.assert_array_equal(imgs[k].transpose(1, 2, 0), ref)
    assert (sample.crop_boxes[:, :2] >= 0).all()
    assert (sample.crop_boxes[:, 2] <= 320).all()
    assert (sample.crop_boxes[:, 3] <= 240).all()


def test_video_source_crops_equal_decoded_frame_regions(footage):
    video = osp.join(footage['root'], 'SYNTH-02.mp4')
    gt = osp.join(_seq(footage, 1), 'gt', 'gt.txt')
    ds = MOTTrackDataset(source=video, ann_file=gt, pipeline=_pipeline())
    seq = ds.metainfo['sequences'][0]
    assert (seq['source_type'], seq['num_frames'],
            seq['image_size']) == ('video', 40, (240, 320))
    frames = decord.VideoReader(video).get_batch(list(range(40))).asnumpy()
    for i in (0, len(ds) - 1):
        out = ds[i]
        s = out['data_samples']
        assert s.source_type == 'video'
        assert s.img_paths[0] == f'{video}#{s.frame_ids[0]:06d}'
        for k, (f, box) in enumerate(zip(s.frame_ids, s.bboxes)):
            ref = _hand_crop(np.ascontiguousarray(frames[f - 1][..., ::-1]),
                             box)
            np.testing.assert_array_equal(
                out['inputs'][k].numpy().transpose(1, 2, 0), ref)


def test_counts_equal_the_generators_record(footage, tmp_path):
    record, seq = footage['record'], _seq(footage, 0)
    rows = _walker_rows(record, 0)
    lengths = {}
    for b in rows:
        lengths[b[F['id']]] = lengths.get(b[F['id']], 0) + 1
    min_length = sorted(lengths.values())[1] + 1  # drops >= 2 tracks
    # extra rows: wholly outside boxes and a track that is only outside
    gt = read_mot(osp.join(seq, 'gt', 'gt.txt'), keep_classes=None,
                  keep_zero_conf=True)
    extra_f = [1, 2, 3, 5]
    extra_i = [500, 500, 500, 501]
    extra_b = [[-90, 10, 40, 80], [330, 10, 40, 80], [10, 10, 40, 80],
               [10, 241, 40, 80]]  # 3 outside; 500 keeps one box
    ann = write_mot(
        osp.join(str(tmp_path), 'gt.txt'),
        np.r_[gt.frames, extra_f], np.r_[gt.ids, extra_i],
        np.r_[gt.boxes, extra_b], np.r_[gt.confs, [1, 1, 1, 1]],
        np.r_[gt.classes, [1, 1, 1, 1]], np.r_[gt.visibility, [1, 1, 1, 1]],
        kind='gt')
    ds = MOTTrackDataset(source=seq, ann_file=ann, min_length=min_length)
    c = ds.metainfo['track_counts']
    short = sum(n < min_length for n in lengths.values()) + 1  # + 500
    assert short >= 3
    statics = [b for b in record['boxes']
               if b[F['camera']] == 0 and b[F['class']] == 7]
    busy = {b[F['frame']] for b in rows if lengths[b[F['id']]] >= min_length}
    assert c == dict(
        rows=len(rows) + len(statics) + 4,
        zero_conf=len(statics),
        other_class=0,
        boxes=len(rows) + 4,
        partial_boxes=sum(b[F['partial']] for b in rows),
        outside_boxes=3,
        tracks=len(lengths) + 2,
        outside_tracks=1,
        short_tracks=short,
        kept_tracks=len(lengths) + 1 - short,
        crops=sum(n for n in lengths.values() if n >= min_length),
        frames=40,
        empty_frames=40 - len(busy))
    assert c['partial_boxes'] > 0 and len(statics) > 0
    assert ds.metainfo['sequences'][0]['counts'] == c
    # the whole clip: empty frames as the record says
    full = MOTTrackDataset(
        sequences=[dict(source=_seq(footage, k)) for k in (0, 1)])
    assert full.metainfo['track_counts']['empty_frames'] == footage[
        'summary']['empty_frames']
    assert full.metainfo['track_counts']['partial_boxes'] == footage[
        'summary']['partial_boxes']
    assert len(full) == footage['summary']['tracks']


def test_cross_camera_reid_fields_and_dataloader(footage):
    ds_cfg = dict(
        type='MOTTrackDataset',
        sequences=[
            dict(source=_seq(footage, 0)),
            dict(source=osp.join(footage['root'], 'SYNTH-02.mp4'),
                 ann_file=osp.join(_seq(footage, 1), 'gt', 'gt.txt'),
                 name='cam2')
        ],
        ids_are_identities=True,
        query_camids=[0],
        pipeline=_pipeline(max_images=4))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        loader = Runner.build_dataloader(
            dict(batch_size=3, num_workers=0, dataset=ds_cfg,
                 sampler=dict(type='DefaultSampler', shuffle=False),
                 collate_fn=dict(type='group_collate')))
    seen = []
    for batch in loader:
        for x, s in zip(batch['inputs'], batch['data_samples']):
            assert x.shape == (min(s.num_images, 4), 3) + SIZE
            assert len(s.kept_indices) == x.shape[0]
            assert s.pid == s.track_id and s.is_query == (s.camid == 0)
            seen.append((s.camid, s.group_name))
    n0 = len({b[F['id']] for b in _walker_rows(footage['record'], 0)})
    assert [c for c, _ in seen] == [0] * n0 + [1] * (len(seen) - n0)
    assert seen[-1][1].startswith('cam2/')
    assert loader.dataset.metainfo['protocol']['type'] == 'reid'


def test_each_frame_read_once_per_group_and_cache(footage, monkeypatch):
    import mmddl.datasets.tracks.load_track_crops as ltc
    calls = []
    real = ltc.read_image
    monkeypatch.setattr(ltc, 'read_image',
                        lambda p, name='': calls.append(p) or real(p, name))
    ds = MOTTrackDataset(source=_seq(footage, 0))
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    for cache in (0, 1000):
        calls.clear()
        t = LoadTrackCrops(size=SIZE, cache_frames=cache)
        for info in infos:
            t(dict(info))
        frames = [p for info in infos for p in info['img_paths']]
        if cache:
            assert sorted(calls) == sorted(set(frames))
        else:
            assert sorted(calls) == sorted(frames)
        assert len(set(frames)) < len(frames)  # tracks share frames


def test_pids_map_and_bad_sequences(footage, tmp_path):
    seq = _seq(footage, 0)
    ds = MOTTrackDataset(
        sequences=[dict(source=seq, pids={str(i): 100 + i
                                          for i in range(1, 7)})])
    assert [ds.get_data_info(i)['pid'] for i in range(len(ds))] == [
        100 + ds.get_data_info(i)['track_id'] for i in range(len(ds))
    ]
    with pytest.raises(DatasetFormatError, match=r'gt\.txt: track 2 \(line '
                       r'\d+\) has no identity in sequences\[0\]\.pids'):
        MOTTrackDataset(sequences=[dict(source=seq, pids={1: 1})])
    with pytest.raises(ValueError, match='sequence names'):
        MOTTrackDataset(sequences=[dict(source=seq), dict(source=seq)])
    with pytest.raises(ValueError, match=r"sequences\[0\]: keys"):
        MOTTrackDataset(sequences=[dict(source=seq, gt='x')])
    with pytest.raises(ValueError, match='give its track file'):
        MOTTrackDataset(source=osp.join(footage['root'], 'SYNTH-01.mp4'))


def test_boxes_that_do_not_match_the_frames_stop_with_file_and_line(
        footage, tmp_path):
    video = osp.join(footage['root'], 'SYNTH-01.mp4')
    ann = osp.join(str(tmp_path), 'long.txt')
    with open(osp.join(_seq(footage, 0), 'gt', 'gt.txt')) as f:
        lines = f.read().splitlines()
    with open(ann, 'w') as f:
        f.write('\n'.join(lines[:3] + ['41,1,10,10,20,40,1,1,1']) + '\n')
    for source in (video, _seq(footage, 0)):
        with pytest.raises(DatasetFormatError,
                           match=f'long.txt:4: frame 41 is beyond the '
                           'sequence length 40'):
            MOTTrackDataset(source=source, ann_file=ann)
    # no track left
    with open(ann, 'w') as f:
        f.write('1,1,400,10,20,40,1,1,1\n1,2,10,10,20,40,0,1,1\n')
    with pytest.raises(DatasetFormatError, match='no track left'):
        MOTTrackDataset(source=video, ann_file=ann)


def test_bad_frame_sources_are_named(footage, tmp_path):
    seq = osp.join(str(tmp_path), 'seq')
    shutil.copytree(_seq(footage, 0), seq)
    ini = osp.join(seq, 'seqinfo.ini')
    text = open(ini).read()
    with open(ini, 'w') as f:
        f.write(text.replace('imWidth=320', 'imWidth=640'))
    with pytest.raises(DatasetFormatError,
                       match='imHeight x imWidth = 240 x 640, but frame 1'):
        MOTTrackDataset(source=seq)
    with open(ini, 'w') as f:
        f.write(text)
    os.remove(osp.join(seq, 'img1', '000007.jpg'))
    with pytest.raises(FileNotFoundError, match=r'1 of \d+ frame files are '
                       r'missing, e\.g\. \[.*000007\.jpg'):
        MOTTrackDataset(source=seq)
    ds = MOTTrackDataset(source=seq, check_files=False,
                         pipeline=_pipeline())
    gid = next(i for i in range(len(ds))
               if 7 in ds.get_data_info(i)['frame_ids'])
    with pytest.raises(OSError, match=r'000007\.jpg of track'):
        ds[gid]
    bad = write_corrupt_video(osp.join(str(tmp_path), 'bad.mp4'))
    with pytest.raises(VideoDecodeError, match='bad.mp4'):
        MOTTrackDataset(source=bad, ann_file=osp.join(seq, 'gt', 'gt.txt'))
    with pytest.raises(FileNotFoundError, match='frame source not found'):
        MOTTrackDataset(source=osp.join(str(tmp_path), 'none.mp4'),
                        ann_file=osp.join(seq, 'gt', 'gt.txt'))
    empty = osp.join(str(tmp_path), 'empty')
    os.makedirs(empty)
    with pytest.raises(DatasetFormatError, match='no seqinfo.ini and no '
                       'frame files'):
        MOTTrackDataset(source=empty, ann_file=osp.join(seq, 'gt', 'gt.txt'))


def test_plain_frame_folder_and_frame_size_check(footage, tmp_path):
    folder = osp.join(str(tmp_path), 'frames')
    os.makedirs(folder)
    for k in range(1, 41):  # f1.jpg ... f40.jpg: natural order
        shutil.copy(osp.join(_seq(footage, 0), 'img1', f'{k:06d}.jpg'),
                    osp.join(folder, f'f{k}.jpg'))
    ann = osp.join(_seq(footage, 0), 'gt', 'gt.txt')
    ds = MOTTrackDataset(source=folder, ann_file=ann, pipeline=_pipeline())
    assert ds.metainfo['sequences'][0]['num_frames'] == 40
    assert ds.metainfo['sequences'][0]['name'] == 'frames'
    ref = MOTTrackDataset(source=_seq(footage, 0), pipeline=_pipeline())
    info = ds.get_data_info(0)
    assert info['img_paths'] == [
        osp.join(folder, f'f{k}.jpg') for k in info['frame_ids']
    ]
    np.testing.assert_array_equal(ds[0]['inputs'], ref[0]['inputs'])
    f = info['frame_ids'][0]
    cv2.imwrite(osp.join(folder, f'f{f}.jpg'),
                np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(OSError, match=f'frame {f} of .*frames \\(track '
                       r'.*\) is 10 x 10; the sequence\'s frames are 240 x '
                       '320'):
        ds[0]
