"""tools/track_ddl.py on generated footage: MOTChallenge sequences, videos
with track files, a detector + tracker (full mmcv), and bad inputs; values
checked against a DDL computed by hand from the frames."""
import json
import os
import os.path as osp
import shutil
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(__file__)), 'test_apis'))
import track_testutils as ttu  # noqa: E402

THR = 0.16  # inside this DDNet's D-scores (0.01-0.32): DDL keeps part


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """2 cameras x 40 frames (mp4 too) and the DDL checkpoints."""
    from mmddl.testing.synthetic_footage import generate_footage
    root = str(tmp_path_factory.mktemp('track_tool'))
    footage = osp.join(root, 'footage')
    made = generate_footage(footage, seed=0, write_videos=True)
    base, ddnet = ttu.ddl_checkpoints(root)
    return dict(
        root=root,
        footage=footage,
        seqs=[osp.join(footage, f'SYNTH-0{c}') for c in (1, 2)],
        videos=[osp.join(footage, f'SYNTH-0{c}.mp4') for c in (1, 2)],
        base=base,
        ddnet=ddnet,
        made=made)


def _args(s, out, inputs, *extra):
    return [
        ttu.TRACK_CONFIG, s['base'], '--ddnet-checkpoint', s['ddnet'],
        '--inputs', *inputs, '--out-dir', out, '--cfg-options',
        f'model.aggregator.threshold={THR}', *extra
    ]


@pytest.fixture(scope='module')
def seq_run(setup, tmp_path_factory):
    """The tool on the two MOTChallenge sequences (their gt/gt.txt)."""
    out = str(tmp_path_factory.mktemp('seq_run'))
    summary = ttu.run_track_tool(_args(setup, out, setup['seqs']))
    return dict(out=out, summary=summary)


def _lines(out):
    with open(osp.join(out, 'tracks.jsonl')) as f:
        return [json.loads(ln) for ln in f]


