"""The tracks demo's pieces on generated footage whose ground-truth tracks
stand in for a perfect tracker: TrackEval scores, track identities,
cross-camera re-ID from the tool's outputs, the time split, the detector's
schedule options and ByteTrack thresholds."""
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

import mmddl  # noqa: F401  (compat fixes + registration)
from demo import tracks
from demo.common import repo_root
from mmddl.datasets.tracks import read_mot, read_seqinfo, write_mot
from mmddl.testing.synthetic_footage import (FootageSettings,
                                             footage_sequences,
                                             generate_footage)

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(__file__)), 'test_apis'))
import track_testutils as ttu  # noqa: E402


@pytest.fixture(scope='module')
def gt_run(tmp_path_factory):
    """3 cameras x 40 frames; every walker's gt track written as tracker
    output (ids shifted by 100)."""
    root = str(tmp_path_factory.mktemp('tracks_demo'))
    footage = osp.join(root, 'footage')
    made = generate_footage(footage, 3, FootageSettings(num_cameras=3))
    out = osp.join(root, 'run', 'tracks')
    for seq in footage_sequences(footage):
        info = read_seqinfo(seq)
        gt = read_mot(osp.join(seq, 'gt', 'gt.txt'), 'gt', info.seq_length)
        write_mot(
            osp.join(out, f'{info.name}.txt'),
            gt.frames,
            gt.ids + 100,
            gt.boxes,
            kind='results')
    return dict(root=root, footage=footage, tracks=out, made=made)


def test_perfect_tracks_score_perfectly(gt_run):
    m = tracks.tracking_metrics(gt_run['footage'], gt_run['tracks'])
    c = m['combined']
    assert c['HOTA'] == c['MOTA'] == c['IDF1'] == 100.0
    assert c['CLR_TP'] == gt_run['made']['boxes'] and c['IDSW'] == 0
    assert set(m) == {'combined', 'SYNTH-01', 'SYNTH-02', 'SYNTH-03'}
    # two sets (here the same one twice): every sequence once per set
    two = tracks.tracking_metrics(gt_run['footage'], gt_run['tracks'],
                                  gt_run['footage'], gt_run['tracks'])
    assert two['combined']['CLR_TP'] == 2 * c['CLR_TP']
    assert {'set0-SYNTH-01', 'set1-SYNTH-03'} <= set(two)
    with pytest.raises(ValueError, match='pairs'):
        tracks.tracking_metrics(gt_run['footage'], gt_run['tracks'], 'x')
    ids = tracks.identities_of(gt_run['footage'], gt_run['tracks'])
    assert len(ids) == gt_run['made']['tracks']
    for name, v in ids.items():
        assert v['identity'] == int(name.split('/')[1]) - 100
        assert v['overlap'] == 1.0


def test_reid_of_the_tool_outputs(gt_run, tmp_path):
    """DDL over the tracks with the tool's flow, then cross-camera re-ID:
    with embeddings equal to one-hot identities every method is perfect;
    with the tool's own embeddings mAP is recomputed here by hand."""
    base, ddnet = ttu.ddl_checkpoints(str(tmp_path))
    from mmddl.apis import run_track_ddl
    seqs = footage_sequences(gt_run['footage'])
    out = str(tmp_path / 'out')
    torch.set_num_threads(1)
    run_track_ddl(
        seqs,
        ttu.TRACK_CONFIG,
        base,
        out,
        ddnet_checkpoint=ddnet,
        tracks=[
            osp.join(gt_run['tracks'], f'{osp.basename(s)}.txt')
            for s in seqs
        ],
        ddl_options=tracks.aggregator_options(
            dict(mode='ddl_norescale', topk=2)),
        sheets=False,
        progress=False)
    ids = tracks.identities_of(gt_run['footage'], gt_run['tracks'])
    z = np.load(osp.join(out, 'embeddings.npz'))
    names = [str(n) for n in z['names']]
    cams = [int(n.split('/')[0][-2:]) - 1 for n in names]
    truth = [ids[n]['identity'] for n in names]
    onehot = np.eye(max(truth) + 1)[truth]
    crops = {m: np.full(len(names), 2) for m in ('ddl', 'average')}
    res = tracks.reid_scores(names, cams, dict(ddl=onehot, average=z['ddl']),
                             crops, ids)
    assert res['ddl']['mAP'] == res['ddl']['rank1'] == 100.0
    assert res['ddl']['base_images'] == 2.0
    # by hand: every query against the other cameras' tracks
    e = z['ddl'] / np.linalg.norm(z['ddl'], axis=1, keepdims=True)
    aps = []
    for q in range(len(names)):
        g = [j for j in range(len(names)) if cams[j] != cams[q]]
        if truth[q] not in [truth[j] for j in g]:
            continue
        d = np.linalg.norm(e[q] - e[g], axis=1)
        hits = np.array([truth[g[j]] == truth[q] for j in np.argsort(d)],
                        float)
        prec = np.cumsum(hits) / np.arange(1, len(hits) + 1)
        aps.append((prec * hits).sum() / hits.sum())
    assert res['average']['mAP'] == pytest.approx(100 * np.mean(aps),
                                                  abs=1e-3)
    assert res['average']['queries'] == len(aps)
    # the match picture of that run (queries of camera 1, their matches)
    from demo.figures import plot_track_matches
    png = plot_track_matches(out, {n: v['identity']
                                   for n, v in ids.items()},
                             str(tmp_path / 'm.png'), num_queries=2)
    import cv2
    img = cv2.imread(png)
    assert img is not None and img.shape[0] > 200 and img.std() > 10
    with pytest.raises(ValueError, match='no track of the first camera'):
        plot_track_matches(out, {}, str(tmp_path / 'none.png'))


