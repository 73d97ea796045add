"""The video demo (``make demo``): DDL against the baselines on generated
untrimmed videos; steps and configs in docs/demos.md."""
import argparse
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from .common import (Timer, add_repro_args, data_stage, ddnet_hook_options,
                     file_sha256, run_test, train_stage, write_results)

FAMILIES = ('slowfast', 'r2plus1d', 'i3d')
BASE_CONFIG = ('configs/recognition/demo/'
               '{}_r18-tiny_1xb8-16x1x1-15e_synthetic-rgb.py')
DDNET_CONFIG = ('configs/recognition/demo/'
                'ddnet_r18cd3d-tiny_slowfast-tiny-dscore-20e_synthetic-rgb.py')
DDL_CONFIG = ('configs/recognition/demo/'
              'ddl_slowfast-tiny_top5-of-30_synthetic-rgb.py')
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
        default=[1, 3, 10],
        help='extra K values for the accuracy-vs-GFLOPs plot')
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
        help='methods to evaluate (the targets and the plot '
        'need ddl, uniform and dense)')
    add_repro_args(p)
    return p.parse_args(argv)


def make_data(data_dir: str, args: argparse.Namespace) -> dict:
    """Generate the benchmark (reused when its parameters match).

    Args:
        data_dir (str): Folder of the benchmark.
        args (argparse.Namespace): Demo options.

    Returns:
        dict: ``meta.json`` of the benchmark (videos and their segments).
    """
    from dataclasses import asdict

    from mmddl.testing.synthetic_video import (FORMAT_VERSION, BenchmarkConfig,
                                               make_video_benchmark)
    cfg = BenchmarkConfig(
        num_classes=args.classes,
        train_per_class=args.train_per_class,
        test_per_class=args.test_per_class)
    params = dict(asdict(cfg), seed=args.seed, format=FORMAT_VERSION)

    def make() -> dict:
        summary = make_video_benchmark(
            data_dir, seed=args.seed, cfg=cfg, overwrite=True)
        print('\n' + json.dumps(summary, indent=1))
        return summary

    data_stage('data', data_dir, params, make, args.force)
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


def evaluate(args, data_dir, base_cfg, base_ckpt, ddnet_ckpt, method, topk,
             meta) -> dict:
    """One ``tools/test.py`` run of the DDL config with one method's
    aggregator.

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
    opts = data_options(data_dir, 'test_dataloader', 'val_list.txt')
    opts.update({
        f'model.aggregator.{k}': v
        for k, v in METHODS[method].items()
    })
    opts.update({
        'model.base': base_cfg,
        'model.aggregator.topk': topk,
        'model.aggregator.seed': args.seed,
        'test_dataloader.dataset.pipeline.1.num_clips': args.num_candidates,
        'test_evaluator.out_file': rows_file,
    })
    metrics = run_test(
        DDL_CONFIG,
        base_ckpt,
        out_dir,
        ddnet_checkpoint=ddnet_ckpt,
        options=opts)
    res = {k.split('/', 1)[-1]: float(v) for k, v in metrics.items()}
    with open(rows_file) as f:
        rows = json.load(f)['videos']
    frac = selected_class_fraction(rows, meta, 16, args.num_candidates)
    if frac is not None:
        res['selected_class_fraction'] = frac
    res['topk'] = (
        topk if METHODS[method]['mode'] != 'dense' else args.num_candidates)
    return res


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
            ('model_time_s', 'model s/video'),
            ('selected_class_fraction', 'in class seg.')]
    head = f"{'method':<22}" + ''.join(f'{h:>15}' for _, h in cols)
    print(f'\nAction recognition on the generated benchmark: K={topk} of '
          f'N={n} candidate clips per video (cf. the paper\'s Tables 8-9);'
          '\n"in class seg." = % of the frames of the clips the base ran '
          'on that show the video\'s class')
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

    Args:
        results (dict): ``{method: metrics}``.
    """
    ddl, dense, uni = results['ddl'], results['dense'], results['uniform']
    targets = {
        'ddl_top1_ge_dense': (ddl['top1'], dense['top1'], ddl['top1']
                              >= dense['top1']),
        'ddl_top1_ge_uniform_plus_3':
        (ddl['top1'], uni['top1'] + 0.03, ddl['top1'] >= uni['top1'] + 0.03),
        'gflops_ratio_le_0.2':
        (ddl['gflops_total'] / dense['gflops_total'], 0.2, ddl['gflops_total']
         <= 0.2 * dense['gflops_total']),
        'model_time_ratio_le_0.25':
        (ddl['model_time_s'] / dense['model_time_s'], 0.25, ddl['model_time_s']
         <= 0.25 * dense['model_time_s']),
    }
    print('\nTargets (measured in this run):')
    for name, (value, bound, ok) in targets.items():
        print(f"  {name:<28} {value:8.4f} vs {bound:8.4f}  "
              f"{'met' if ok else 'MISSED'}")
    return {
        k: dict(value=v, bound=b, met=bool(ok))
        for k, (v, b, ok) in targets.items()
    }


