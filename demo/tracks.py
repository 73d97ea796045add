"""The tracks demo (``make demo TASK=tracks``): multi-camera street footage
in, person tracks (an mmdet detector + ByteTrack) encoded with DDL and
matched across cameras. Steps and configs: docs/tracks.md."""
import argparse
import functools
import json
import os
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from mmddl.evaluation.functional import NO_IDENTITY
from mmddl.testing.synthetic_footage import footage_sequences

from .common import (Timer, data_stage, ddnet_hook_options, epoch_options,
                     file_sha256, hold_work_dir, operating_points, repo_root,
                     summarize_seeds, train_stage, write_results)

DET_CONFIG = 'configs/tracks/bytetrack_yolox-nano_1xb8-20e_synth-footage.py'
BASE_CONFIG = ('configs/reid/demo/'
               'reid_r18-tiny_1xb64-ce-triplet-10e_synth-mars.py')
DDNET_CONFIG = ('configs/reid/demo/'
                'ddnet_r18cd_reid-r18-tiny-dscore-15e_synth-mars.py')
TRACK_CONFIG = ('configs/tracks/'
                'ddl_reid-r18-tiny_thr0.15_synth-footage-tracks.py')
#: Seed offsets (from --seed) of the detector's training footage, the re-ID
#: training footage, the validation and the test footage, and the footage
#: of walkers the re-ID base never sees (the DDNet's training material).
TRAIN_OFFSET, REID_OFFSET, VAL_OFFSET, TEST_OFFSET = 5000, 6000, 100, 1000
DDNET_OFFSET = 6500
#: The compared methods (the DDL row is the validation-chosen point).
METHODS = ('ddl', 'average', 'top1')
METHOD_NAMES = {
    'ddl': 'DDL (validation-chosen point)',
    'average': 'Average pooling (all crops)',
    'top1': 'Top-1 crop by D-score'
}
#: Validation metrics whose sum chooses DDL's point (within the crop budget).
VAL_KEYS = ('mAP', 'rank1')
TRACKING_KEYS = ('HOTA', 'MOTA', 'IDF1', 'DetA', 'AssA', 'IDSW')
#: Wall-time parts of a test run, in pipeline order.
TIME_PARTS = ('decode', 'detect', 'track', 'ddnet', 'base', 'fusion',
              'matching')
#: Random rankings averaged in the validation sets' selection check.
CHECK_DRAWS = 5
#: Rankings of the selection check: the DDNet's, chance and an oracle.
CHECK_RANKINGS = ('ddnet', 'random', 'true_d')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options (demo-sized defaults).

    Args:
        argv (Sequence[str], optional): Arguments; default ``sys.argv``.
    """
    p = argparse.ArgumentParser(description='mmddl tracks demo')
    p.add_argument('--work-dir', default='work_dirs/demo_tracks')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--test-seeds', type=int, default=3,
                   help='test footage sets (seeds --seed + 1000 + i)')
    p.add_argument('--cameras', type=int, default=3)
    p.add_argument('--frames', type=int, default=80,
                   help='frames per camera of a validation / test set')
    p.add_argument('--ids', type=int, default=10,
                   help='walkers of a validation / test set')
    p.add_argument('--train-frames', type=int, default=150,
                   help="frames per camera of the detector's training "
                   'footage')
    p.add_argument('--train-ids', type=int, default=24)
    p.add_argument('--reid-frames', type=int, default=200,
                   help='frames per camera of the re-ID training footage')
    p.add_argument('--reid-ids', type=int, default=48)
    p.add_argument('--reid-frame-step', type=int, default=2,
                   help='re-ID training crops from every n-th frame')
    p.add_argument('--ddnet-sets', type=int, default=4,
                   help="footage sets (seeds --seed + 6500 + i, re-ID "
                   'settings) of walkers the base never sees, whose crops '
                   "train the DDNet on the base's held-out D-scores; 0: "
                   "the DDNet trains on the base's own training crops")
    p.add_argument('--det-epochs', type=int, default=None)
    p.add_argument('--det-checkpoint', default=None,
                   help='a trained detector checkpoint of the detector '
                   'config (skips its training)')
    p.add_argument('--base-epochs', type=int, default=None)
    p.add_argument('--ddnet-epochs', type=int, default=None)
    p.add_argument('--val-sets', type=int, default=3,
                   help='validation footage sets (seeds --seed + 100 + i)')
    p.add_argument('--val-track-scores', type=float, nargs='+',
                   default=[0.45, 0.6, 0.7],
                   help="ByteTrack's confident-detection thresholds tried "
                   'on the validation cameras')
    p.add_argument('--val-budget', type=float, default=0.5,
                   help="DDL's base crops per track at most this x average "
                   "pooling's (on validation)")
    p.add_argument('--val-thresholds', type=float, nargs='+',
                   default=[0.15, 0.3, 0.5, 0.7])
    p.add_argument('--val-topks', type=int, nargs='+', default=[2, 3, 5, 8])
    p.add_argument('--val-modes', nargs='+',
                   default=['ddl', 'ddl_norescale'])
    p.add_argument('--threads', type=int, default=1,
                   help='torch threads (1 is fastest on a small CPU)')
    p.add_argument('--force', action='store_true',
                   help='regenerate and retrain every stage')
    return p.parse_args(argv)


def footage_settings(args, role: str):
    """The generator's settings of a footage set (defaults elsewhere)."""
    from mmddl.testing.synthetic_footage import FootageSettings
    if role == 'train':
        return FootageSettings(
            num_cameras=args.cameras,
            num_frames=args.train_frames,
            num_identities=args.train_ids)
    if role in ('reid', 'ddnet'):
        return FootageSettings(
            num_cameras=args.cameras,
            num_frames=args.reid_frames,
            num_identities=args.reid_ids)
    return FootageSettings(
        num_cameras=args.cameras,
        num_frames=args.frames,
        num_identities=args.ids)


