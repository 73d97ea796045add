"""The video demo (``make demo``): DDL against the baselines on generated
untrimmed videos, from one sweep; steps and configs in docs/demos.md."""
import argparse
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .common import (Timer, add_repro_args, data_stage, ddnet_hook_options,
                     file_sha256, hold_work_dir, merged_test_config, run_test,
                     train_stage, write_results)

FAMILIES = ('slowfast', 'r2plus1d', 'i3d')
BASE_CONFIG = ('configs/recognition/demo/'
               '{}_r18-tiny_1xb8-16x1x1-15e_synthetic-rgb.py')
DDNET_CONFIG = ('configs/recognition/demo/'
                'ddnet_r18cd3d-tiny_slowfast-tiny-dscore-20e_synthetic-rgb.py')
DDL_CONFIG = ('configs/recognition/demo/'
              'ddl_slowfast-tiny_top5-of-30_synthetic-rgb.py')
#: Seed offset of the validation videos (same generator settings, another
#: seed, another folder): the budget point is chosen on them.
VAL_SEED_OFFSET = 1000
#: Metrics of a tools/test.py run that the sweep must reproduce exactly.
CHECKED = ('top1', 'top5', 'mean_top1_top5', 'base_clips', 'ddnet_clips',
           'gflops_base', 'gflops_ddnet', 'gflops_total')