def test_pool_sets_weights_by_queries_and_tracks():
    a = dict(ddl=dict(mAP=50.0, rank1=40.0, queries=10, skipped_queries=1,
                      no_identity=2, tracks=20, base_images=2.0))
    b = dict(ddl=dict(mAP=80.0, rank1=70.0, queries=30, skipped_queries=0,
                      no_identity=1, tracks=60, base_images=4.0))
    p = tracks.pool_sets([a, b])['ddl']
    assert p['mAP'] == pytest.approx((50 * 10 + 80 * 30) / 40)
    assert p['rank1'] == pytest.approx((40 * 10 + 70 * 30) / 40)
    assert p['base_images'] == pytest.approx((2 * 20 + 4 * 60) / 80)
    assert (p['queries'], p['skipped_queries'], p['no_identity'],
            p['tracks']) == (40, 1, 3, 80)


def test_time_split_scales_the_dense_base():
    summary = dict(
        times_s=dict(
            decode=1.0,
            detect=4.0,
            track=0.5,
            ddnet=0.8,
            base_dense=2.0,
            fusion=0.1,
            matching=0.05),
        inputs=[dict(frames=40), dict(frames=60)],
        wall_s=9.9)
    crops = dict(ddl=np.array([1, 2, 1]), average=np.array([4, 4, 8]))
    t = tracks.time_split(summary, crops)
    assert t['ddl_crop_share'] == 0.25 and t['seconds']['base'] == 0.5
    assert t['ms_per_frame']['detect'] == 40.0 and t['frames'] == 100
    assert t['total_s'] == pytest.approx(1 + 4 + 0.5 + 0.8 + 0.5 + 0.1 +
                                         0.05)


def test_detector_schedule_options():
    cfg = Config.fromfile(osp.join(repo_root(), tracks.DET_CONFIG))
    assert tracks.det_epoch_options(None) == {}
    cfg.merge_from_dict(tracks.det_epoch_options(8))
    warm, cos, const = cfg.param_scheduler
    # as the config sets them: T_max = end (max_epochs - num_last_epochs)
    assert (warm.end, cos.begin, cos.end, cos.T_max) == (1, 1, 6, 6)
    assert (const.begin, const.end) == (6, 8)
    assert cfg.train_cfg.max_epochs == 8
    assert cfg.custom_hooks[0].num_last_epochs == 2
    with pytest.raises(ValueError, match='det-epochs'):
        tracks.det_epoch_options(2)


@pytest.mark.skipif(bool(ttu.mmdet_missing()), reason=ttu.mmdet_missing())
def test_tracker_thresholds_reach_bytetrack(tmp_path):
    from mmddl.apis import init_tracker
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(ttu.DET_CONFIG)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    ckpt = str(tmp_path / 'det.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    tr = init_tracker(ttu.DET_CONFIG, ckpt, 'person', 'cpu',
                      tracks.tracker_options(0.45))
    assert tr.model.tracker.obj_score_thrs['high'] == 0.45
    assert tr.model.tracker.init_track_thr == pytest.approx(0.55)


def test_tracks_is_a_demo_task():
    from demo import run_demo
    assert 'tracks' in run_demo.TASKS
    args = tracks.parse_args([])
    assert args.test_seeds >= 3 and args.work_dir.endswith('demo_tracks')


def test_footage_roles_and_their_material(tmp_path):
    args = tracks.parse_args(['--reid-frames', '6', '--reid-ids', '2',
                              '--frames', '5', '--ids', '2'])
    assert args.ddnet_sets == 4  # held-out walkers train the DDNet
    assert tracks.footage_settings(args, 'ddnet') == \
        tracks.footage_settings(args, 'reid')
    assert tracks.footage_settings(args, 'val').num_frames == 5
    data = str(tmp_path / 'data')
    made = {}
    for role in ('ddnet_seed6500', 'val_seed100'):
        s = tracks.footage_settings(args, role.split('_')[0])
        made[role] = tracks.make_footage(
            osp.join(data, role), int(role.split('seed')[1]), s, role, data)
    # the DDNet's footage gets no COCO file (nothing detects on it); the
    # validation footage does (its tracking is scored)
    assert made['ddnet_seed6500']['coco'] is None
    assert made['val_seed100']['coco'] is not None
    assert osp.isfile(osp.join(data, 'annotations',
                               'val_seed100_cocoformat.json'))
    assert not osp.exists(osp.join(data, 'annotations',
                                   'ddnet_seed6500_cocoformat.json'))