def make_footage(out_dir: str, seed: int, settings, role: str,
                 data_root: str) -> dict:
    """Write one footage set and its COCO-VID annotations."""
    from mmddl.testing.synthetic_footage import (generate_footage,
                                                 write_coco_annotations)
    summary = generate_footage(out_dir, seed, settings)
    coco = None
    if role == 'train' or role.startswith(('val_', 'test_')):
        # detector training / tracking evaluation
        coco = write_coco_annotations(
            out_dir,
            osp.join(data_root, 'annotations', f'{role}_cocoformat.json'),
            mot_classes=role != 'train')
    summary = {
        k: v
        for k, v in summary.items() if k not in ('sequences', 'videos')
    }
    return dict(summary, seed=seed, role=role, coco=coco)


def tracking_metrics(footage_dir: str, tracks_dir: str,
                     *more: str) -> dict:
    """HOTA / CLEAR / Identity of a tracker's files (TrackEval), over one
    footage set or several (``footage_dir, tracks_dir, footage_dir2,
    tracks_dir2, ...``; sequences named ``<set>/<sequence>`` then)."""
    from mmddl.datasets.tracks import read_seqinfo
    from mmddl.evaluation.functional import mot_challenge_metrics
    pairs = [(footage_dir, tracks_dir)] + list(zip(more[::2], more[1::2]))
    if len(more) % 2:
        raise ValueError('give footage and tracks folders in pairs')
    seqs = []
    for k, (footage, tracks) in enumerate(pairs):
        for seq in footage_sequences(footage):
            info = read_seqinfo(seq)
            seqs.append(
                dict(
                    name=info.name if len(pairs) == 1 else
                    f'set{k}-{info.name}',
                    gt_file=osp.join(seq, 'gt', 'gt.txt'),
                    pred_file=osp.join(tracks, f'{info.name}.txt'),
                    length=info.seq_length))
    return mot_challenge_metrics(seqs)


def pool_sets(per_set: Sequence[Dict[str, dict]]) -> Dict[str, dict]:
    """Cross-camera re-ID of several footage sets as one: every score
    weighted by its set's queries (the mean over all queries); base crops
    weighted by the set's tracks (``tracks``)."""
    out = {}
    for m in per_set[0]:
        q = np.array([s[m]['queries'] for s in per_set], float)
        t = np.array([s[m]['tracks'] for s in per_set], float)
        res = {
            k: float((np.array([s[m][k] for s in per_set]) * q).sum() /
                     q.sum())
            for k in per_set[0][m]
            if k == 'mAP' or k.startswith('rank')
        }
        res['base_images'] = float(
            (np.array([s[m]['base_images'] for s in per_set]) * t).sum() /
            t.sum())
        for k in ('queries', 'skipped_queries', 'no_identity', 'tracks'):
            res[k] = int(sum(s[m][k] for s in per_set))
        out[m] = res
    return out


def identities_of(footage_dir: str, tracks_dir: str) -> Dict[str, dict]:
    """Ground-truth identity of every predicted track, ``{'<seq>/<id>':
    dict(identity, frames, overlap)}`` (walkers and standing persons)."""
    from mmddl.datasets.tracks import read_mot, read_seqinfo
    from mmddl.evaluation.functional import track_identities
    out = {}
    for seq in footage_sequences(footage_dir):
        info = read_seqinfo(seq)
        gt = read_mot(
            osp.join(seq, 'gt', 'gt.txt'),
            'gt',
            info.seq_length,
            keep_classes=None,
            keep_zero_conf=True)
        pred = read_mot(
            osp.join(tracks_dir, f'{info.name}.txt'), 'results',
            info.seq_length)
        ids = track_identities(pred.frames, pred.ids, pred.boxes, gt.frames,
                               gt.ids, gt.boxes)
        out.update({f'{info.name}/{t}': v for t, v in ids.items()})
    return out


def reid_scores(names: Sequence[str], cameras: Sequence[int],
                embeddings: Dict[str, np.ndarray],
                base_crops: Dict[str, np.ndarray],
                identities: Dict[str, dict]) -> Dict[str, dict]:
    """Cross-camera mAP / CMC of each method's track embeddings, with the
    crops its base saw per track."""
    from mmddl.evaluation.functional import cross_camera_reid
    ids = [identities[n]['identity'] for n in names]
    out = {}
    for m, emb in embeddings.items():
        res = cross_camera_reid(emb, ids, cameras)
        res['base_images'] = float(np.mean(base_crops[m]))
        res['tracks'] = len(names)
        out[m] = res
    return out


def aggregator_options(settings: dict) -> dict:
    """DDL config overrides that set its aggregator to ``settings``."""
    agg = dict(type='DDLAggregator', threshold=None, topk=None)
    agg.update(settings)
    return {'model.aggregator': agg}


