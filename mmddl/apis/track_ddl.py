"""Footage in, DDL track embeddings out: detect and track (or read tracks),
encode every track with DDL, write per-track JSON lines, embeddings, contact
sheets and cross-video matches (what ``tools/track_ddl.py`` runs)."""
import json
import logging
import os
import os.path as osp
import re
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.logging import print_log

from mmddl.utils.atomic_write import atomic_write

#: files written into the output folder
TRACKS_FILE = 'tracks.jsonl'
MATCHES_FILE = 'matches.json'
SUMMARY_FILE = 'summary.json'
EMBEDDINGS_FILE = 'embeddings.npz'


def _safe(name: str) -> str:
    """A file-name-safe version of a sequence or track name."""
    return re.sub(r'[^A-Za-z0-9._-]+', '_', str(name)).strip('_') or 'x'


def open_inputs(inputs: Sequence[str],
                tracks: Optional[Sequence[str]] = None,
                detect: bool = False) -> List[dict]:
    """Check every input before any work: each source opens (a video
    that cannot be decoded stops here, naming it), each has its tracks
    (a ``--tracks`` file, the detector, or a MOTChallenge sequence's
    ``gt/gt.txt``), and gets a unique name.

    Args:
        inputs (Sequence[str]): Videos, frame folders or MOTChallenge
            sequence folders (one per camera).
        tracks (Sequence[str], optional): One MOTChallenge file per input.
        detect (bool): Tracks come from a detector + tracker.

    Returns:
        list[dict]: Per input ``source`` (a :class:`FrameSource`), ``name``
        and ``ann_file`` (None until the tracker writes it).
    """
    from mmddl.datasets.tracks import FrameSource
    if not inputs:
        raise ValueError('no input: give one or more videos, frame folders '
                         'or MOTChallenge sequence folders')
    if tracks is not None and detect:
        raise ValueError('give tracks files or a detector config, not both')
    if tracks is not None and len(tracks) != len(inputs):
        raise ValueError(f'{len(tracks)} tracks files for {len(inputs)} '
                         'inputs: give one per input, in the same order')
    out, names = [], {}
    for i, path in enumerate(inputs):
        src = FrameSource.open(path)
        ann = None
        if tracks is not None:
            ann = tracks[i]
            if not osp.isfile(ann):
                raise FileNotFoundError(f'tracks file not found: {ann} '
                                        f'(for {path})')
        elif not detect:
            gt = osp.join(src.path, 'gt', 'gt.txt')
            if src.seqinfo is None or not osp.isfile(gt):
                raise ValueError(
                    f'{path}: no tracks for it: give --tracks (a '
                    'MOTChallenge file), a detector + tracker config '
                    '(--det-config / --det-checkpoint), or a MOTChallenge '
                    'sequence folder with gt/gt.txt')
            ann = gt
        name = _safe(src.name)
        names[name] = names.get(name, 0) + 1
        if names[name] > 1:
            print_log(
                f'{path}: another input is also named {name!r}; its tracks '
                f'are named {name}-{names[name]}/<id>',
                logger='current',
                level=logging.WARNING)
            name = f'{name}-{names[name]}'
        out.append(dict(source=src, name=name, ann_file=ann))
    return out


def _save_npy(path: str, arr: np.ndarray) -> str:
    return atomic_write(path, lambda f: np.save(f, arr), 'embedding')


def _track_line(rec: dict, enc, g: int, files: Dict[str, str]) -> dict:
    """One JSON line of ``tracks.jsonl``."""
    ds = np.asarray(rec['dscores'])
    kept = rec['kept']['ddl']
    return dict(
        track=rec['name'],
        video=rec['sequence'],
        camid=rec['camid'],
        track_id=rec['track_id'],
        source=rec['source'],
        num_crops=len(rec['frames']),
        frames=rec['frames'],
        boxes=rec['boxes'],
        box_scores=rec['box_scores'],
        dscores=rec['dscores'],
        kept=[
            dict(
                index=int(i), frame=int(rec['frames'][i]), dscore=float(ds[i]))
            for i in kept
        ],
        base_crops={m: int(enc.base_crops[m][g])
                    for m in enc.base_crops},
        **files)


