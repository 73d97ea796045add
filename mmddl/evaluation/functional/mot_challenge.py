"""HOTA, CLEAR (MOTA) and Identity (IDF1) of MOTChallenge tracker files
against their ground truth, computed by TrackEval (as mmdet's
``MOTChallengeMetric`` runs it)."""
import os
import os.path as osp
import shutil
import tempfile
from typing import Dict, Sequence

import numpy as np

#: TrackEval metric families and the values reported of each
REPORTED = dict(
    HOTA=('HOTA', 'DetA', 'AssA'),
    CLEAR=('MOTA', 'MOTP', 'IDSW', 'CLR_TP', 'CLR_FP', 'CLR_FN', 'MT', 'ML',
           'Frag'),
    Identity=('IDF1', 'IDP', 'IDR', 'IDTP', 'IDFP', 'IDFN'))
#: values given as fractions by TrackEval, reported in percent
PERCENT = ('HOTA', 'DetA', 'AssA', 'MOTA', 'MOTP', 'IDF1', 'IDP', 'IDR')


def _check_sequence(seq: dict, i: int) -> None:
    for key in ('name', 'gt_file', 'pred_file', 'length'):
        if key not in seq:
            raise KeyError(f'sequence {i} has no {key!r} (needs name, '
                           'gt_file, pred_file, length)')
    for key in ('gt_file', 'pred_file'):
        if not osp.isfile(seq[key]):
            raise FileNotFoundError(f'{seq["name"]}: {key} not found: '
                                    f'{seq[key]}')
    if int(seq['length']) < 1:
        raise ValueError(f'{seq["name"]}: length must be >= 1')


def mot_challenge_metrics(sequences: Sequence[dict],
                          benchmark: str = 'MOT17',
                          metrics: Sequence[str] = tuple(REPORTED),
                          iou_threshold: float = 0.5) -> Dict[str, dict]:
    """Score tracker output the MOTChallenge way, with TrackEval.

    The files are copied into TrackEval's layout in a temporary folder
    (``<gt>/<seq>/gt/gt.txt``, ``<trackers>/pred/<seq>.txt``) and scored
    by ``trackeval.datasets.MotChallenge2DBox`` for the ``pedestrian``
    class with the benchmark's preprocessing (MOT17: predictions matched
    to distractor classes such as ``static_person`` (7) and to gt rows
    with conf 0 are removed before scoring, as on the MOTChallenge
    server).

    Args:
        sequences (Sequence[dict]): Per sequence ``name``, ``gt_file``
            (``frame,id,x,y,w,h,conf,class,visibility``), ``pred_file``
            (``frame,id,x,y,w,h,conf,-1,-1,-1``) and ``length`` (frames).
        benchmark (str): TrackEval benchmark (preprocessing rules).
        metrics (Sequence[str]): TrackEval metric families
            (``HOTA``, ``CLEAR``, ``Identity``).
        iou_threshold (float): IoU of a match (CLEAR and Identity).

    Returns:
        dict: ``{'combined': {metric: value}, '<seq>': {...}}`` with the
        values of :data:`REPORTED` (scores in percent, counts as integers).
    """
    import trackeval
    if not sequences:
        raise ValueError('no sequence to score')
    unknown = set(metrics) - set(REPORTED)
    if unknown:
        raise ValueError(f'unknown metrics {sorted(unknown)}; choose from '
                         f'{list(REPORTED)}')
    names = [str(s.get('name')) for s in sequences]
    if len(set(names)) != len(names):
        raise ValueError(f'sequence names repeat: {names}')
    for i, seq in enumerate(sequences):
        _check_sequence(seq, i)
    tmp = tempfile.mkdtemp(prefix='mmddl_trackeval_')
    try:
        gt_root, pred_root = osp.join(tmp, 'gt'), osp.join(tmp, 'trackers')
        os.makedirs(osp.join(pred_root, 'pred'))
        for seq in sequences:
            os.makedirs(osp.join(gt_root, seq['name'], 'gt'))
            shutil.copyfile(seq['gt_file'],
                            osp.join(gt_root, seq['name'], 'gt', 'gt.txt'))
            shutil.copyfile(seq['pred_file'],
                            osp.join(pred_root, 'pred', f'{seq["name"]}.txt'))
        seqmap = osp.join(tmp, 'seqmap.txt')
        with open(seqmap, 'w') as f:
            f.write('name\n' + ''.join(f'{n}\n' for n in names))
        eval_cfg = trackeval.Evaluator.get_default_eval_config()
        eval_cfg.update(
            USE_PARALLEL=False,
            PRINT_RESULTS=False,
            PRINT_CONFIG=False,
            TIME_PROGRESS=False,
            DISPLAY_LESS_PROGRESS=True,
            OUTPUT_SUMMARY=False,
            OUTPUT_EMPTY_CLASSES=False,
            OUTPUT_DETAILED=False,
            PLOT_CURVES=False,
            LOG_ON_ERROR=None,
            BREAK_ON_ERROR=True,
            RETURN_ON_ERROR=False)
        data_cfg = dict(
            GT_FOLDER=gt_root,
            TRACKERS_FOLDER=pred_root,
            OUTPUT_FOLDER=osp.join(tmp, 'out'),
            TRACKERS_TO_EVAL=['pred'],
            CLASSES_TO_EVAL=['pedestrian'],
            BENCHMARK=benchmark,
            SPLIT_TO_EVAL='train',
            INPUT_AS_ZIP=False,
            PRINT_CONFIG=False,
            DO_PREPROC=benchmark != 'MOT15',
            TRACKER_SUB_FOLDER='',
            OUTPUT_SUB_FOLDER='',
            SEQMAP_FILE=seqmap,
            SEQ_INFO={
                s['name']: int(s['length'])
                for s in sequences
            },
            GT_LOC_FORMAT='{gt_folder}/{seq}/gt/gt.txt',
            SKIP_SPLIT_FOL=True)
        evaluator = trackeval.Evaluator(eval_cfg)
        dataset = trackeval.datasets.MotChallenge2DBox(data_cfg)
        families = [
            getattr(trackeval.metrics, m)(
                dict(METRICS=[m], THRESHOLD=iou_threshold,
                     PRINT_CONFIG=False)) for m in metrics
        ]
        res, msg = evaluator.evaluate([dataset], families)
        if msg['MotChallenge2DBox']['pred'] != 'Success':
            raise RuntimeError('TrackEval failed: '
                               f'{msg["MotChallenge2DBox"]["pred"]}')
        res = res['MotChallenge2DBox']['pred']
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out = {}
    for key in ['COMBINED_SEQ'] + names:
        vals = {}
        for fam in metrics:
            for m in REPORTED[fam]:
                v = float(np.mean(res[key]['pedestrian'][fam][m]))
                vals[m] = round(100 * v, 3) if m in PERCENT else int(round(v))
        out['combined' if key == 'COMBINED_SEQ' else key] = vals
    return out