def choose_point(metrics: Dict[str, dict], candidates: Dict[str, dict],
                 budget: float) -> dict:
    """DDL's operating point: the best validation mAP + CMC-1 among the
    candidates whose base sees at most ``budget`` x average pooling's
    crops per track (the budget rule of
    :func:`mmddl.analysis.budget.select_point`)."""
    from mmddl.analysis.budget import select_point
    limit = budget * metrics['average']['base_images']
    name, ok = select_point({n: metrics[n]
                             for n in candidates}, VAL_KEYS, 'base_images',
                            budget=limit)
    return dict(
        name=name,
        settings=dict(candidates[name]),
        qualified=ok,
        rule=(f'best {" + ".join(VAL_KEYS)} on validation with at most '
              f'{budget:g} x average pooling\'s base crops per track '
              f'({limit:.2f})'),
        base_images=metrics[name]['base_images'],
        metrics=dict(metrics[name]))


def tracker_options(score: float) -> dict:
    """ByteTrack overrides: detections above ``score`` are its confident
    ones, and a new track starts above ``score + 0.1`` (mmdet's MOT17
    setting is 0.6 / 0.7, for detectors trained on far more data)."""
    return {
        'model.tracker.obj_score_thrs.high': float(score),
        'model.tracker.init_track_thr': round(float(score) + 0.1, 6)
    }


def num_walkers(track_identities: Sequence[int]) -> int:
    """Distinct walkers among tracks (tracks of nobody not counted)."""
    ids = np.asarray(track_identities)
    return len(np.unique(ids[ids != NO_IDENTITY]))


def true_d_scores(feats: np.ndarray, group_ptr: np.ndarray,
                  track_identities: Sequence[int],
                  own: np.ndarray) -> Tuple[np.ndarray, int]:
    """The ceilings' true D-score (:func:`demo.ceilings.oracle_scores`) of
    every crop, a crop's identity being its track's ground-truth walker;
    crops of tracks of nobody keep ``own`` (counted).

    Args:
        feats (np.ndarray): (E, d) base outputs of every crop.
        group_ptr (np.ndarray): (T+1,) offsets of the tracks' crops.
        track_identities (Sequence[int]): (T,) walker of each track, -1 for
            nobody.
        own (np.ndarray): (E,) the DDNet's D-scores.

    Returns:
        tuple: (E,) float32 scores in (0, 1) and the number of tracks of
        nobody.
    """
    from .ceilings import oracle_scores
    ptr = np.asarray(group_ptr)
    ids = np.asarray(track_identities)
    if len(ids) != len(ptr) - 1 or ptr[-1] != len(own):
        raise ValueError(f'{len(ids)} track identities and {len(own)} '
                         f'D-scores for offsets of {len(ptr) - 1} tracks '
                         f'and {int(ptr[-1])} crops')
    if num_walkers(ids) < 2:
        raise ValueError('the selection check needs tracks of two walkers '
                         'or more (no negative centroid otherwise)')
    elem = np.repeat(ids, np.diff(ptr))
    names = [str(i) for i in range(len(elem))]
    meta = {n: [int(w), False, 0] for n, w in zip(names, elem) if w >= 0}
    res = oracle_scores(names, feats, own, ptr, meta)
    return res['true_d'], int((ids < 0).sum())


def selection_check(model, dump, track_identities: Sequence[int],
                    topks: Sequence[int], seed: int) -> tuple:
    """Each track's top-K crops picked by the DDNet, by chance
    (:data:`CHECK_DRAWS` uniform rankings) and by :func:`true_d_scores`,
    each fused as DDL without re-scaling (the wrapper's own selection and
    fusion, replayed on the dense pass): how much of an oracle's gain the
    DDNet's ranking reaches.

    Args:
        model: The DDL wrapper of the dense pass.
        dump (SweepDump): The dense pass over one set's tracks.
        track_identities (Sequence[int]): (T,) walker of each track.
        topks (Sequence[int]): The K compared.
        seed (int): Seed of the random rankings.

    Returns:
        tuple: ``{'<ranking>@k=K': (T, d) embeddings}`` (random draws as
        ``random<d>@k=K``), the matching ``{name: (T,) base crops}`` and
        the number of tracks of nobody (their crops keep the DDNet's
        order under the oracle).
    """
    import dataclasses

    from mmddl.analysis.sweep import replay_samples
    oracle, nobody = true_d_scores(dump.outputs, dump.group_ptr,
                                   track_identities, dump.scores)
    rng = np.random.default_rng(seed)
    rankings = {'ddnet': dump.scores, 'true_d': oracle}
    for d in range(CHECK_DRAWS):
        rankings[f'random{d}'] = rng.random(len(dump.scores)).astype(
            np.float32)
    emb, crops = {}, {}
    for name, scores in rankings.items():
        ranked = dataclasses.replace(dump, scores=np.asarray(scores))
        for k in topks:
            samples = replay_samples(
                model, ranked,
                dict(type='DDLAggregator', mode='ddl_norescale',
                     threshold=None, topk=int(k)))
            emb[f'{name}@k={k}'] = np.stack([
                s.pred_feature.detach().float().cpu().numpy()
                for s in samples
            ]).astype(np.float32)
            crops[f'{name}@k={k}'] = np.asarray(
                [int(s.base_elements) for s in samples])
    return emb, crops, nobody


