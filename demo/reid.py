"""The re-ID demo (``make demo TASK=reid``): a MARS miniature.

Steps and configs: docs/demos.md.
"""
import argparse
import functools
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from .ceilings import (ceilings_per_test_set, format_ceiling_table,
                       summarize_ceilings)
from .common import (ELEMENT_META, Timer, add_run_args, build_results,
                     data_stage, ddnet_hook_options, element_scores,
                     epoch_options, evaluate_methods, file_sha256,
                     format_summary_table, format_table, hold_work_dir,
                     pooling_targets, print_ranking, ranking_quality,
                     repo_root, summarize_seeds, targets_line, train_stage,
                     validation_choice, write_element_meta, write_results)
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
#: Metrics the validation-chosen operating point must not lose on.
VAL_KEYS = ('mAP', 'rank1')
#: Seed offsets of the validation set and test sets (from --seed).
VAL_OFFSET = 100
TEST_OFFSET = 1000


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
    p.add_argument(
        '--test-seeds',
        type=int,
        default=3,
        help='MARS test sets (seeds S+1000 ... S+1000+N-1); '
        'docs/face_reid.md reports 5')
    add_run_args(p)
    return p.parse_args(argv)


def generate_data(data_root: str, args: argparse.Namespace, size,
                  seed: int) -> Dict[str, object]:
    """Write one MARS miniature: the training identities (seed S) in
    ``bbox_train`` and the test identities of ``seed`` in ``bbox_test``,
    with the test frames' ground truth in ``element_meta.json``.

    Args:
        data_root (str): Folder of the MARS root.
        args (argparse.Namespace): Demo options.
        size (tuple): ``(h, w)`` of the crops.
        seed (int): Seed of the test identities and of the writer.

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
    test, meta = make_persons(
        args.test_ids,
        per_id,
        size=size,
        seed=seed,
        degradation_prob=args.test_degradation,
        severity=(args.test_severity, 1.0),
        return_meta=True)
    info = write_mars(
        data_root,
        train + test,
        num_train=args.train_ids,
        tracklets_per_identity=args.tracklets,
        num_junk=1,
        num_distractors=NUM_DISTRACTORS,
        seed=seed)
    # an identity's tracklets hold its frames in order (stable pid sort)
    names: Dict[int, list] = {}
    for t in info['test_tracks']:
        if t['pid'] > 0:
            names.setdefault(t['pid'], []).extend(t['names'])
    rows = {}
    for i, recs in enumerate(meta['degradations']):
        for name, rec in zip(names[args.train_ids + i + 1], recs):
            rows[name] = [i, int(bool(rec['kinds'])), rec['severity']]
    write_element_meta(osp.join(data_root, ELEMENT_META), rows)
    return dict(
        format='MARS (bbox_train/, bbox_test/, info/*.txt, info/*.mat)',
        train=dict(
            identities=args.train_ids,
            tracklets=len(info['train_tracks']),
            frames=args.train_ids * per_id,
            degradation_prob=args.train_degradation,
            seed=args.seed),
        test=dict(
            identities=args.test_ids,
            tracklets=len(info['test_tracks']),
            queries=len(info['query_rows']),
            frames_per_tracklet=args.frames,
            junk_tracklets=1,
            distractor_tracklets=NUM_DISTRACTORS,
            degraded_frames=int(sum(r[1] for r in rows.values())),
            degradation_prob=args.test_degradation,
            severity=(args.test_severity, 1.0),
            seed=seed))


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


TRAIN_ARGS = ('seed', 'train_ids', 'tracklets', 'frames', 'train_degradation')
DATA_ARGS = TRAIN_ARGS + ('test_ids', 'test_degradation', 'test_severity')


def mars_seeds(args: argparse.Namespace) -> Tuple[int, List[int]]:
    """Seeds of the validation set and of the test sets.

    See "Evaluation protocol" in docs/face_reid_data.md: V = S + 100,
    T_i = S + 1000 + i.

    Args:
        args (argparse.Namespace): Demo options.
    """
    if args.test_seeds < 1:
        raise SystemExit(f'--test-seeds must be >= 1, got {args.test_seeds}')
    return args.seed + VAL_OFFSET, [
        args.seed + TEST_OFFSET + i for i in range(args.test_seeds)
    ]


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
    val_seed, test_seeds = mars_seeds(args)
    torch.set_num_threads(args.threads)
    work = osp.abspath(args.work_dir)
    hold_work_dir(work)
    demo_cfg = Config.fromfile(osp.join(repo_root(), BASE_CONFIG))
    w, h = demo_cfg.demo_img_scale
    timer = Timer()

    def mars_dir(seed):
        # the validation root also serves as the training root
        return osp.join(work, 'data',
                        'mars' if seed == val_seed else f'mars_seed{seed}')

    data = mars_dir(val_seed)
    train_params = dict({k: getattr(args, k) for k in TRAIN_ARGS}, size=(h, w))
    with timer.stage('1/5 generate synthetic pedestrians (MARS format: '
                     'training + validation, test sets)'):
        summary = {}
        for role, seed in [('validation', val_seed)] + [('test', s)
                                                        for s in test_seeds]:
            params = dict({k: getattr(args, k)
                           for k in DATA_ARGS},
                          size=(h, w),
                          distractors=NUM_DISTRACTORS,
                          set_seed=seed)
            summary[f'mars_seed{seed}'] = dict(
                data_stage(
                    f'MARS {role} data (seed {seed})', mars_dir(seed), params,
                    functools.partial(generate_data, mars_dir(seed), args,
                                      (h, w), seed), args.force),
                role=role)
        print(summary)

    with timer.stage('2/5 train the re-ID base model (tools/train.py flow)'):
        base_dir = osp.join(work, 'base')
        base_ckpt = train_stage(
            'base model', BASE_CONFIG, base_dir, {
                'train_dataloader.dataset.data_root': data,
                'model.head.num_classes': args.train_ids,
                'randomness.seed': args.seed,
                **pk_options(demo_cfg, args),
                **epoch_options(args.base_epochs)
            }, dict(data=train_params), args.force)
    base_cfg_file = osp.join(base_dir, osp.basename(BASE_CONFIG))

    with timer.stage('3/5 train the DDNet (DiscriminabilityHook + '
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
            dict(data=train_params, base=file_sha256(base_ckpt)), args.force)

    ranks = cmc_ranks(args)

    def mars_options(seed):
        return {
            'test_dataloader.dataset.data_root': mars_dir(seed),
            'model.base.head.num_classes': args.train_ids,
            'test_evaluator.ranks': ranks,
            'log_level': args.test_log_level
        }

    with timer.stage('4/5 validation: DDNet ranking quality and the '
                     'operating point (MARS validation tracklets)'):
        scores = element_scores(TEST_CONFIGS['mars'], base_ckpt, ddnet_ckpt,
                                osp.join(work, 'val', 'elements'),
                                mars_options(val_seed))
        with open(osp.join(data, ELEMENT_META)) as f:
            ranking = ranking_quality(scores, json.load(f))
        print_ranking(ranking, 'validation tracklets')
        chosen, val = validation_choice('mars', TEST_CONFIGS['mars'],
                                        base_ckpt, ddnet_ckpt,
                                        osp.join(work, 'val'),
                                        mars_options(val_seed), args, VAL_KEYS,
                                        'tracklet')

    methods = list(args.methods) + ['ddl_val']
    with timer.stage('5/5 tracklet evaluation on the test sets '
                     '(tools/test.py flow)'):
        metrics, dumps = evaluate_methods(
            {f'mars_seed{s}': TEST_CONFIGS['mars']
             for s in test_seeds},
            base_ckpt,
            ddnet_ckpt,
            osp.join(work, 'test'),
            {f'mars_seed{s}': mars_options(s)
             for s in test_seeds},
            methods,
            settings={'ddl_val': chosen['settings']})
        ceilings = ceilings_per_test_set(
            'mars', TEST_CONFIGS['mars'], base_ckpt, ddnet_ckpt,
            osp.join(work, 'test'), {s: mars_dir(s)
                                     for s in test_seeds},
            {s: mars_options(s)
             for s in test_seeds}, args.val_topks)

    per_seed = {s: metrics.pop(f'mars_seed{s}') for s in test_seeds}
    mars = summarize_seeds(per_seed)
    metrics['mars'] = mars['mean']
    results = build_results('reid', metrics, summary, vars(args),
                            TARGET_METRIC)
    results.update(
        per_seed=dict(mars={
            str(s): m
            for s, m in per_seed.items()
        }),
        summary=dict(mars=mars),
        seeds=dict(train=args.seed, validation=val_seed, test=test_seeds),
        ddnet_ranking=dict(validation=ranking),
        validation=dict(
            mars=val['metrics'], candidates=val['candidates'], chosen=chosen),
        ceilings=dict(mars=summarize_ceilings(per_seed, ceilings)),
        target=reid_targets(per_seed, mars, chosen))
    columns = [('mAP', 'mAP (%)')] + [(f'rank{r}', f'R{r} (%)') for r in ranks]
    columns += [('base_images', 'Base imgs/group'),
                ('ddnet_images', 'DDNet imgs/group')]
    for s in test_seeds:
        print('\n' + format_table(f'{TABLE_TITLE} - test set seed {s}',
                                  columns, per_seed[s], PERCENT))
    print('\n' + format_summary_table(TABLE_TITLE, columns, mars, PERCENT))
    print('\n' + format_ceiling_table(
        'MARS selection ceilings (oracles reading the test labels)',
        columns[:-1], results['ceilings']['mars']['summary'], PERCENT))
    dump = dumps.get(f'mars_seed{test_seeds[0]}')
    if dump:
        results['figure'] = plot_group_dscores(
            dump,
            osp.join(work, 'fig3_dscore_tracklet.png'),
            title='MARS tracklet (synthetic) sorted by predicted D-score')
        print(f"\nFig. 3 style picture: {results['figure']}")
    results['timing_s'] = dict(timer.stages, total=timer.total)
    path = write_results(osp.join(work, 'results.json'), results)
    print('\n' + reid_target_line(results['target']))
    print(f'results: {path}  (total {timer.total:.0f} s)')
    return results


def reid_targets(per_seed: Dict[int, Dict[str, Dict[str, float]]],
                 summary: dict, chosen: dict) -> dict:
    """The re-ID targets: DDL (t = 0.15) at least average pooling in mAP and
    CMC-1 on every test set; the validation-chosen point's cost and mean.

    Args:
        per_seed (dict): ``{seed: {method: {metric: value}}}``.
        summary (dict): :func:`summarize_seeds` of ``per_seed``.
        chosen (dict): The validation-chosen operating point.
    """
    mean = summary['mean']
    out = pooling_targets(per_seed, summary, chosen, VAL_KEYS)
    if 'ddl_val' in mean and 'average' in mean:
        out['ddl_val_base_share'] = mean['ddl_val']['base_images'] / \
            mean['average']['base_images']
        out['ddl_val_ge_average_mean'] = bool(
            all(mean['ddl_val'][k] >= mean['average'][k] for k in VAL_KEYS))
    return out


def reid_target_line(target: dict) -> str:
    """One line on the re-ID targets.

    Args:
        target (dict): The result of :func:`reid_targets`.
    """
    line = targets_line(
        'targets (MARS, mAP and CMC-1)', target,
        (('ddl_ge_average_every_set', 'DDL >= average on every set'),
         ('ddl_above_average_mean', 'DDL > average in the mean'),
         ('ddl_val_ge_average_mean',
          'validation-chosen point >= average in the mean')))
    if 'ddl_val_base_share' in target:
        line += ('; validation-chosen point runs the base on '
                 f"{100 * target['ddl_val_base_share']:.0f} % of frames")
    return line


if __name__ == '__main__':
    main()
