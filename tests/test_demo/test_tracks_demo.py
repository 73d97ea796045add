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


def test_true_d_scores_against_numpy():
    """The oracle's scores: cosine D against the walkers' centroids, then
    the sigmoid of the z-score within each walker, recomputed here; tracks
    of nobody keep the DDNet's scores."""
    rng = np.random.default_rng(0)
    feats = rng.random((11, 4))  # positive cosines: no floor in Eq. 3
    ptr = np.array([0, 3, 5, 8, 11])
    ids = [7, 2, -1, 7]
    own = rng.random(11).astype(np.float32)
    got, nobody = tracks.true_d_scores(feats, ptr, ids, own)
    assert nobody == 1
    elem = np.repeat(ids, np.diff(ptr))
    want = own.astype(np.float64).copy()
    known = elem >= 0
    cents = {w: feats[elem == w].mean(0) for w in (2, 7)}

    def cos(a, b):
        return a @ b / np.linalg.norm(a) / np.linalg.norm(b)

    raw = np.array([
        cos(feats[i], cents[elem[i]]) /
        max(cos(feats[i], c) for w, c in cents.items() if w != elem[i])
        for i in np.nonzero(known)[0]
    ])
    for w in (2, 7):
        m = elem[known] == w
        z = (raw[m] - raw[m].mean()) / raw[m].std()
        want[np.nonzero(known)[0][m]] = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert got.dtype == np.float32
    with pytest.raises(ValueError, match='two walkers'):
        tracks.true_d_scores(feats, ptr, [7, -1, -1, 7], own)
    with pytest.raises(ValueError, match='3 track identities'):
        tracks.true_d_scores(feats, ptr, [7, 2, 7], own)


@pytest.fixture(scope='module')
def gt_encoding(gt_run, tmp_path_factory):
    """The gt tracks encoded (dense pass) with average pooling and DDL's
    top-2 without re-scaling."""
    from mmddl.apis import build_track_encoder, encode_tracks
    base, ddnet = ttu.ddl_checkpoints(str(tmp_path_factory.mktemp('ckpt')))
    torch.set_num_threads(1)
    enc_ = build_track_encoder(ttu.TRACK_CONFIG, base, ddnet, 'cpu')
    seqs = footage_sequences(gt_run['footage'])
    enc = encode_tracks(
        enc_,
        dict(data_root='',
             sequences=[
                 dict(source=s,
                      ann_file=osp.join(gt_run['tracks'],
                                        f'{osp.basename(s)}.txt'),
                      camid=c,
                      kind='results') for c, s in enumerate(seqs)
             ],
             ids_are_identities=False,
             query_camids=[]),
        progress=False,
        keep_thumbnails=False,
        methods={
            'average': dict(mode='dense'),
            'k2': dict(mode='ddl_norescale', threshold=None, topk=2)
        })
    return enc_, enc


def test_selection_check_replays_the_wrapper(gt_run, gt_encoding):
    """The check's DDNet rows equal encode_tracks' own top-K runs; each
    ranking's rows keep min(K, track length) crops; the oracle and the
    random rankings keep other crops than the DDNet on long tracks; the
    summary's differences and shares follow its rows."""
    enc_, enc = gt_encoding
    ids = tracks.identities_of(gt_run['footage'], gt_run['tracks'])
    names = [r['name'] for r in enc.tracks]
    truth = [ids[n]['identity'] for n in names]
    emb, crops, nobody = tracks.selection_check(enc_.model, enc.dump, truth,
                                                [1, 2], 0)
    assert nobody == 0
    assert len(emb) == 2 * (2 + tracks.CHECK_DRAWS)
    np.testing.assert_allclose(emb['ddnet@k=2'], enc.embeddings['k2'],
                               atol=1e-6)
    lengths = np.diff(enc.dump.group_ptr)
    for name, c in crops.items():
        k = int(name.rsplit('=', 1)[1])
        np.testing.assert_array_equal(c, np.minimum(lengths, k))
    long = lengths > 2
    assert long.any()
    for other in ('true_d@k=1', 'random0@k=1'):
        assert not np.allclose(emb[other][long], emb['ddnet@k=1'][long])
    cams = [r['camid'] for r in enc.tracks]
    pooled = tracks.pool_sets([tracks.reid_scores(names, cams, emb, crops,
                                                  ids)])
    avg = dict(mAP=50.0, rank1=40.0, base_images=9.0)
    check = tracks.summarize_check(pooled, [1, 2], avg)
    rnd = np.mean([pooled[f'random{d}@k=2']['mAP']
                   for d in range(tracks.CHECK_DRAWS)])
    row = check['k=2']
    assert row['random']['mAP'] == pytest.approx(rnd)
    assert row['ddnet']['mAP_minus_average'] == pytest.approx(
        pooled['ddnet@k=2']['mAP'] - 50.0)
    gap = pooled['true_d@k=2']['mAP'] - rnd
    if gap > 0:
        assert row['ddnet_share_of_oracle_gain'] == pytest.approx(
            (pooled['ddnet@k=2']['mAP'] - rnd) / gap)
    else:
        assert row['ddnet_share_of_oracle_gain'] is None
    text = tracks.format_check(check)
    assert 'k=1: DDNet' in text and 'k=2: DDNet' in text


def test_score_validation_set_and_its_left_out_sets(gt_run, gt_encoding):
    """One validation set's re-ID and selection check, and the two kinds
    of set left out: no walker in two cameras (no query: no re-ID, no
    check) and tracks of one walker only (re-ID, but no check: Eq. 3 has
    no negative centroid)."""
    enc_, enc = gt_encoding
    ids = tracks.identities_of(gt_run['footage'], gt_run['tracks'])
    names = [r['name'] for r in enc.tracks]
    cams = [r['camid'] for r in enc.tracks]
    got = tracks.score_validation_set(enc_.model, enc, ids, [2], 0)
    want = tracks.reid_scores(names, cams, {
        'average': enc.embeddings['average'],
        'k2': enc.embeddings['k2']
    }, enc.base_crops, ids)
    assert set(got['reid']) == {'average', 'k2'}  # not DDL's own row
    assert got['reid']['average'] == want['average']
    assert got['reid']['k2'] == want['k2']
    assert got['check']['ddnet@k=2'] == want['k2']
    assert got['nobody'] == 0
    # every track a walker of its own: nothing to match across cameras
    alone = {n: dict(v, identity=1000 + i)
             for i, (n, v) in enumerate(ids.items())}
    assert tracks.score_validation_set(enc_.model, enc, alone, [2], 0) == \
        dict(reid=None, check=None, nobody=0)
    # one walker in every track: re-ID is defined, the check is not
    one = {n: dict(v, identity=0) for n, v in ids.items()}
    res = tracks.score_validation_set(enc_.model, enc, one, [2], 0)
    assert res['reid']['average']['queries'] == len(names)
    assert res['check'] is None
    assert tracks.num_walkers([3, 3, -1, 5]) == 2


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