def summarize_check(pooled: Dict[str, dict], topks: Sequence[int],
                    average: dict) -> dict:
    """The pooled selection check per K: mAP, CMC-1 and base crops of each
    ranking (random: the mean over its draws), and each mAP minus average
    pooling's.

    Args:
        pooled (dict): :func:`pool_sets` of the check's methods.
        topks (Sequence[int]): The K compared.
        average (dict): Average pooling's pooled metrics.
    """
    out = dict(draws=CHECK_DRAWS, average={
        k: average[k] for k in ('mAP', 'rank1', 'base_images')})
    for k in topks:
        row = {}
        for r in CHECK_RANKINGS:
            names = ([f'random{d}@k={k}' for d in range(CHECK_DRAWS)]
                     if r == 'random' else [f'{r}@k={k}'])
            row[r] = {
                m: float(np.mean([pooled[n][m] for n in names]))
                for m in ('mAP', 'rank1', 'base_images')
            }
            row[r]['mAP_minus_average'] = row[r]['mAP'] - average['mAP']
        gap = row['true_d']['mAP'] - row['random']['mAP']
        row['ddnet_share_of_oracle_gain'] = (
            (row['ddnet']['mAP'] - row['random']['mAP']) / gap
            if gap > 0 else None)
        out[f'k={k}'] = row
    return out


def format_check(check: dict) -> str:
    """The selection check as printed lines (mAP minus average pooling's)."""
    lines = [
        'selection check on the validation tracks, top-K fused without '
        're-scaling (mAP minus average pooling\'s '
        f"{check['average']['mAP']:.2f}; random: mean of "
        f"{check['draws']} draws):"
    ]
    for key, row in check.items():
        if not key.startswith('k='):
            continue
        share = row['ddnet_share_of_oracle_gain']
        lines.append(
            f'  {key}: DDNet {row["ddnet"]["mAP_minus_average"]:+.2f}, '
            f'random {row["random"]["mAP_minus_average"]:+.2f}, true-D '
            f'oracle {row["true_d"]["mAP_minus_average"]:+.2f} (DDNet '
            'reaches ' + ('n/a' if share is None else f'{share:.0%}') +
            ' of the oracle\'s gain over chance; '
            f'{row["ddnet"]["base_images"]:.2f} crops per track)')
    return '\n'.join(lines)


def score_validation_set(model, enc, identities: Dict[str, dict],
                         topks: Sequence[int], seed: int) -> dict:
    """Cross-camera re-ID of one validation set's methods (the DDL row is
    left out: the candidates are its points) and its selection check.

    Args:
        model: The DDL wrapper of ``enc``'s dense pass.
        enc (TrackEncoding): :func:`mmddl.apis.encode_tracks` of the set.
        identities (dict): :func:`identities_of` the set's tracks.
        topks (Sequence[int]): The K of the selection check.
        seed (int): Seed of its random rankings.

    Returns:
        dict: ``reid`` (``{method: metrics}``; None when no walker is
        tracked in two cameras: the set has no query), ``check`` (the
        check's ``{'<ranking>@k=K': metrics}``; None also when the tracks
        show one walker only: Eq. 3 needs another's centroid) and
        ``nobody`` (tracks of nobody, ordered by the DDNet in the check).
    """
    from mmddl.evaluation.functional import cross_camera_queries
    names = [r['name'] for r in enc.tracks]
    cams = [r['camid'] for r in enc.tracks]
    walkers = [identities[n]['identity'] for n in names]
    out = dict(reid=None, check=None, nobody=0)
    if not cross_camera_queries(walkers, cams).any():
        return out
    out['reid'] = reid_scores(
        names, cams,
        {m: e for m, e in enc.embeddings.items() if m != 'ddl'},
        enc.base_crops, identities)
    if num_walkers(walkers) < 2:
        return out
    emb, crops, out['nobody'] = selection_check(model, enc.dump, walkers,
                                                topks, seed)
    out['check'] = reid_scores(names, cams, emb, crops, identities)
    return out


