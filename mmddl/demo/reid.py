"""The re-ID demo (``make demo TASK=reid``): a MARS miniature.

Steps and configs: docs/demos.md.
"""
import argparse
import os
import os.path as osp
from typing import Dict, Optional, Sequence

from .common import (Timer, add_run_args, build_results, data_stage,
                     ddnet_hook_options, epoch_options, evaluate_methods,
                     file_sha256, format_table, repo_root, target_line,
                     train_stage, write_results)
from .figures import plot_group_dscores

CONFIG_DIR = 'configs/reid/demo'
BASE_CONFIG = f'{CONFIG_DIR}/reid_r18-tiny_1xb64-ce-triplet-10e_synth-mars.py'
DDNET_CONFIG = (f'{CONFIG_DIR}/'
                'ddnet_r18cd_reid-r18-tiny-dscore-15e_synth-mars.py')
TEST_CONFIGS = {
    'mars': f'{CONFIG_DIR}/ddl_reid-r18-tiny_thr0.15_synth-mars.py'
}
TABLE_TITLE = ('Table 7 style: MARS (synthetic miniature), video re-ID '
               '(tracklet = group)')
PERCENT = ('mAP', 'rank1', 'rank5', 'rank20')
#: The demo's target: DDL above average pooling on mAP.
TARGET_METRIC = ('mars', 'mAP')
NUM_DISTRACTORS = 2


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options (all sizes have demo-sized defaults).

    Args:
        argv (Sequence[str], optional): Arguments; default ``sys.argv``.
    """
    p = argparse.ArgumentParser(description='mmddl re-ID demo')
    p.add_argument('--work-dir', default='work_dirs/demo_reid')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument(
        '--train-ids', type=int, default=100, help='training identities')
    p.add_argument(
        '--test-ids',
        type=int,
        default=100,
        help='test identities (one query tracklet each)')
    p.add_argument(
        '--tracklets',
        type=int,
        default=3,
        help='tracklets per identity (distinct cameras, <= 6)')
    p.add_argument('--frames', type=int, default=8, help='frames per tracklet')
    p.add_argument(
        '--train-degradation',
        type=float,
        default=0.4,
        help='probability that a training frame is degraded')
    p.add_argument(
        '--test-degradation',
        type=float,
        default=0.85,
        help='probability that a test frame is degraded (test '
        'tracklets mix a few good frames with many poor ones)')
    p.add_argument(
        '--test-severity',
        type=float,
        default=0.7,
        help='lowest severity (0..1) of a test degradation')
    add_run_args(p)
    return p.parse_args(argv)


def generate_data(data_root: str, args: argparse.Namespace,
                  size) -> Dict[str, object]:
    """Write the MARS miniature (training and test identities disjoint).

    Args:
        data_root (str): Folder of the MARS root.
        args (argparse.Namespace): Demo options.
        size (tuple): ``(h, w)`` of the crops.

    Returns:
        dict: A summary of what was written.
    """
    from mmddl.testing.synthetic_faces import write_mars
    from mmddl.testing.synthetic_persons import make_persons
    per_id = args.tracklets * args.frames
    train = make_persons(
        args.train_ids,
        per_id,
        size=size,
        seed=args.seed,
        degradation_prob=args.train_degradation)
    test = make_persons(
        args.test_ids,
        per_id,
        size=size,
        seed=args.seed + 1,
        degradation_prob=args.test_degradation,
        severity=(args.test_severity, 1.0))
    info = write_mars(
        data_root,
        train + test,
        num_train=args.train_ids,
        tracklets_per_identity=args.tracklets,
        num_junk=1,
        num_distractors=NUM_DISTRACTORS,
        seed=args.seed)
    return dict(
        format='MARS (bbox_train/, bbox_test/, info/*.txt, info/*.mat)',
        train=dict(
            identities=args.train_ids,
            tracklets=len(info['train_tracks']),
            frames=args.train_ids * per_id,
            degradation_prob=args.train_degradation),
        test=dict(
            identities=args.test_ids,
            tracklets=len(info['test_tracks']),
            queries=len(info['query_rows']),
            frames_per_tracklet=args.frames,
            junk_tracklets=1,
            distractor_tracklets=NUM_DISTRACTORS,
            degradation_prob=args.test_degradation,
            severity=(args.test_severity, 1.0)))


def pk_options(cfg, args: argparse.Namespace) -> Dict[str, object]:
    """Fewer identities per P x K batch when the training set has fewer
    than the config's P (the PKSampler needs P distinct identities).

    Args:
        cfg (mmengine.Config): The base config.
        args (argparse.Namespace): Demo options.
    """
    sampler = cfg.train_dataloader.sampler
    k = sampler.num_instances
    p = sampler.batch_size // k
    if args.train_ids >= p:
        return {}
    return {
        'train_dataloader.batch_size': args.train_ids * k,
        'train_dataloader.sampler.batch_size': args.train_ids * k
    }


def cmc_ranks(args: argparse.Namespace) -> list:
    """CMC ranks the gallery is large enough for (of 1, 5, 20).

    Args:
        args (argparse.Namespace): Demo options.
    """
    gallery = args.test_ids * (args.tracklets - 1) + NUM_DISTRACTORS
    return [r for r in (1, 5, 20) if r <= gallery]


DATA_ARGS = ('seed', 'train_ids', 'test_ids', 'tracklets', 'frames',
             'train_degradation', 'test_degradation', 'test_severity')


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the re-ID demo; return the results written to results.json.

    Args:
        argv (Sequence[str], optional): Arguments; default ``sys.argv``.
    """
    import torch
    from mmengine.config import Config

    import mmddl  # noqa: F401  (registration)
    args = parse_args(argv)
    if not 2 <= args.tracklets <= 6:
        raise SystemExit('--tracklets must be 2..6 (a query and at least '
                         'one gallery tracklet; MARS has 6 cameras)')
    torch.set_num_threads(args.threads)
    work = osp.abspath(args.work_dir)
    data = osp.join(work, 'data', 'mars')
    os.makedirs(work, exist_ok=True)
    demo_cfg = Config.fromfile(osp.join(repo_root(), BASE_CONFIG))
    w, h = demo_cfg.demo_img_scale
    timer = Timer()

    with timer.stage('1/4 generate synthetic pedestrians (MARS format)'):
        params = dict({k: getattr(args, k)
                       for k in DATA_ARGS},
                      size=(h, w),
                      distractors=NUM_DISTRACTORS)
        summary = data_stage('data', data, params,
                             lambda: generate_data(data, args,
                                                   (h, w)), args.force)
        print(summary)

    with timer.stage('2/4 train the re-ID base model (tools/train.py flow)'):
        base_dir = osp.join(work, 'base')
        base_ckpt = train_stage(
            'base model', BASE_CONFIG, base_dir, {
                'train_dataloader.dataset.data_root': data,
                'model.head.num_classes': args.train_ids,
                'randomness.seed': args.seed,
                **pk_options(demo_cfg, args),
                **epoch_options(args.base_epochs)
            }, dict(data=params), args.force)
    base_cfg_file = osp.join(base_dir, osp.basename(BASE_CONFIG))

    with timer.stage('3/4 train the DDNet (DiscriminabilityHook + '
                     'tools/train.py flow)'):
        ddnet_opts = {
            'train_dataloader.dataset.data_root':
            data,
            **ddnet_hook_options(base_cfg_file, base_ckpt), 'randomness.seed':
            args.seed,
            **epoch_options(args.ddnet_epochs)
        }
        ddnet_ckpt = train_stage(
            'DDNet', DDNET_CONFIG, osp.join(work, 'ddnet'), ddnet_opts,
            dict(data=params, base=file_sha256(base_ckpt)), args.force)

    ranks = cmc_ranks(args)
    with timer.stage('4/4 tracklet evaluation (tools/test.py flow)'):
        options = {
            'mars': {
                'test_dataloader.dataset.data_root': data,
                'model.base.head.num_classes': args.train_ids,
                'test_evaluator.ranks': ranks,
                'log_level': args.test_log_level
            }
        }
        metrics, dumps = evaluate_methods(TEST_CONFIGS, base_ckpt, ddnet_ckpt,
                                          osp.join(work, 'test'), options,
                                          args.methods)

    results = build_results('reid', metrics, summary, vars(args),
                            TARGET_METRIC)
    columns = [('mAP', 'mAP (%)')] + [(f'rank{r}', f'R{r} (%)') for r in ranks]
    columns += [('base_images', 'Base imgs/group'),
                ('ddnet_images', 'DDNet imgs/group')]
    print('\n' + format_table(TABLE_TITLE, columns, metrics['mars'], PERCENT))
    if 'mars' in dumps:
        results['figure'] = plot_group_dscores(
            dumps['mars'],
            osp.join(work, 'fig3_dscore_tracklet.png'),
            title='MARS tracklet (synthetic) sorted by predicted D-score')
        print(f"\nFig. 3 style picture: {results['figure']}")
    results['timing_s'] = dict(timer.stages, total=timer.total)
    path = write_results(osp.join(work, 'results.json'), results)
    print('\n' + target_line(results['target']))
    print(f'results: {path}  (total {timer.total:.0f} s)')
    return results


if __name__ == '__main__':
    main()