def run_track_ddl(inputs: Sequence[str],
                  ddl_config: str,
                  base_checkpoint: str,
                  out_dir: str,
                  ddnet_checkpoint: Optional[str] = None,
                  det_config: Optional[str] = None,
                  det_checkpoint: Optional[str] = None,
                  tracks: Optional[Sequence[str]] = None,
                  target: Optional[str] = None,
                  device: str = 'cpu',
                  min_length: int = 1,
                  topk_matches: int = 5,
                  sheets: bool = True,
                  ddl_options: Optional[dict] = None,
                  det_options: Optional[dict] = None,
                  progress: bool = True) -> dict:
    """Tracks of one or more videos (cameras) as DDL embeddings.

    Every input, config and checkpoint is checked before the first frame
    is decoded (:func:`open_inputs`, :func:`init_tracker`,
    :func:`build_track_encoder`). Then: the detector + tracker writes
    ``tracks/<video>.txt`` per input (or the given tracks are read), DDL
    encodes every track (one dense pass; average pooling and top-1 from the
    same pass), and the outputs are written, each file atomically, the
    summary last:

    * ``tracks.jsonl``: one line per track (``track``, ``video``,
      ``track_id``, ``frames``, ``boxes``, ``dscores``, ``kept`` crops
      with their frame and D-score, ``base_crops`` per method,
      ``embedding`` and ``sheet`` files);
    * ``embeddings/<video>/<id>.npy``: the DDL embedding of a track;
      ``embeddings.npz``: ``names``, ``videos`` and one ``(T, d)`` array
      per method (``ddl``, ``average``, ``top1``);
    * ``sheets/<video>/<id>.png``: contact sheets;
    * ``matches.json`` (two or more videos with tracks): per method, each
      track's nearest tracks of the other videos with distances;
    * ``summary.json``: inputs, counts, crops the base saw per method and
      the wall time split into decode, detect, track, DDNet, base,
      fusion and matching, writing.

    Args:
        inputs (Sequence[str]): Videos, frame folders or MOTChallenge
            sequence folders.
        ddl_config (str): A DDL track config (``configs/tracks/ddl_*``).
        base_checkpoint (str): Its base's checkpoint.
        out_dir (str): The output folder.
        ddnet_checkpoint (str, optional): The DDNet's checkpoint.
        det_config (str, optional): An mmdet detector + tracker config.
        det_checkpoint (str, optional): Its checkpoint.
        tracks (Sequence[str], optional): MOTChallenge files, one per
            input, instead of a detector.
        target (str, optional): ``'person'`` or ``'face'`` (default: the
            DDL config's, see :func:`config_target`).
        device (str): ``'cpu'`` or ``'cuda'`` ...
        min_length (int): Fewest boxes of a kept track.
        topk_matches (int): Matches listed per track.
        sheets (bool): Draw contact sheets.
        ddl_options (dict, optional): DDL config overrides.
        det_options (dict, optional): Detector config overrides.
        progress (bool): Log progress with ETA.

    Returns:
        dict: The content of ``summary.json``.
    """
    from mmddl.utils.progress import LogProgress
    from .contact_sheet import draw_contact_sheet
    from .mot_tracker import init_tracker, track_footage
    from .track_encoder import (METHODS, build_track_encoder, config_target,
                                encode_tracks, method_summary)
    from .track_matching import cross_video_matches
    t_start = time.perf_counter()
    detect = det_config is not None
    if detect != (det_checkpoint is not None):
        raise ValueError('give both --det-config and --det-checkpoint')
    seqs = open_inputs(inputs, tracks, detect)
    tracker = None
    if detect:
        encoder_target = target
        if encoder_target is None:  # the DDL config decides; read it now
            from mmengine.config import Config
            if not osp.isfile(ddl_config):
                raise FileNotFoundError(f'DDL config not found: {ddl_config}')
            encoder_target = config_target(Config.fromfile(ddl_config))
        tracker = init_tracker(det_config, det_checkpoint, encoder_target,
                               device, det_options)
    encoder = build_track_encoder(ddl_config, base_checkpoint,
                                  ddnet_checkpoint, device, ddl_options)
    if (target or encoder.target) != encoder.target:
        raise ValueError(f'--target {target}: the DDL config {ddl_config} '
                         f'encodes {encoder.target}s (its track_target)')
    target = encoder.target
    t_checked = time.perf_counter()
    os.makedirs(out_dir, exist_ok=True)
    times = dict(decode=0.0, detect=0.0, track=0.0)
    tracking = []
    if tracker is not None:
        total = sum(s['source'].num_frames for s in seqs)
        log = LogProgress(
            total, 'detect + track', 'frames',
            fraction=0.05) if progress else False
        for s in seqs:
            out_file = osp.join(out_dir, 'tracks', f'{s["name"]}.txt')
            res = track_footage(tracker, s['source'], out_file, log)
            s['ann_file'] = out_file
            for k in times:
                times[k] += res.times[k]
            tracking.append(res.__dict__)
            print_log(
                f'{s["name"]}: {res.num_tracks} tracks, {res.num_boxes} '
                f'boxes over {res.num_frames} frames ({res.empty_frames} '
                f'without a box; {res.other_detections} detections of '
                f'other classes dropped) -> {out_file}',
                logger='current')
    sequences = [
        dict(
            source=s['source'].path,
            ann_file=s['ann_file'],
            name=s['name'],
            camid=i,
            kind='results' if tracker is not None else 'auto')
        for i, s in enumerate(seqs)
    ]
    enc = encode_tracks(
        encoder,
        dict(
            data_root='',
            sequences=sequences,
            min_length=int(min_length),
            ids_are_identities=False,
            query_camids=[]),
        progress=progress,
        keep_thumbnails=sheets)
    times['decode'] += enc.times['decode']
    times.update(
        ddnet=enc.times['ddnet'],
        base_dense=enc.times['base'],
        fusion=enc.times['replay'])
    t0 = time.perf_counter()
    names = [r['name'] for r in enc.tracks]
    videos = [r['sequence'] for r in enc.tracks]
    matches = None
    if len(set(videos)) > 1:
        matches = {
            m: cross_video_matches(names, videos, enc.embeddings[m],
                                   topk_matches)
            for m in METHODS
        }
    times['matching'] = time.perf_counter() - t0
    t0 = time.perf_counter()
    lines = []
    log = LogProgress(
        len(enc.tracks), 'write tracks', 'tracks',
        fraction=0.1) if progress else None
    for g, rec in enumerate(enc.tracks):
        seq, tid = _safe(rec['sequence']), int(rec['track_id'])
        files = dict(embedding=osp.join('embeddings', seq, f'{tid}.npy'))
        _save_npy(
            osp.join(out_dir, files['embedding']), enc.embeddings['ddl'][g])
        if sheets:
            files['sheet'] = osp.join('sheets', seq, f'{tid}.png')
            kept = rec['kept']['ddl']
            draw_contact_sheet(
                enc.thumbnails[g],
                rec['dscores'],
                kept,
                rec['frames'],
                osp.join(out_dir, files['sheet']),
                title=(f'{rec["name"]}: {len(rec["frames"])} crops, '
                       f'{len(kept)} kept by DDL'))
        lines.append(_track_line(rec, enc, g, files))
        if log is not None:
            log.update(1)
    atomic_write(
        osp.join(out_dir, TRACKS_FILE),
        lambda f: f.writelines(json.dumps(ln) + '\n' for ln in lines),
        'track records',
        text=True)
    atomic_write(
        osp.join(out_dir, EMBEDDINGS_FILE), lambda f: np.savez(
            f,
            names=np.asarray(names),
            videos=np.asarray(videos),
            **{m: enc.embeddings[m]
               for m in METHODS}), 'embeddings')
    if matches is not None:
        atomic_write(
            osp.join(out_dir, MATCHES_FILE),
            lambda f: json.dump(
                dict(
                    distance='euclidean between L2-normalised embeddings',
                    topk=int(topk_matches),
                    methods=matches),
                f,
                indent=1),
            'cross-video matches',
            text=True)
    times['write'] = time.perf_counter() - t0
    wall = time.perf_counter() - t_start
    summary = dict(
        inputs=[
            dict(
                name=s['name'],
                source=s['source'].path,
                kind=s['source'].kind,
                frames=s['source'].num_frames,
                tracks_file=s['ann_file']) for s in seqs
        ],
        target=target,
        ddl_config=ddl_config,
        base_checkpoint=base_checkpoint,
        ddnet_checkpoint=encoder.cfg.model.get('ddnet_checkpoint'),
        det_config=det_config,
        det_checkpoint=det_checkpoint,
        device=device,
        num_tracks=len(enc.tracks),
        num_crops=int(enc.dump.group_ptr[-1]),
        track_counts=enc.counts,
        tracking=tracking,
        methods=method_summary(enc),
        files=dict(
            tracks=TRACKS_FILE,
            embeddings=EMBEDDINGS_FILE,
            matches=MATCHES_FILE if matches is not None else None),
        times_s={
            k: round(v, 3)
            for k, v in times.items()
        },
        check_s=round(t_checked - t_start, 3),
        wall_s=round(wall, 3),
        frames_per_s=round(
            sum(s['source'].num_frames for s in seqs) / wall, 3))
    atomic_write(
        osp.join(out_dir, SUMMARY_FILE),
        lambda f: json.dump(summary, f, indent=1),
        'run summary',
        text=True)
    print_log(
        f'{len(enc.tracks)} tracks of {len(seqs)} input(s) -> {out_dir} '
        f'({wall:.1f} s; base crops per track: ' +
        ', '.join(f'{m} {v["base_crops_mean"]:.1f}'
                  for m, v in summary['methods'].items()) + ')',
        logger='current')
    return summary