def plot(results: Dict[str, dict], sweep: Dict[str, List[dict]],
         path: str) -> str:
    """Accuracy vs GFLOPs per video over K (PNG).

    Args:
        results (dict): ``{method: metrics}`` at the demo's K.
        sweep (dict): ``{method: [metrics at each K]}``.
        path (str): The PNG to write.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for mode, marker in (('ddl', 'o-'), ('uniform', 's--')):
        pts = sorted(sweep[mode], key=lambda r: r['gflops_total'])
        ax.plot([r['gflops_total'] for r in pts],
                [100 * r['top1'] for r in pts],
                marker,
                label=NAMES[mode])
        for r in pts:
            ax.annotate(
                f"K={r['topk']}", (r['gflops_total'], 100 * r['top1']),
                textcoords='offset points',
                xytext=(4, -10),
                fontsize=8)
    for mode, marker in (('dense', 'k*'), ('random', 'gx'),
                         ('ddl_norescale', 'm^'), ('ddl_prob', 'cD')):
        if mode not in results:
            continue
        r = results[mode]
        ax.plot(
            r['gflops_total'],
            100 * r['top1'],
            marker,
            markersize=10,
            label=NAMES[mode])
    ax.set_xlabel('GFLOPs per video (DDNet + base)')
    ax.set_ylabel('top-1 accuracy (%)')
    ax.set_title('DDL on the generated untrimmed-video benchmark')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the video demo; return the results written to results.json.

    Args:
        argv (Sequence[str], optional): Arguments; default ``sys.argv``.
    """
    args = parse_args(argv)
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
            'custom_hooks.0.candidate_pipeline.1.num_clips':
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

    results: Dict[str, dict] = {}
    sweep: Dict[str, List[dict]] = {
        m: []
        for m in ('ddl', 'uniform') if m in args.methods
    }
    with timer.stage('4. evaluate: ' + ' / '.join(args.methods)):
        for key in args.methods:
            results[key] = evaluate(args, data_dir, base_cfg, base_ckpt,
                                    ddnet_ckpt, key, args.topk, meta)
        for mode in sweep:
            sweep[mode].append(results[mode])
            for k in args.sweep:
                if k != args.topk and k < args.num_candidates:
                    sweep[mode].append(
                        evaluate(args, data_dir, base_cfg, base_ckpt,
                                 ddnet_ckpt, mode, k, meta))

    print_table(results, args.topk, args.num_candidates)
    targets, png = {}, None
    if {'ddl', 'dense', 'uniform'} <= set(results):
        targets = check_targets(results)
        png = plot(results, sweep,
                   osp.join(args.work_dir, 'accuracy_vs_gflops.png'))
    out = dict(
        task='video',
        family=args.family,
        topk=args.topk,
        num_candidates=args.num_candidates,
        seed=args.seed,
        methods=results,
        sweep=sweep,
        targets=targets,
        stage_seconds=timer.stages,
        total_seconds=timer.total,
        note='generated data; the paper\'s numbers need Kinetics-700 / '
        'ActivityNet-1.2')
    path = write_results(osp.join(args.work_dir, 'results.json'), out)
    print(f'\nresults: {path}\nplot:    {png}\ntotal:   {timer.total:.0f} s')
    return out