def validation_stage(args, val_dirs: Sequence[str], out_dir: str, det: dict,
                     reid: dict) -> dict:
    """Choose ByteTrack's score thresholds by HOTA on the validation sets,
    then encode their tracks at every candidate DDL operating point (one
    dense pass per set) and choose DDL's point on the pooled queries."""
    from mmddl.apis import (build_track_encoder, encode_tracks,
                            init_tracker, track_footage)
    from mmddl.datasets.tracks import FrameSource
    trackers = {}
    for score in args.val_track_scores:
        opts = tracker_options(score)
        tracker = init_tracker(det['config'], det['checkpoint'], 'person',
                               'cpu', opts)
        tdirs = [
            osp.join(out_dir, f'set{k}', f'tracks_score{score:g}')
            for k in range(len(val_dirs))
        ]
        for vdir, tdir in zip(val_dirs, tdirs):
            for seq in footage_sequences(vdir):
                src = FrameSource.open(seq)
                track_footage(tracker, src,
                              osp.join(tdir, f'{src.name}.txt'))
        pairs = [x for pair in zip(val_dirs, tdirs) for x in pair]
        trackers[score] = dict(
            options=opts,
            tracks_dirs=tdirs,
            metrics=tracking_metrics(*pairs)['combined'])
        print(f'validation tracking, score threshold {score:g}: ' +
              ', '.join(f'{k} {trackers[score]["metrics"][k]:.2f}'
                        for k in TRACKING_KEYS))
    best = max(trackers, key=lambda k: (trackers[k]['metrics']['HOTA'], -k))
    print(f'validation-chosen ByteTrack score threshold: {best:g} '
          '(best HOTA)')
    candidates = operating_points(args.val_thresholds, args.val_modes,
                                  args.val_topks)
    encoder = build_track_encoder(reid['track_config'], reid['base'],
                                  reid['ddnet'], 'cpu', reid['options'])
    per_set, tracks, left_out = [], 0, []
    check_sets, check_average, check_nobody, check_left_out = [], [], 0, []
    for vdir, tdir in zip(val_dirs, trackers[best]['tracks_dirs']):
        enc = encode_tracks(
            encoder,
            dict(
                data_root='',
                sequences=[
                    dict(
                        source=seq,
                        ann_file=osp.join(tdir, f'{osp.basename(seq)}.txt'),
                        camid=c,
                        kind='results')
                    for c, seq in enumerate(footage_sequences(vdir))
                ],
                ids_are_identities=False,
                query_camids=[]),
            progress=False,
            keep_thumbnails=False,
            methods=dict(
                average=dict(mode='dense'),
                **{
                    n: dict(dict(threshold=None, topk=None), **s)
                    for n, s in candidates.items()
                }))
        scores = score_validation_set(encoder.model, enc,
                                      identities_of(vdir, tdir),
                                      args.val_topks, args.seed)
        tracks += len(enc.tracks)
        if scores['reid'] is None:
            print(f'[demo] validation set {vdir}: no walker is tracked in '
                  'two cameras, so it has no re-ID query; left out of the '
                  'operating point\'s choice (counted in results.json: '
                  'validation.reid_sets_left_out)')
            left_out.append(vdir)
            continue
        per_set.append(scores['reid'])
        if scores['check'] is None:
            print(f'[demo] validation set {vdir}: tracks of one walker '
                  'only; left out of the selection check (counted in '
                  'validation.selection_check.sets_left_out)')
            check_left_out.append(vdir)
            continue
        check_sets.append(scores['check'])
        check_average.append(scores['reid'])
        check_nobody += scores['nobody']
    if not per_set:
        raise ValueError('no validation set has a walker tracked in two '
                         f'cameras: {", ".join(val_dirs)}')
    metrics = pool_sets(per_set)
    chosen = choose_point(metrics, candidates, args.val_budget)
    print(f"validation-chosen operating point: {chosen['name']} "
          f"(within the budget: {chosen['qualified']}; "
          f"{chosen['base_images']:.2f} base crops per track, average "
          f"pooling {metrics['average']['base_images']:.2f}; "
          f"{metrics['average']['queries']} queries)")
    check = {}
    if check_sets:
        check = summarize_check(pool_sets(check_sets), args.val_topks,
                                pool_sets(check_average)['average'])
        print(format_check(check))
    check.update(nobody_tracks=check_nobody, sets_left_out=check_left_out)
    return dict(
        tracking=trackers[best]['metrics'],
        tracker_scores={f'{k:g}': v['metrics']
                        for k, v in trackers.items()},
        tracker_score=best,
        tracker_options=trackers[best]['options'],
        tracks=tracks,
        metrics=metrics,
        per_set=per_set,
        candidates=candidates,
        chosen=chosen,
        selection_check=check,
        reid_sets_left_out=left_out)


def test_stage(test_dir: str, out_dir: str, det: dict, reid: dict,
               chosen: dict) -> dict:
    """``run_track_ddl`` (the tool's flow) on one test set, then tracking
    and cross-camera re-ID against the ground truth."""
    from mmddl.apis import run_track_ddl
    seqs = footage_sequences(test_dir)
    summary = run_track_ddl(
        seqs,
        reid['track_config'],
        reid['base'],
        out_dir,
        ddnet_checkpoint=reid['ddnet'],
        det_config=det['config'],
        det_checkpoint=det['checkpoint'],
        ddl_options=dict(reid['options'],
                         **aggregator_options(chosen['settings'])),
        det_options=det['options'],
        progress=False)
    tracking = tracking_metrics(test_dir, osp.join(out_dir, 'tracks'))
    identities = identities_of(test_dir, osp.join(out_dir, 'tracks'))
    with np.load(osp.join(out_dir, 'embeddings.npz')) as z:
        names = [str(n) for n in z['names']]
        embeddings = {m: z[m] for m in METHODS}
    lines = {}
    with open(osp.join(out_dir, 'tracks.jsonl')) as f:
        for line in f:
            rec = json.loads(line)
            lines[rec['track']] = rec
    cams = [lines[n]['camid'] for n in names]
    crops = {m: np.asarray([lines[n]['base_crops'][m] for n in names])
             for m in METHODS}
    reid_metrics = reid_scores(names, cams, embeddings, crops, identities)
    return dict(
        tracking=tracking['combined'],
        reid=reid_metrics,
        times=time_split(summary, crops),
        tracks=len(names),
        frames=sum(i['frames'] for i in summary['inputs']),
        identities={n: identities[n]['identity']
                    for n in names},
        track_counts=summary['track_counts'])