def _by_hand(s,
             source,
             boxes,
             thr=THR,
             config=ttu.TRACK_CONFIG,
             size=(64, 32),
             margin=0.1,
             ckpts=None):
    """DDL, average pooling and top-1 of one track computed from its
    frames with the base and DDNet alone (crops as cut_crop makes them)."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    from mmddl.datasets.tracks import FrameSource, cut_crop
    cfg = Config.fromfile(config)
    ckpts = ckpts or (s['base'], s['ddnet'])
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        base = MODELS.build(cfg.model.base)
        ddnet = MODELS.build(cfg.model.ddnet)
    base.load_state_dict(torch.load(ckpts[0])['state_dict'])
    ddnet.load_state_dict(torch.load(ckpts[1])['state_dict'])
    base.eval(), ddnet.eval()
    src = FrameSource.open(source)
    frames = src.read([f for f, _ in boxes])
    crops = [
        cut_crop(img, np.asarray(b, float), margin, size)[0]
        for img, (_, b) in zip(frames, boxes)
    ]
    x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float()
    with torch.no_grad():
        xb = base.data_preprocessor(dict(inputs=x), False)['inputs']
        feats = base.extract_feat(xb, stage='pre_logits')
        feats = feats[-1] if isinstance(feats, tuple) else feats
        feats = torch.nn.functional.normalize(feats, dim=1).numpy()
        xd = ddnet.data_preprocessor(dict(inputs=x), False)['inputs']
        d = ((ddnet(xd, mode='tensor') + ddnet(xd.flip(-1), mode='tensor')) /
             2).numpy().reshape(-1)
    kept = np.nonzero(d >= thr)[0]
    if kept.size == 0:
        kept = np.array([int(np.argmax(d))])
    s_k = d[kept]
    span = s_k.max() - s_k.min()
    w = np.ones_like(s_k) if span == 0 else (s_k - s_k.min()) / span
    if w.sum() == 0:
        w = np.ones_like(w)
    ddl = (w[:, None] * feats[kept]).sum(0) / w.sum()
    return dict(
        dscores=d,
        kept=kept,
        ddl=ddl,
        average=feats.mean(0),
        top1=feats[int(np.argmax(d))])


def _gt_boxes(seq, tid):
    from mmddl.datasets.tracks import read_mot
    t = read_mot(osp.join(seq, 'gt', 'gt.txt'))
    rows = t.tracks()[tid]
    return [(int(t.frames[r]), t.boxes[r].tolist()) for r in rows]


def test_mot_sequences_equal_ddl_by_hand(setup, seq_run):
    s, out = setup, seq_run['out']
    lines = _lines(out)
    summary = seq_run['summary']
    # every ground-truth walker track of the 2 cameras (footage record)
    assert len(lines) == summary['num_tracks'] == s['made']['tracks'] >= 6
    assert {ln['video'] for ln in lines} == {'SYNTH-01', 'SYNTH-02'}
    assert summary['track_counts']['crops'] == s['made']['boxes']
    checked = 0
    for ln in lines[:3] + lines[-2:]:
        seq = s['seqs'][ln['camid']]
        boxes = _gt_boxes(seq, ln['track_id'])
        assert ln['frames'] == [f for f, _ in boxes]
        np.testing.assert_allclose(ln['boxes'], [b for _, b in boxes])
        ref = _by_hand(s, seq, boxes)
        np.testing.assert_allclose(ln['dscores'], ref['dscores'], atol=2e-5)
        assert [k['index'] for k in ln['kept']] == ref['kept'].tolist()
        assert ln['base_crops']['ddl'] == len(ref['kept'])
        assert ln['base_crops']['average'] == len(boxes)
        assert ln['base_crops']['top1'] == 1
        emb = np.load(osp.join(out, ln['embedding']))
        np.testing.assert_allclose(emb, ref['ddl'], rtol=1e-4, atol=1e-5)
        npz = np.load(osp.join(out, 'embeddings.npz'))
        g = list(npz['names']).index(ln['track'])
        for m in ('average', 'top1'):
            np.testing.assert_allclose(
                npz[m][g], ref[m], rtol=1e-4, atol=1e-5, err_msg=m)
        assert osp.isfile(osp.join(out, ln['sheet']))
        checked += 1
    assert checked == 5
    # DDL kept part of the crops: fewer base crops than average pooling
    meth = summary['methods']
    assert 1 < meth['ddl']['base_crops_mean'] < meth['average'][
        'base_crops_mean']
    assert meth['top1']['base_crops_mean'] == 1


def test_cross_video_matches_equal_the_distances(seq_run):
    out = seq_run['out']
    with open(osp.join(out, 'matches.json')) as f:
        matches = json.load(f)
    npz = np.load(osp.join(out, 'embeddings.npz'))
    names, videos = list(npz['names']), npz['videos']
    for method in ('ddl', 'average', 'top1'):
        e = npz[method] / np.linalg.norm(npz[method], axis=1, keepdims=True)
        rows = matches['methods'][method]
        assert [r['track'] for r in rows] == names
        for i, r in enumerate(rows):
            other = np.nonzero(videos != videos[i])[0]
            dist = np.linalg.norm(e[other] - e[i], axis=1)
            assert [m['track'] for m in r['matches']] == [
                names[j] for j in other[np.argsort(dist, kind='stable')][:5]
            ]
            assert all(m['video'] != r['video'] for m in r['matches'])
            np.testing.assert_allclose([m['distance'] for m in r['matches']],
                                       np.sort(dist)[:5],
                                       atol=1e-4)


def test_summary_times_and_progress(setup, seq_run):
    summary = seq_run['summary']
    with open(osp.join(seq_run['out'], 'summary.json')) as f:
        assert json.load(f) == json.loads(json.dumps(summary))
    t = summary['times_s']
    assert t['ddnet'] > 0 and t['base_dense'] > 0 and t['decode'] > 0
    assert t['detect'] == t['track'] == 0  # tracks were given
    logs = [n for n in os.listdir(seq_run['out']) if n.endswith('.log')]
    with open(osp.join(seq_run['out'], logs[0])) as f:
        log = f.read()
    n = setup['made']['tracks']
    assert f'DDL over tracks: {n}/{n} tracks (100%)' in log and 'ETA' in log


def test_contact_sheet_marks_the_kept_crops(seq_run):
    import cv2

    from mmddl.visualization.gallery import DROPPED, KEPT
    ln = _lines(seq_run['out'])[0]
    img = cv2.imread(osp.join(seq_run['out'], ln['sheet']))[..., ::-1]
    kept = {k['index'] for k in ln['kept']}
    assert 0 < len(kept) < ln['num_crops']
    # count the frame colours: one green frame per kept crop
    green = np.all(np.abs(img.astype(int) - KEPT) <= 12, axis=2)
    grey = np.all(np.abs(img.astype(int) - DROPPED) <= 6, axis=2)
    n, _, stats, _ = cv2.connectedComponentsWithStats(green.astype(np.uint8))
    frames = stats[1:, cv2.CC_STAT_AREA] > 200  # not caption glyphs
    assert frames.sum() == len(kept)
    assert grey.sum() > 0


def test_videos_with_track_files(setup, tmp_path):
    s = setup
    out = str(tmp_path / 'video')
    gts = [osp.join(q, 'gt', 'gt.txt') for q in s['seqs']]
    summary = ttu.run_track_tool(
        _args(s, out, s['videos'], '--tracks', *gts, '--no-sheets'))
    lines = _lines(out)
    assert summary['num_tracks'] == len(lines) == s['made']['tracks']
    assert [i['kind'] for i in summary['inputs']] == ['video', 'video']
    ln = next(x for x in lines if x['video'] == 'SYNTH-02')
    boxes = _gt_boxes(s['seqs'][1], ln['track_id'])
    ref = _by_hand(s, s['videos'][1], boxes)  # decoded from the mp4
    np.testing.assert_allclose(ln['dscores'], ref['dscores'], atol=2e-5)
    np.testing.assert_allclose(
        np.load(osp.join(out, ln['embedding'])),
        ref['ddl'],
        rtol=1e-4,
        atol=1e-5)
    assert 'sheet' not in ln and not osp.exists(osp.join(out, 'sheets'))


def test_face_tracks_with_the_face_config(tmp_path):
    """The face DDL config through the same tool: generated face footage,
    its gt tracks, 32x32 crops without margin."""
    root = str(tmp_path)
    seqs = ttu.write_face_clip(osp.join(root, 'faces'))
    base, ddnet = ttu.ddl_checkpoints(root, ttu.FACE_CONFIG)
    out = str(tmp_path / 'out')
    summary = ttu.run_track_tool([
        ttu.FACE_CONFIG, base, '--ddnet-checkpoint', ddnet, '--inputs', *seqs,
        '--out-dir', out, '--no-sheets'
    ])
    assert summary['target'] == 'face'
    lines = _lines(out)
    assert len(lines) == 6 and all(ln['num_crops'] == 8 for ln in lines)
    ln = lines[4]
    ref = _by_hand(
        None,
        seqs[1],
        _gt_boxes(seqs[1], ln['track_id']),
        thr=0.15,
        config=ttu.FACE_CONFIG,
        size=(32, 32),
        margin=0.0,
        ckpts=(base, ddnet))
    np.testing.assert_allclose(ln['dscores'], ref['dscores'], atol=2e-5)
    assert [k['index'] for k in ln['kept']] == ref['kept'].tolist()
    np.testing.assert_allclose(
        np.load(osp.join(out, ln['embedding'])),
        ref['ddl'],
        rtol=1e-4,
        atol=1e-5)


@pytest.mark.skipif(bool(ttu.mmdet_missing()), reason=ttu.mmdet_missing())
def test_face_detector_trains_on_face_footage_and_tracks(tmp_path):
    """The face detector + tracker config: its YOLOX trains 2 iterations on
    generated face footage through tools/train.py (category ``face``), the
    checkpoint loads strictly into the tool's tracker for faces, and the
    tool runs detector + ByteTrack + face DDL over the footage (with the
    detector's score thresholds lowered: 2 iterations find nobody above
    ByteTrack's 0.6)."""
    from mmddl.apis import init_tracker
    root = str(tmp_path)
    seqs = ttu.write_face_clip(osp.join(root, 'faces'), frames=6)
    ckpt = ttu.train_tiny_detector(
        root,
        osp.join(root, 'faces'),
        iters=2,
        config=ttu.FACE_DET_CONFIG,
        category='face')
    tracker = init_tracker(ttu.FACE_DET_CONFIG, ckpt, target='face')
    assert tracker.classes == ('face', ) and tracker.labels == [0]
    with pytest.raises(ValueError, match='face'):
        init_tracker(ttu.FACE_DET_CONFIG, ckpt, target='person')
    opts = ttu.few_boxes_options(
        ttu.FACE_DET_CONFIG, ckpt, seqs[0], num=3, target='face')
    base, ddnet = ttu.ddl_checkpoints(root, ttu.FACE_CONFIG)
    out = str(tmp_path / 'out')
    summary = ttu.run_track_tool([
        ttu.FACE_CONFIG, base, '--ddnet-checkpoint', ddnet, '--inputs', *seqs,
        '--det-config', ttu.FACE_DET_CONFIG, '--det-checkpoint', ckpt,
        '--out-dir', out, '--no-sheets', '--det-cfg-options',
        *[f'{k}={v}' for k, v in opts.items()]
    ])
    assert summary['target'] == 'face'
    assert summary['num_tracks'] == len(_lines(out)) > 0
    assert summary['times_s']['detect'] > 0
    for i, seq in enumerate(seqs):
        assert osp.isfile(osp.join(out, 'tracks', f'FACES-0{i + 1}.txt'))


# ------------------------------------------------------------ bad inputs
def _fails(argv, exc, *words):
    with pytest.raises(exc) as info:
        ttu.run_track_tool(argv)
    for w in words:
        assert w in str(info.value), (w, str(info.value))
    return info.value


def test_bad_inputs_stop_before_work(setup, tmp_path):
    s = setup
    out = str(tmp_path / 'bad')
    bad_video = str(tmp_path / 'broken.mp4')
    with open(bad_video, 'wb') as f:
        f.write(b'\x00\x00\x00 ftypisom' + os.urandom(2000))
    from mmddl.datasets.transforms.checked_decord import VideoDecodeError
    _fails(
        _args(s, out, [bad_video], '--tracks',
              osp.join(s['seqs'][0], 'gt', 'gt.txt')), VideoDecodeError,
        bad_video)
    # a plain frame folder without tracks, tracks files that do not pair up
    frames = str(tmp_path / 'frames')
    shutil.copytree(osp.join(s['seqs'][0], 'img1'), frames)
    _fails(_args(s, out, [frames]), ValueError, frames, 'no tracks for it')
    _fails(
        _args(s, out, s['seqs'], '--tracks',
              osp.join(s['seqs'][0], 'gt', 'gt.txt')), ValueError,
        '1 tracks files for 2 inputs')
    # a base checkpoint of another model: strict load names file and keys
    wrong = str(tmp_path / 'wrong_base.pth')
    torch.save(
        dict(state_dict={'backbone.conv1.weight': torch.zeros(1)}), wrong)
    argv = _args(s, out, s['seqs'])
    argv[1] = wrong
    _fails(argv, RuntimeError, wrong, 'missing keys')
    argv = _args(s, out, s['seqs'])
    argv[3] = wrong
    _fails(argv, RuntimeError, wrong, 'missing keys')
    # a target the DDL config does not encode
    _fails(
        _args(s, out, s['seqs'], '--target', 'face'), ValueError,
        'encodes persons')
    # a DDL config whose test set is not tracks
    argv = _args(s, out, s['seqs'])
    argv[0] = osp.join(ttu.REPO, 'configs', 'reid', 'demo',
                       'ddl_reid-r18-tiny_thr0.15_synth-mars.py')
    _fails(argv, ValueError, argv[0], 'not MOTTrackDataset')
    # nothing was written by the failed runs
    assert not osp.exists(osp.join(out, 'tracks.jsonl'))
    assert not osp.exists(osp.join(out, 'summary.json'))


def test_bad_track_file_names_file_and_line(setup, tmp_path):
    from mmddl.datasets.base_group_dataset import DatasetFormatError
    s = setup
    bad = str(tmp_path / 'tracks.txt')
    shutil.copy(osp.join(s['seqs'][0], 'gt', 'gt.txt'), bad)
    with open(bad, 'a') as f:
        f.write('41,3,10,10,20,40,1,1,1\n')  # the clip has 40 frames
    n = sum(1 for _ in open(bad))
    _fails(
        _args(s, str(tmp_path / 'o'), [s['videos'][0]], '--tracks', bad),
        DatasetFormatError, f'{bad}:{n}:', 'beyond the sequence length 40')


def test_killed_run_keeps_previous_results(setup, seq_run, tmp_path,
                                           monkeypatch):
    """A run that dies while writing leaves the last complete results."""
    s = setup
    out = str(tmp_path / 'again')
    shutil.copytree(seq_run['out'], out)
    before = {
        n: open(osp.join(out, n), 'rb').read()
        for n in ('tracks.jsonl', 'summary.json', 'matches.json')
    }
    import mmddl.apis.contact_sheet as cs
    calls = []

    orig = cs.draw_contact_sheet

    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt('killed')
        return orig(*args, **kwargs)

    monkeypatch.setattr(cs, 'draw_contact_sheet', wrapper)
    with pytest.raises(KeyboardInterrupt):
        ttu.run_track_tool(
            _args(s, out, s['seqs'], '--cfg-options',
                  'model.aggregator.threshold=0.2'))
    for n, data in before.items():
        assert open(osp.join(out, n), 'rb').read() == data, n
    assert not [n for n in os.listdir(out) if n.startswith('.tmp-')]


# ------------------------------------------------- detector + tracker
@pytest.mark.skipif(bool(ttu.mmdet_missing()), reason=ttu.mmdet_missing())
def test_detector_tracker_ddl_end_to_end(setup, tmp_path):
    """Training: the ByteTrack config's detector trains 2 iterations through
    tools/train.py and its checkpoint loads strictly into the tool's
    tracker. Tracking: a ground-truth box detector (test double: a detector
    trained for seconds finds nobody) feeds mmdet's ByteTracker with its
    MOT17 settings; the tool tracks two videos and encodes the tracks."""
    from mmddl.apis import init_tracker
    from mmddl.datasets.tracks import FrameSource, read_mot
    from mmddl.testing.synthetic_video import write_video
    s, root = setup, str(tmp_path)
    ckpt = ttu.train_tiny_detector(root, s['footage'], iters=2)
    tracker = init_tracker(ttu.DET_CONFIG, ckpt)
    assert tracker.classes == ('pedestrian', ) and tracker.labels == [0]
    assert torch.load(
        ckpt, weights_only=False)['meta']['dataset_meta']['classes'] == (
            'pedestrian', )
    # the second camera's video cut to 30 frames: the double tells the two
    # videos apart by their length
    frames = FrameSource.open(s['seqs'][1]).read(range(1, 31))
    video2 = osp.join(root, 'cam2.mp4')
    write_video(video2, np.stack([f[..., ::-1] for f in frames]), fps=10)
    gts = [osp.join(q, 'gt', 'gt.txt') for q in s['seqs']]
    det_cfg = osp.join(root, 'gt_bytetrack.py')
    with open(det_cfg, 'w') as f:
        f.write(f"_base_ = [{ttu.DET_CONFIG!r}]\n"
                "model = dict(detector=dict(_delete_=True, "
                f"type='GTBoxDetector', gt_files={{'40': {gts[0]!r}, "
                f"'30': {gts[1]!r}}}))\n")
    det_ckpt = osp.join(root, 'gt_bytetrack.pth')
    torch.save(dict(state_dict={'detector.scale': torch.ones(1)}), det_ckpt)
    ttu.register_gt_detector()
    out = str(tmp_path / 'e2e')
    summary = ttu.run_track_tool(
        _args(s, out, [s['videos'][0], video2], '--det-config', det_cfg,
              '--det-checkpoint', det_ckpt, '--no-sheets'))
    lines = _lines(out)
    assert summary['num_tracks'] == len(lines) > 0
    assert {ln['video'] for ln in lines} == {'SYNTH-01', 'cam2'}
    t = summary['times_s']
    assert t['detect'] > 0 and t['track'] > 0 and t['ddnet'] > 0
    assert osp.isfile(osp.join(out, 'matches.json'))
    covered = majority = 0
    for res, gt_file, n in zip(summary['tracking'], gts, (40, 30)):
        assert res['num_frames'] == n
        table = read_mot(res['out_file'], 'results')
        gt = read_mot(gt_file, 'gt')
        gt_rows = {
            (int(f), tuple(np.round(b, 2))): int(i)
            for f, i, b in zip(gt.frames, gt.ids, gt.boxes)
        }
        # every tracked box is a gt box of its frame; most of a track's
        # boxes are one person's (ByteTrack may switch ids where people
        # cross)
        for tid, rows in table.tracks().items():
            owners = [
                gt_rows[(int(table.frames[r]),
                         tuple(np.round(table.boxes[r], 2)))] for r in rows
            ]
            majority += max(owners.count(o) for o in set(owners))
        covered += len(table)
        # the json lines hold the tracker's rows
        for ln in (x for x in lines if x['video'] == res['name']):
            rows = table.tracks()[ln['track_id']]
            assert ln['frames'] == table.frames[rows].tolist()
            np.testing.assert_allclose(
                ln['boxes'], table.boxes[rows], atol=0.01)
    # ByteTrack reports most of the walkers' boxes (it holds back only
    # unconfirmed new tracks)
    n_gt = sum(
        int((read_mot(g, 'gt').frames <= n).sum())
        for g, n in zip(gts, (40, 30)))
    assert covered > 0.8 * n_gt
    assert majority > 0.8 * covered


def test_inputs_with_the_same_name_get_unique_names(setup):
    from mmddl.apis import open_inputs
    gt = osp.join(setup['seqs'][0], 'gt', 'gt.txt')
    seqs = open_inputs([setup['seqs'][0], setup['videos'][0]], [gt, gt])
    # the sequence folder and its video are both named SYNTH-01
    assert [s['name'] for s in seqs] == ['SYNTH-01', 'SYNTH-01-2']
    assert [s['source'].kind for s in seqs] == ['frames', 'video']
    with pytest.raises(ValueError, match='no tracks for it'):
        open_inputs([setup['videos'][0]])