#: compared methods at K: name -> aggregator settings
METHODS = {
    'random': dict(mode='random'),
    'uniform': dict(mode='uniform'),
    'dense': dict(mode='dense'),
    'ddl_norescale': dict(mode='ddl_norescale'),
    'ddl': dict(mode='ddl'),
    'ddl_prob': dict(mode='ddl', fusion_level='prob')
}
NAMES = {
    'random': 'Random-K',
    'uniform': 'Uniform-K',
    'dense': 'Dense-N',
    'ddl_norescale': 'DDL w/o re-scaling',
    'ddl': 'DDL',
    'ddl_prob': 'DDL (prob fusion)'
}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options (demo-sized defaults).

    Args:
        argv (Sequence[str], optional): Arguments; default ``sys.argv``.
    """
    p = argparse.ArgumentParser(description='DDL video demo')
    p.add_argument(
        '--family',
        choices=FAMILIES,
        default='slowfast',
        help='base recognizer family')
    p.add_argument('--work-dir', default='work_dirs/demo')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--topk', type=int, default=5)
    p.add_argument('--num-candidates', type=int, default=30)
    p.add_argument(
        '--sweep',
        type=int,
        nargs='*',
        default=[1, 2, 3, 10, 15],
        help='extra K values of the sweep (accuracy-vs-GFLOPs plot)')
    p.add_argument(
        '--thresholds',
        type=float,
        nargs='+',
        help='t grid of the sweep (default: the test D-score deciles)')
    p.add_argument(
        '--budget-ratio',
        type=float,
        default=0.2,
        help='choose K or t on the validation videos for this fraction of '
        'dense GFLOPs (0: no budget point)')
    p.add_argument('--classes', type=int, default=6)
    p.add_argument('--train-per-class', type=int, default=20)
    p.add_argument('--test-per-class', type=int, default=10)
    p.add_argument('--base-epochs', type=int, default=15)
    p.add_argument('--ddnet-epochs', type=int, default=20)
    p.add_argument(
        '--methods',
        nargs='+',
        default=list(METHODS),
        choices=list(METHODS),
        help='methods to report (the sweep evaluates all of them; ddl and '
        'dense are also run with tools/test.py; the targets need ddl, '
        'uniform and dense)')
    p.add_argument(
        '--timing-videos',
        type=int,
        default=30,
        help='test videos of the interleaved DDL / dense model timing (the '
        'model-time target; 0: use the tools/test.py runs instead)')
    p.add_argument(
        '--timing-rounds',
        type=int,
        default=2,
        help='passes over those videos in the interleaved timing')
    add_repro_args(p)
    return p.parse_args(argv)


def make_data(data_dir: str,
              args: argparse.Namespace,
              seed: Optional[int] = None,
              name: str = 'data',
              trimmed: bool = True) -> dict:
    """Generate the benchmark (reused when its parameters match).

    Args:
        data_dir (str): Folder of the benchmark.
        args (argparse.Namespace): Demo options.
        seed (int, optional): Generator seed; defaults to ``args.seed``.
        name (str): Stage name of the log lines.
        trimmed (bool): Also write the trimmed class segments.

    Returns:
        dict: ``meta.json`` of the benchmark (videos and their segments).
    """
    from dataclasses import asdict

    from mmddl.testing.synthetic_video import (FORMAT_VERSION, BenchmarkConfig,
                                               make_video_benchmark)
    seed = args.seed if seed is None else seed
    cfg = BenchmarkConfig(
        num_classes=args.classes,
        train_per_class=args.train_per_class,
        test_per_class=args.test_per_class)
    params = dict(asdict(cfg), seed=seed, format=FORMAT_VERSION)
    if not trimmed:
        params['trimmed'] = False

    def make() -> dict:
        summary = make_video_benchmark(
            data_dir, seed=seed, cfg=cfg, overwrite=True, trimmed=trimmed)
        print('\n' + json.dumps(summary, indent=1))
        return summary

    data_stage(name, data_dir, params, make, args.force)
    with open(osp.join(data_dir, 'meta.json')) as f:
        return json.load(f)


def data_options(data_dir: str, prefix: str, list_file: str) -> Dict:
    """``--cfg-options`` pointing a data loader at the benchmark.

    Args:
        data_dir (str): Folder of the benchmark.
        prefix (str): e.g. ``'train_dataloader'``.
        list_file (str): The list file in ``data_dir``.
    """
    return {
        f'{prefix}.dataset.ann_file': osp.join(data_dir, list_file),
        f'{prefix}.dataset.data_prefix.video': data_dir
    }


def candidate_offsets(num_frames: int, clip_len: int,
                      num_clips: int) -> np.ndarray:
    """First frames of mmaction's ``SampleFrames(test_mode=True)`` clips.

    Args:
        num_frames (int): Frames of the video.
        clip_len (int): Frames per clip.
        num_clips (int): Clips.
    """
    avg = (num_frames - clip_len + 1) / float(num_clips)
    if num_frames > clip_len - 1:
        return (np.arange(num_clips) * avg + avg / 2.0).astype(int)
    return np.zeros(num_clips, dtype=int)


def selected_class_fraction(rows: List[dict], meta: dict, clip_len: int,
                            num_clips: int) -> Optional[float]:
    """Mean fraction of class-segment frames in the clips the base ran on.

    Args:
        rows (list): Per-video rows of the DDL metric's ``out_file``.
        meta (dict): ``meta.json`` of the benchmark.
        clip_len (int): Frames per candidate clip.
        num_clips (int): Candidate clips per video.
    """
    from mmddl.testing.synthetic_video import clip_class_fraction
    by_name = {v['filename']: v for v in meta['videos']}
    fracs = []
    for row in rows:
        sel = row.get('ddl_selected')
        name = row.get('video')
        if sel is None or name is None:
            continue
        video = next((v for k, v in by_name.items() if str(name).endswith(k)),
                     None)
        if video is None:
            continue
        offs = candidate_offsets(video['num_frames'], clip_len, num_clips)
        for c in np.atleast_1d(sel):
            inds = np.arange(offs[int(c)], offs[int(c)] + clip_len)
            fracs.append(
                clip_class_fraction(video,
                                    np.minimum(inds, video['num_frames'] - 1)))
    return float(np.mean(fracs)) if fracs else None


def test_options(args: argparse.Namespace, data_dir: str,
                 base_cfg: str) -> Dict:
    """``--cfg-options`` of the DDL config on a benchmark's test list.

    Args:
        args (argparse.Namespace): Demo options.
        data_dir (str): Folder of the benchmark.
        base_cfg (str): The base recognizer's config.
    """
    opts = data_options(data_dir, 'test_dataloader', 'val_list.txt')
    opts.update({
        'model.base':
        base_cfg,
        'model.aggregator.topk':
        args.topk,
        'model.aggregator.seed':
        args.seed,
        'test_dataloader.dataset.pipeline.1.num_clips':
        args.num_candidates,
    })
    return opts


def method_test_options(args: argparse.Namespace, data_dir: str, base_cfg: str,
                        method: str, topk: int, rows_file: str) -> Dict:
    """``--cfg-options`` of one method's ``tools/test.py`` run (dense
    decodes every clip in one stage).

    Args:
        args (argparse.Namespace): Demo options.
        data_dir (str): Folder of the benchmark.
        base_cfg (str): The base recognizer's config.
        method (str): A key of :data:`METHODS`.
        topk (int): K.
        rows_file (str): The DDL metric's per-video ``out_file``.
    """
    opts = test_options(args, data_dir, base_cfg)
    opts.update({
        f'model.aggregator.{k}': v
        for k, v in METHODS[method].items()
    })
    opts.update({
        'model.aggregator.topk': topk,
        'test_evaluator.out_file': rows_file,
    })
    if METHODS[method]['mode'] == 'dense':
        opts['test_dataloader.dataset.pipeline.2.one_stage'] = True
    return opts


def evaluate(args, data_dir, base_cfg, base_ckpt, ddnet_ckpt, method, topk,
             meta) -> dict:
    """One ``tools/test.py`` run of the DDL config with one method's
    aggregator (dense decodes every clip in one stage).

    Args:
        args (argparse.Namespace): Demo options.
        data_dir (str): Folder of the benchmark.
        base_cfg (str): The base recognizer's config.
        base_ckpt (str): Its checkpoint.
        ddnet_ckpt (str): The DDNet checkpoint.
        method (str): A key of :data:`METHODS`.
        topk (int): K.
        meta (dict): ``meta.json`` of the benchmark.
    """
    name = f'{method}_k{topk}'
    out_dir = osp.join(args.work_dir, 'test', name)
    os.makedirs(out_dir, exist_ok=True)
    rows_file = osp.join(out_dir, 'videos.json')
    metrics = run_test(
        DDL_CONFIG,
        base_ckpt,
        out_dir,
        ddnet_checkpoint=ddnet_ckpt,
        options=method_test_options(args, data_dir, base_cfg, method, topk,
                                    rows_file))
    res = {k.split('/', 1)[-1]: float(v) for k, v in metrics.items()}
    with open(rows_file) as f:
        rows = json.load(f)['videos']
    frac = selected_class_fraction(rows, meta, 16, args.num_candidates)
    if frac is not None:
        res['selected_class_fraction'] = frac
    res['topk'] = (
        topk if METHODS[method]['mode'] != 'dense' else args.num_candidates)
    return res


def interleaved_model_time(args: argparse.Namespace, data_dir: str,
                           base_cfg: str, base_ckpt: str,
                           ddnet_ckpt: str) -> dict:
    """DDL and dense model time measured fairly: in one process, on the same
    preloaded test videos, alternating the two methods video by video.

    Each method's wrapper and test dataset are built from the config of its
    tools/test.py run (:func:`evaluate`). The first ``--timing-videos``
    videos go through that dataset's pipeline once (two-stage for DDL, one
    stage for dense); then, for ``--timing-rounds`` passes, every video is
    run by both methods (``test_step``: data preprocessor and predict),
    DDL first on even videos, dense first on odd ones (swapped each round),
    after one untimed warm-up call each. The times are the ``time_model_s``
    each wrapper writes (decoding is not in them). Only timing: the predicted
    labels (and DDL's selected clips) must equal the tools/test.py rows.

    Args:
        args (argparse.Namespace): Demo options.
        data_dir (str): Folder of the benchmark.
        base_cfg (str): The base recognizer's config.
        base_ckpt (str): Its checkpoint.
        ddnet_ckpt (str): The DDNet checkpoint.

    Returns:
        dict: ``videos``, ``rounds``, per-call ``times`` per method, per
        method ``median_s`` / ``mean_s`` and ``ratio`` (of the medians).

    Raises:
        RuntimeError: When a prediction differs from the tools/test.py run.
    """
    import torch
    from mmaction.registry import DATASETS, MODELS
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DefaultScope

    from mmddl.evaluation.ddl_metric import ID_KEYS
    if args.timing_videos < 1 or args.timing_rounds < 1:
        raise ValueError('interleaved timing needs --timing-videos and '
                         f'--timing-rounds >= 1, got {args.timing_videos} '
                         f'and {args.timing_rounds}')
    models, items, rows = {}, {}, {}
    for method in ('ddl', 'dense'):
        out_dir = osp.join(args.work_dir, 'test', f'{method}_k{args.topk}')
        rows_file = osp.join(out_dir, 'videos.json')
        cfg = merged_test_config(
            DDL_CONFIG, base_ckpt, out_dir, ddnet_ckpt,
            method_test_options(args, data_dir, base_cfg, method, args.topk,
                                rows_file))
        with DefaultScope.overwrite_default_scope(cfg.default_scope):
            models[method] = MODELS.build(cfg.model).eval()
            dataset = DATASETS.build(cfg.test_dataloader.dataset)
        num = min(args.timing_videos, len(dataset))
        items[method] = [dataset[i] for i in range(num)]
        with open(rows_file) as f:
            rows[method] = {r['video']: r for r in json.load(f)['videos']}

    def video_name(sample) -> str:
        name = next((sample.metainfo[k]
                     for k in ID_KEYS if k in sample.metainfo), None)
        if name is None:
            raise KeyError('interleaved timing: a test sample has none of '
                           f'the id fields {ID_KEYS} in its meta')
        return name

    def run(method: str, index: int):
        with torch.no_grad():
            return models[method].test_step(
                pseudo_collate([items[method][index]]))[0]

    num = len(items['ddl'])
    names = [video_name(it['data_samples']) for it in items['ddl']]
    if [video_name(it['data_samples']) for it in items['dense']] != names:
        raise RuntimeError('interleaved timing: the DDL and dense test '
                           'datasets list different videos')
    for method in models:  # warm-up, untimed
        run(method, 0)
    times: Dict[str, List[float]] = {'ddl': [], 'dense': []}
    bad = []
    for rnd in range(args.timing_rounds):
        for i in range(num):
            order = ['ddl', 'dense'
                     ] if (i + rnd) % 2 == 0 else ['dense', 'ddl']
            for method in order:
                sample = run(method, i)
                times[method].append(float(sample.time_model_s))
                ref = rows[method].get(names[i])
                if ref is None:
                    bad.append(f'{method} {names[i]}: not in the '
                               'tools/test.py rows')
                    continue
                label = int(sample.pred_score.argmax())
                if label != ref['pred_label']:
                    bad.append(f'{method} {names[i]}: label {label}, '
                               f"tools/test.py {ref['pred_label']}")
                if method == 'ddl' and (sample.ddl_selected.tolist()
                                        != ref['ddl_selected']):
                    bad.append(f'ddl {names[i]}: selected '
                               f'{sample.ddl_selected.tolist()}, '
                               f"tools/test.py {ref['ddl_selected']}")
    if bad:
        raise RuntimeError('interleaved timing: predictions differ from the '
                           'tools/test.py runs: ' + '; '.join(bad))
    out = dict(videos=num, rounds=args.timing_rounds, names=names, times=times)
    for method, values in times.items():
        out[method] = dict(
            median_s=float(np.median(values)), mean_s=float(np.mean(values)))
    out['ratio'] = out['ddl']['median_s'] / out['dense']['median_s']
    out['ratio_of_means'] = out['ddl']['mean_s'] / out['dense']['mean_s']
    print(f'\nInterleaved model time ({num} videos x {args.timing_rounds} '
          'rounds, one process, DDL / dense alternating; predictions equal '
          f"the tools/test.py runs): DDL median {out['ddl']['median_s']:.4f} "
          f"mean {out['ddl']['mean_s']:.4f} s/video, dense median "
          f"{out['dense']['median_s']:.4f} mean {out['dense']['mean_s']:.4f}"
          f" s/video; ratio {out['ratio']:.4f} (medians), "
          f"{out['ratio_of_means']:.4f} (means)")
    return out


def sweep_point(method: str, topk: int) -> Tuple[str, str]:
    """The sweep's (method, point) of a demo method at K.

    Args:
        method (str): A key of :data:`METHODS`.
        topk (int): K.
    """
    from mmddl.analysis.sweep import point_key
    if method == 'dense':
        return 'dense', 'all'
    return method, point_key(topk, None)


def from_sweep(run, method: str, args: argparse.Namespace, meta: dict) -> dict:
    """A demo method's metrics at K from the sweep (no model time: nothing
    is run), with the class fraction of the clips it selects.

    Args:
        run (mmddl.analysis.SweepRun): The test sweep.
        method (str): A key of :data:`METHODS`.
        args (argparse.Namespace): Demo options.
        meta (dict): ``meta.json`` of the benchmark.
    """
    name, point = sweep_point(method, args.topk)
    res = dict(run.result['methods'][name][point])
    agg = res.pop('aggregator')
    rows = [
        dict(
            video=s.metainfo.get('filename'),
            ddl_selected=s.ddl_selected.tolist()) for s in run.samples(agg)
    ]
    frac = selected_class_fraction(rows, meta, 16, args.num_candidates)
    if frac is not None:
        res['selected_class_fraction'] = frac
    res['topk'] = (
        args.topk
        if METHODS[method]['mode'] != 'dense' else args.num_candidates)
    res['source'] = 'sweep'
    return res


def check_sweep(tool_runs: Dict[str, dict], sweep: dict,
                topk: int) -> Dict[str, dict]:
    """The sweep's numbers must equal the tools/test.py runs' exactly.

    Args:
        tool_runs (dict): ``{method: metrics}`` of tools/test.py runs.
        sweep (dict): ``sweep.json`` content.
        topk (int): K of the runs.

    Returns:
        dict: Per method the compared values.

    Raises:
        RuntimeError: Naming every value that differs.
    """
    report, bad = {}, []
    for method, ref in tool_runs.items():
        name, point = sweep_point(method, topk)
        mine = sweep['methods'][name][point]
        report[method] = {}
        for key in CHECKED:
            if key not in ref:
                continue
            report[method][key] = dict(tool=ref[key], sweep=mine[key])
            if mine[key] != ref[key]:
                bad.append(f'{method} {key}: tools/test.py {ref[key]!r}, '
                           f'sweep {mine[key]!r}')
    if bad:
        raise RuntimeError('the sweep does not reproduce tools/test.py: ' +
                           '; '.join(bad))
    print('\nSweep check: ' + ', '.join(tool_runs) + ' equal the '
          'tools/test.py runs exactly (' + ', '.join(CHECKED) + ')')
    return report


def print_table(results: Dict[str, dict], topk: int, n: int) -> None:
    """Print the Tables 8-9 style table.

    Args:
        results (dict): ``{method: metrics}``.
        topk (int): K.
        n (int): N candidates.
    """
    cols = [('top1', 'top-1'), ('top5', 'top-5'), ('mean_top1_top5', 'mean'),
            ('base_clips', 'base clips'), ('gflops_ddnet', 'GFLOPs DDNet'),
            ('gflops_base', 'GFLOPs base'), ('gflops_total', 'GFLOPs all'),
            ('model_time_s', 'test.py s/vid'),
            ('model_time_interleaved_s', 'interl. s/vid'),
            ('selected_class_fraction', 'in class seg.')]
    head = f"{'method':<22}" + ''.join(f'{h:>15}' for _, h in cols)
    print(f'\nAction recognition on the generated benchmark: K={topk} of '
          f'N={n} candidate clips per video (cf. the paper\'s Tables 8-9);'
          '\n"in class seg." = % of the frames of the clips the base ran '
          'on that show the video\'s class;\n"test.py s/vid" = mean model '
          'time of the tools/test.py run (DDL and dense run one after the '
          'other), "interl. s/vid" = median of the interleaved timing')
    print(head)
    print('-' * len(head))
    for key in results:
        r = results[key]
        cells = []
        for c, _ in cols:
            v = r.get(c, float('nan'))
            pct = c.startswith(('top', 'mean', 'selected'))
            cells.append(f'{100 * v:>15.2f}' if pct else f'{v:>15.4f}')
        print(f'{NAMES[key]:<22}' + ''.join(cells))


def check_targets(results: Dict[str, dict]) -> Dict[str, dict]:
    """The demo's targets, measured in this run.

    The model-time ratio is that of the interleaved timing's medians
    (``model_time_interleaved_s``); without it, that of the tools/test.py
    runs' means.

    Args:
        results (dict): ``{method: metrics}``.
    """
    ddl, dense, uni = results['ddl'], results['dense'], results['uniform']
    time_key = ('model_time_interleaved_s'
                if 'model_time_interleaved_s' in ddl else 'model_time_s')
    targets = {
        'ddl_top1_ge_dense': (ddl['top1'], dense['top1'], ddl['top1']
                              >= dense['top1']),
        'ddl_top1_ge_uniform_plus_3':
        (ddl['top1'], uni['top1'] + 0.03, ddl['top1'] >= uni['top1'] + 0.03),
        'gflops_ratio_le_0.2':
        (ddl['gflops_total'] / dense['gflops_total'], 0.2, ddl['gflops_total']
         <= 0.2 * dense['gflops_total']),
        'model_time_ratio_le_0.25':
        (ddl[time_key] / dense[time_key], 0.25, ddl[time_key]
         <= 0.25 * dense[time_key]),
    }
    print(
        '\nTargets (measured in this run; model time: '
        f"{'interleaved medians' if time_key != 'model_time_s' else 'tools/test.py runs'}):"
    )
    for name, (value, bound, ok) in targets.items():
        print(f"  {name:<28} {value:8.4f} vs {bound:8.4f}  "
              f"{'met' if ok else 'MISSED'}")
    return {
        k: dict(value=v, bound=b, met=bool(ok))
        for k, (v, b, ok) in targets.items()
    }


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the video demo; return the results written to results.json.

    Args:
        argv (Sequence[str], optional): Arguments; default ``sys.argv``.
    """
    args = parse_args(argv)
    hold_work_dir(args.work_dir)
    import torch
    torch.set_num_threads(args.threads)
    timer = Timer()
    data_dir = osp.join(args.work_dir, 'data')
    with timer.stage('1. generate the untrimmed-video benchmark'):
        meta = make_data(data_dir, args)
    data = dict(params=meta['params'], seed=meta['seed'])

    base_cfg = BASE_CONFIG.format(args.family)
    base_dir = osp.join(args.work_dir, f'base_{args.family}')
    with timer.stage(f'2. train the base recognizer ({args.family})'):
        opts = data_options(data_dir, 'train_dataloader',
                            'train_trimmed_list.txt')
        opts.update(data_options(data_dir, 'val_dataloader', 'val_list.txt'))
        opts.update({
            'train_cfg.max_epochs': args.base_epochs,
            'param_scheduler.1.T_max': args.base_epochs,
            'param_scheduler.1.end': args.base_epochs,
            'default_hooks.checkpoint.interval': args.base_epochs,
            'randomness.seed': args.seed
        })
        base_ckpt = train_stage('base recognizer', base_cfg, base_dir, opts,
                                dict(data=data), args.force)

    ddnet_dir = osp.join(args.work_dir, f'ddnet_{args.family}')
    with timer.stage('3. score the training clips and train the DDNet'):
        opts = data_options(data_dir, 'train_dataloader', 'train_list.txt')
        opts.update(ddnet_hook_options(base_cfg, base_ckpt))
        opts.update({
            'custom_hooks.0.candidates.pipeline.1.num_clips':
            args.num_candidates,
            'train_cfg.max_epochs': args.ddnet_epochs,
            'param_scheduler.0.T_max': args.ddnet_epochs,
            'param_scheduler.0.end': args.ddnet_epochs,
            'default_hooks.checkpoint.interval': args.ddnet_epochs,
            'randomness.seed': args.seed
        })
        ddnet_ckpt = train_stage('DDNet', DDNET_CONFIG, ddnet_dir, opts,
                                 dict(data=data, base=file_sha256(base_ckpt)),
                                 args.force)

    from mmddl.analysis import budget_report, run_sweep
    from mmddl.analysis.report import plot_sweep, sweep_table
    sweep_dir = osp.join(args.work_dir, 'sweep')
    topks = sorted({args.topk, *args.sweep})
    with timer.stage('4. sweep: one dense pass over the test videos, every '
                     'method and K / t offline'):
        test_run = run_sweep(DDL_CONFIG, base_ckpt, sweep_dir, ddnet_ckpt,
                             test_options(args, data_dir, base_cfg), topks,
                             args.thresholds)
        sweep = test_run.result
        print('\n' + sweep_table(sweep))
    budget = None
    if args.budget_ratio and 'ddl' in args.methods:
        val_seed = args.seed + VAL_SEED_OFFSET
        with timer.stage(f'5. budget {args.budget_ratio:g} x dense: '
                         f'validation videos (seed {val_seed}), their sweep'):
            val_dir = osp.join(args.work_dir, 'data_val')
            make_data(
                val_dir,
                args,
                seed=val_seed,
                name='validation data',
                trimmed=False)
            val = run_sweep(DDL_CONFIG, base_ckpt, osp.join(sweep_dir,
                                                            'val'), ddnet_ckpt,
                            test_options(args, val_dir, base_cfg),
                            sweep['topks'], sweep['thresholds']).result
            budget = budget_report(
                test_run, val, sweep_dir, ratio=args.budget_ratio)
            budget['val_seed'] = val_seed
            print(f"\nBudget {args.budget_ratio:g} x dense, chosen on the "
                  f"validation videos: {budget['method']} {budget['point']} "
                  f"(validation top-1 {100 * budget['val_value']:.2f} % at "
                  f"{budget['val_gflops_ratio']:.3f} of dense); test top-1 "
                  f"{100 * budget['test_value']:.2f} % at "
                  f"{budget['test_gflops_ratio']:.3f} of dense\n  "
                  f"{budget['cfg_options']}")

    results: Dict[str, dict] = {}
    tool_runs = [m for m in ('ddl', 'dense') if m in args.methods]
    with timer.stage('6. tools/test.py: ' + ' / '.join(tool_runs) +
                     ' (model time; must equal the sweep)'):
        for key in tool_runs:
            results[key] = evaluate(args, data_dir, base_cfg, base_ckpt,
                                    ddnet_ckpt, key, args.topk, meta)
        check = check_sweep(results, sweep, args.topk)
    timing = None
    if len(tool_runs) == 2 and args.timing_videos > 0:
        with timer.stage('7. interleaved DDL / dense model time '
                         f'({args.timing_videos} videos x '
                         f'{args.timing_rounds} rounds)'):
            timing = interleaved_model_time(args, data_dir, base_cfg,
                                            base_ckpt, ddnet_ckpt)
        for key in tool_runs:
            results[key]['model_time_interleaved_s'] = timing[key]['median_s']
    for key in args.methods:
        if key not in results:
            results[key] = from_sweep(test_run, key, args, meta)
    results = {k: results[k] for k in args.methods}

    print_table(results, args.topk, args.num_candidates)
    targets = {}
    if {'ddl', 'dense', 'uniform'} <= set(results):
        targets = check_targets(results)
    png = plot_sweep(
        sweep,
        osp.join(args.work_dir, 'accuracy_vs_gflops.png'),
        budget,
        title='DDL on the generated untrimmed-video benchmark '
        f"({sweep['num_groups']} test videos, N={args.num_candidates})")
    out = dict(
        task='video',
        family=args.family,
        topk=args.topk,
        num_candidates=args.num_candidates,
        seed=args.seed,
        methods=results,
        sweep=dict(
            file=osp.join(sweep_dir, 'sweep.json'),
            topks=sweep['topks'],
            thresholds=sweep['thresholds'],
            methods=sweep['methods']),
        sweep_check=check,
        model_time=timing,
        budget=budget,
        targets=targets,
        stage_seconds=timer.stages,
        total_seconds=timer.total,
        note='generated data; the paper\'s numbers need Kinetics-700 / '
        'ActivityNet-1.2')
    path = write_results(osp.join(args.work_dir, 'results.json'), out)
    print(f'\nresults: {path}\nplot:    {png}\ntotal:   {timer.total:.0f} s')
    return out