def time_split(summary: dict, crops: Dict[str, np.ndarray]) -> dict:
    """Seconds of each part of a test run, in all and per frame.

    The dense pass runs the base on every crop once (average pooling's
    cost, and the crops DDL and top-1 are replayed from); DDL's own base
    time is that time scaled by the share of crops DDL kept.
    """
    t = summary['times_s']
    frames = sum(i['frames'] for i in summary['inputs'])
    dense = t['base_dense']
    share = float(crops['ddl'].sum()) / max(float(crops['average'].sum()), 1)
    parts = dict(
        decode=t['decode'],
        detect=t['detect'],
        track=t['track'],
        ddnet=t['ddnet'],
        base=dense * share,
        fusion=t['fusion'],
        matching=t['matching'])
    total = sum(parts.values())
    return dict(
        seconds={k: round(v, 3)
                 for k, v in parts.items()},
        ms_per_frame={k: round(1000 * v / frames, 3)
                      for k, v in parts.items()},
        total_s=round(total, 3),
        base_dense_s=round(dense, 3),
        ddl_crop_share=round(share, 4),
        frames=frames,
        tool_wall_s=summary['wall_s'])


def draw_figures(run_dir: str, identities: Dict[str, int],
                 out_dir: str) -> Dict[str, str]:
    """The contact sheet of the run's longest track of a person (a track
    with a ground-truth identity) whose crops DDL split (some kept, some
    dropped), and the cross-camera match picture."""
    import shutil

    from .figures import plot_track_matches
    with open(osp.join(run_dir, 'tracks.jsonl')) as f:
        lines = [
            ln for ln in map(json.loads, f)
            if 'sheet' in ln and identities.get(ln['track'], -1) >= 0
        ]
    split = [
        ln for ln in lines if 0 < len(ln['kept']) < ln['num_crops']
    ] or lines
    best = max(split, key=lambda ln: ln['num_crops'])
    os.makedirs(out_dir, exist_ok=True)
    sheet = osp.join(out_dir, 'contact_sheet.png')
    shutil.copyfile(osp.join(run_dir, best['sheet']), sheet)
    matches = plot_track_matches(run_dir, identities,
                                 osp.join(out_dir, 'matches.png'))
    print(f"figures: {sheet} (track {best['track']}), {matches}")
    return dict(contact_sheet=sheet, sheet_track=best['track'],
                matches=matches)


def format_tables(per_seed: Dict[int, dict], summary: dict,
                  tracking: dict) -> str:
    """The printed tables: re-ID per method, tracking, time split."""
    lines = [
        'Cross-camera re-ID of the predicted tracks (mean +- std over '
        f"{len(per_seed)} test sets, seeds {', '.join(map(str, per_seed))})",
        f"{'method':32s} | {'mAP':>14s} | {'CMC-1':>14s} | "
        f"{'base crops/track':>16s}"
    ]
    for m in METHODS:
        mean, std = summary['mean'][m], summary['std'][m]
        lines.append(f'{METHOD_NAMES[m]:32s} | '
                     f"{mean['mAP']:6.2f} +- {std['mAP']:5.2f} | "
                     f"{mean['rank1']:6.2f} +- {std['rank1']:5.2f} | "
                     f"{mean['base_images']:7.2f} +- "
                     f"{std['base_images']:5.2f}")
    lines.append('')
    lines.append('Tracking (TrackEval, detector + ByteTrack): ' + ', '.join(
        f"{k} {tracking['mean'][k]:.2f} +- {tracking['std'][k]:.2f}"
        for k in TRACKING_KEYS))
    return '\n'.join(lines)


class _DetectorTraining:
    """The detector's training in a child process (one torch thread) while
    the re-ID models train in this one."""

    def __init__(self, proc, log: str):
        self.proc, self.log = proc, log


def _train_detector(det_args: tuple, threads: int, log: str) -> None:
    """Child process: :func:`train_stage` of the detector, output to
    ``log``."""
    import sys

    import torch
    os.makedirs(osp.dirname(log), exist_ok=True)
    with open(log, 'a') as f:
        sys.stdout = sys.stderr = f
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        torch.set_num_threads(threads)
        import mmddl  # noqa: F401  (registration)
        train_stage(*det_args)


def start_detector_training(det_args: tuple,
                            threads: int) -> _DetectorTraining:
    """Start training the detector in a child process (spawned: a fresh
    interpreter), its log in ``<work_dir>/train_log.txt``."""
    import multiprocessing
    log = osp.join(det_args[2], 'train_log.txt')
    proc = multiprocessing.get_context('spawn').Process(
        target=_train_detector, args=(det_args, threads, log))
    proc.start()
    print(f'[demo] detector: training in process {proc.pid} beside the '
          f're-ID models (log: {log})', flush=True)
    return _DetectorTraining(proc, log)


def finish_detector_training(job: _DetectorTraining, det_args: tuple) -> str:
    """Wait for the detector's training; its checkpoint (the stage record
    the child wrote)."""
    job.proc.join()
    if job.proc.exitcode != 0:
        raise RuntimeError(f'the detector\'s training failed (exit code '
                           f'{job.proc.exitcode}): see {job.log}')
    name, config, work_dir, options, inputs, _ = det_args
    return train_stage(name, config, work_dir, options, inputs, False)


def det_epoch_options(epochs: Optional[int]) -> dict:
    """``--cfg-options`` giving the detector config another epoch count
    (its schedule: warm-up, cosine, then the last epochs without mosaic at
    a constant rate)."""
    if epochs is None:
        return {}
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(repo_root(), DET_CONFIG))
    last = min(cfg.num_last_epochs, max(epochs // 4, 1))
    if epochs < last + 2:
        raise ValueError(f'--det-epochs must be >= {last + 2}')
    return {
        'train_cfg.max_epochs': epochs,
        'train_cfg.val_interval': epochs,
        'default_hooks.checkpoint.interval': epochs,
        'param_scheduler.1.T_max': epochs - last,
        'param_scheduler.1.end': epochs - last,
        'param_scheduler.2.begin': epochs - last,
        'param_scheduler.2.end': epochs,
        'custom_hooks.0.num_last_epochs': last
    }


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the tracks demo; return the results written to results.json.

    Args:
        argv (Sequence[str], optional): Arguments; default ``sys.argv``.
    """
    import torch
    from mmengine.config import Config

    import mmddl  # noqa: F401  (registration)
    from mmddl.apis.mot_tracker import import_mmdet
    from mmddl.testing.synthetic_footage import write_reid_crops
    import_mmdet()  # a clear error without full mmcv + mmdet
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    work = osp.abspath(args.work_dir)
    data = osp.join(work, 'data')
    hold_work_dir(work)
    os.makedirs(data, exist_ok=True)
    timer = Timer()
    val_seeds = [args.seed + VAL_OFFSET + i for i in range(args.val_sets)]
    test_seeds = [args.seed + TEST_OFFSET + i for i in range(args.test_seeds)]
    ddnet_seeds = [
        args.seed + DDNET_OFFSET + i for i in range(args.ddnet_sets)
    ]
    roles = [('train', args.seed + TRAIN_OFFSET),
             ('reid', args.seed + REID_OFFSET)] + [
                 (f'ddnet_seed{s}', s) for s in ddnet_seeds] + [
                 (f'val_seed{s}', s) for s in val_seeds] + [
        (f'test_seed{s}', s) for s in test_seeds
    ]
    with timer.stage('1/5 generate footage (MOTChallenge layout, COCO-VID '
                     'annotations, MARS re-ID crops)'):
        footage = {}
        for role, seed in roles:
            s = footage_settings(args, role.split('_')[0])
            out = osp.join(data, role)
            footage[role] = data_stage(
                f'footage {role} (seed {seed})', out,
                dict(settings=s.__dict__, seed=seed),
                functools.partial(make_footage, out, seed, s, role, data),
                args.force)
        mars = osp.join(work, 'mars')
        reid_data = data_stage(
            'MARS crops of the re-ID training footage', mars,
            dict(seed=args.seed + REID_OFFSET, step=args.reid_frame_step,
                 footage=footage['reid']),
            functools.partial(
                write_reid_crops,
                osp.join(data, 'reid'),
                mars,
                frame_step=args.reid_frame_step), args.force)
        ddnet_mars, ddnet_data = mars, reid_data
        if ddnet_seeds:
            ddnet_mars = osp.join(work, 'ddnet_mars')
            ddnet_data = data_stage(
                'MARS crops of the held-out footage (the DDNet\'s)',
                ddnet_mars,
                dict(seeds=ddnet_seeds, step=args.reid_frame_step,
                     footage=[footage[f'ddnet_seed{s}']
                              for s in ddnet_seeds]),
                functools.partial(
                    write_reid_crops,
                    [osp.join(data, f'ddnet_seed{s}') for s in ddnet_seeds],
                    ddnet_mars,
                    frame_step=args.reid_frame_step), args.force)
        print({k: {kk: v.get(kk) for kk in ('identities', 'frames', 'boxes',
                                           'tracks', 'reentries')}
               for k, v in footage.items()})
    num_ids = int(reid_data['identities'])

    det_opts = {
        'train_dataloader.dataset.dataset.data_root': data + '/',
        # mmdet's own evaluation (not run: tracking is scored below) reads
        # the first validation set
        'val_dataloader.dataset.data_root': data + '/',
        'val_dataloader.dataset.ann_file':
        f'annotations/val_seed{val_seeds[0]}_cocoformat.json',
        'val_dataloader.dataset.data_prefix.img_path':
        f'val_seed{val_seeds[0]}/',
        'test_dataloader.dataset.data_root': data + '/',
        'test_dataloader.dataset.ann_file':
        f'annotations/val_seed{val_seeds[0]}_cocoformat.json',
        'test_dataloader.dataset.data_prefix.img_path':
        f'val_seed{val_seeds[0]}/',
        'train_cfg.val_begin': 10**6,  # tracking is scored below
        'randomness.seed': args.seed,
        **det_epoch_options(args.det_epochs)
    }
    det_args = ('detector', DET_CONFIG, osp.join(work, 'det'), det_opts,
                dict(data=footage['train']), args.force)
    det_proc = None
    if args.det_checkpoint:
        print(f'[demo] detector: --det-checkpoint {args.det_checkpoint} '
              '(not trained here)')
    else:
        det_proc = start_detector_training(det_args, args.threads)

    try:
        with timer.stage('2/5 train the re-ID base and the DDNet '
                         '(tools/train.py flow), the detector alongside'):
            base_dir = osp.join(work, 'base')
            base_ckpt = train_stage(
                'base model', BASE_CONFIG, base_dir, {
                    'train_dataloader.dataset.data_root': mars,
                    'model.head.num_classes': num_ids,
                    'randomness.seed': args.seed,
                    **epoch_options(args.base_epochs)
                }, dict(data=reid_data), args.force)
            base_cfg_file = osp.join(base_dir, osp.basename(BASE_CONFIG))
            ddnet_ckpt = train_stage(
                'DDNet', DDNET_CONFIG, osp.join(work, 'ddnet'), {
                    'train_dataloader.dataset.data_root': ddnet_mars,
                    **ddnet_hook_options(base_cfg_file, base_ckpt),
                    'custom_hooks.0.dscore.identities':
                    'held_out' if ddnet_seeds else 'base',
                    'randomness.seed': args.seed,
                    **epoch_options(args.ddnet_epochs)
                }, dict(data=ddnet_data, base=file_sha256(base_ckpt)),
                args.force)
            if det_proc is not None:
                print('[demo] waiting for the detector\'s training '
                      f'({det_proc.log})', flush=True)
            det_ckpt = (osp.abspath(args.det_checkpoint) if args.det_checkpoint
                        else finish_detector_training(det_proc, det_args))
    except BaseException:
        if det_proc is not None and det_proc.proc.is_alive():
            det_proc.proc.terminate()  # no orphan training
        raise
    det = dict(
        config=osp.join(repo_root(), DET_CONFIG),
        checkpoint=det_ckpt,
        options=None)
    reid = dict(
        track_config=osp.join(repo_root(), TRACK_CONFIG),
        base=base_ckpt,
        ddnet=ddnet_ckpt,
        options={'model.base.head.num_classes': num_ids})

    with timer.stage('3/5 validation cameras: tracking, and DDL\'s '
                     'operating point'):
        val = validation_stage(
            args, [osp.join(data, f'val_seed{s}') for s in val_seeds],
            osp.join(work, 'val'), det, reid)
    chosen = val['chosen']
    det['options'] = val['tracker_options']

    per_seed, runs = {}, {}
    with timer.stage('4/5 test footage: detect, track, DDL per track, '
                     'cross-camera matching (tools/track_ddl.py flow)'):
        for s in test_seeds:
            runs[s] = test_stage(
                osp.join(data, f'test_seed{s}'),
                osp.join(work, f'test_seed{s}'), det, reid, chosen)
            per_seed[s] = {
                m: {
                    k: runs[s]['reid'][m][k]
                    for k in ('mAP', 'rank1', 'base_images')
                }
                for m in METHODS
            }
            print(f'seed {s}: ' + '; '.join(
                f"{m} mAP {v['mAP']:.2f} CMC-1 {v['rank1']:.2f} crops "
                f"{v['base_images']:.2f}" for m, v in per_seed[s].items()))
    figures = draw_figures(osp.join(work, f'test_seed{test_seeds[0]}'),
                           runs[test_seeds[0]]['identities'],
                           osp.join(work, 'figures'))
    summary = summarize_seeds(per_seed)
    tracking = {
        k: [runs[s]['tracking'][k] for s in test_seeds]
        for k in TRACKING_KEYS
    }
    tracking_summary = dict(
        mean={k: float(np.mean(v))
              for k, v in tracking.items()},
        std={
            k: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0
            for k, v in tracking.items()
        },
        per_seed=tracking)
    times = {
        k: float(np.mean([runs[s]['times']['ms_per_frame'][k]
                          for s in test_seeds]))
        for k in TIME_PARTS
    }
    mean = summary['mean']
    target = dict(
        ddl_mAP_ge_average=bool(mean['ddl']['mAP'] >= mean['average']['mAP']),
        ddl_base_crops_share=round(
            mean['ddl']['base_images'] / mean['average']['base_images'], 4),
        ddl_at_most_half_crops=bool(
            mean['ddl']['base_images'] <= 0.5 *
            mean['average']['base_images']))
    table = format_tables(per_seed, summary, tracking_summary)
    print('\n' + table)
    print('time per frame (ms, mean over test sets): ' + ', '.join(
        f'{k} {v:.1f}' for k, v in times.items()))
    print(f'target: DDL mean mAP >= average pooling: '
          f"{'yes' if target['ddl_mAP_ge_average'] else 'NO'}; DDL base "
          f"crops / average pooling's: {target['ddl_base_crops_share']:.3f}"
          f" (<= 0.5: {'yes' if target['ddl_at_most_half_crops'] else 'NO'})")
    cfg = Config.fromfile(osp.join(repo_root(), DET_CONFIG))
    results = dict(
        task='tracks',
        settings=vars(args),
        footage=footage,
        reid_training=reid_data,
        ddnet_training=dict(ddnet_data, seeds=ddnet_seeds),
        models=dict(
            detector=dict(
                config=DET_CONFIG,
                checkpoint=det_ckpt,
                epochs=args.det_epochs or cfg.max_epochs),
            base=dict(config=BASE_CONFIG, checkpoint=base_ckpt),
            ddnet=dict(config=DDNET_CONFIG, checkpoint=ddnet_ckpt),
            track_config=TRACK_CONFIG),
        validation=dict(val, seeds=val_seeds),
        seeds=test_seeds,
        per_seed=per_seed,
        runs=runs,
        summary=summary,
        tracking=tracking_summary,
        time_ms_per_frame=times,
        target=target,
        figures=figures,
        table=table,
        timing_s=dict(timer.stages, total=timer.total))
    path = write_results(osp.join(work, 'results.json'), results)
    print(f'results: {path} ({timer.total:.0f} s in all)')
    return results
