"""The face demo (``make demo TASK=face``): YTF and IJB-C miniatures.

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

CONFIG_DIR = 'configs/face/demo'
BASE_CONFIG = f'{CONFIG_DIR}/arcface_r18-tiny_1xb64-8e_synth-recordio.py'
DDNET_CONFIG = (f'{CONFIG_DIR}/'
                'ddnet_r18cd_arcface-r18-tiny-dscore-30e_synth-recordio.py')
TEST_CONFIGS = {
    'ytf': f'{CONFIG_DIR}/ddl_arcface-r18-tiny_thr0.15_synth-ytf.py',
    'ijbc': f'{CONFIG_DIR}/ddl_arcface-r18-tiny_thr0.15_synth-ijbc.py',
}
#: Metric shown per data set, as in the paper's tables.
TABLE_COLUMNS = {
    'ytf': [('kfold_acc', 'Acc. (%)'), ('kfold_acc_std', 'Std (%)'),
            ('base_images', 'Base imgs/group'),
            ('ddnet_images', 'DDNet imgs/group')],
    'ijbc': [('tar@far=0.0001', 'TAR@FAR=1e-4'),
             ('tar@far=0.001', 'TAR@FAR=1e-3'),
             ('tar@far=0.01', 'TAR@FAR=1e-2'), ('tar@far=0.1', 'TAR@FAR=1e-1'),
             ('base_images', 'Base imgs/group'),
             ('ddnet_images', 'DDNet imgs/group')],
}
TABLE_TITLES = {
    'ytf': 'Table 1 style: YouTube Faces (synthetic miniature), 10-fold '
    'verification accuracy',
    'ijbc': 'Table 4 style: IJB-C 1:1 (synthetic miniature), TAR at FAR',
}
PERCENT = ('kfold_acc', 'kfold_acc_std', 'tar@far=0.0001', 'tar@far=0.001',
           'tar@far=0.01', 'tar@far=0.1')
#: The demo's target: DDL above average pooling on TAR@FAR. The paper
#: reports IJB-C at strict FARs; 1e-3 is the strictest one a default
#: miniature (about 44k impostor pairs) resolves with tens of false accepts.
TARGET_METRIC = ('ijbc', 'tar@far=0.001')
#: Metrics the validation-chosen operating point must not lose on.
VAL_KEYS = ('tar@far=0.001', 'tar@far=0.0001')
#: Seed offsets of the IJB-C validation set and test sets (from --seed).
VAL_OFFSET = 100
TEST_OFFSET = 1000


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options (all sizes have demo-sized defaults).

    Args:
        argv (Sequence[str], optional): Arguments; default ``sys.argv``.
    """
    p = argparse.ArgumentParser(description='mmddl face demo')
    p.add_argument('--work-dir', default='work_dirs/demo_face')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument(
        '--train-ids',
        type=int,
        default=160,
        help='training identities (RecordIO)')
    p.add_argument(
        '--train-images',
        type=int,
        default=24,
        help='images per training identity')
    p.add_argument(
        '--train-degradation',
        type=float,
        default=0.4,
        help='probability that a training image is degraded')
    p.add_argument('--ytf-ids', type=int, default=60)
    p.add_argument(
        '--ytf-frames',
        type=int,
        default=8,
        help='frames per YTF video (2 videos per identity)')
    p.add_argument(
        '--ytf-pairs',
        type=int,
        default=30,
        help='pairs per split (10 splits)')
    p.add_argument('--ijbc-ids', type=int, default=100)
    p.add_argument(
        '--ijbc-templates',
        type=int,
        default=3,
        help='templates per IJB-C identity')
    p.add_argument(
        '--ijbc-images', type=int, default=6, help='images per IJB-C template')
    p.add_argument(
        '--test-degradation',
        type=float,
        default=0.8,
        help='probability that a test image is degraded (test '
        'groups mix a few good images with many poor ones, as '
        'IJB-C templates and YTF videos do)')
    p.add_argument(
        '--test-severity',
        type=float,
        default=0.6,
        help='lowest severity (0..1) of a test degradation')
    p.add_argument(
        '--test-seeds',
        type=int,
        default=3,
        help='IJB-C test sets (seeds S+1000 ... S+1000+N-1); '
        'docs/face_reid.md reports 5')
    p.add_argument(
        '--skip-ytf',
        action='store_true',
        help='evaluate IJB-C only (YTF is saturated at the demo size)')
    add_run_args(p)
    return p.parse_args(argv)


def ijbc_seeds(args: argparse.Namespace) -> Tuple[int, List[int]]:
    """Seeds of the IJB-C validation set and of the test sets.

    See "Evaluation protocol" in docs/face_reid_data.md: V = S + 100,
    T_i = S + 1000 + i.

    Args:
        args (argparse.Namespace): The demo's options.
    """
    if args.test_seeds < 1:
        raise SystemExit(f'--test-seeds must be >= 1, got {args.test_seeds}')
    return args.seed + VAL_OFFSET, [
        args.seed + TEST_OFFSET + i for i in range(args.test_seeds)
    ]


def generate_train(data_root: str, args: argparse.Namespace,
                   img_size: int) -> Dict[str, object]:
    """Write the training RecordIO (seed S).

    Args:
        data_root (str): Folder of the RecordIO.
        args (argparse.Namespace): The demo's options.
        img_size (int): Side of the square face images.

    Returns:
        dict: A summary of what was written.
    """
    from mmddl.testing import synthetic_faces as sf
    train = sf.make_identities(
        args.train_ids,
        args.train_images,
        size=img_size,
        seed=args.seed,
        degradation_prob=args.train_degradation)
    sf.write_recordio(data_root, train)
    return dict(
        identities=args.train_ids,
        images=args.train_ids * args.train_images,
        degradation_prob=args.train_degradation,
        seed=args.seed,
        format='insightface RecordIO (train.rec/.idx/property)')


def generate_ytf(data_root: str, args: argparse.Namespace,
                 img_size: int) -> Dict[str, object]:
    """Write the YTF miniature (seed S + 1).

    Args:
        data_root (str): Folder of the set.
        args (argparse.Namespace): The demo's options.
        img_size (int): Side of the square face images.

    Returns:
        dict: A summary of what was written.
    """
    from mmddl.testing import synthetic_faces as sf
    ytf = sf.make_identities(
        args.ytf_ids,
        2 * args.ytf_frames,
        size=img_size,
        seed=args.seed + 1,
        degradation_prob=args.test_degradation,
        severity=(args.test_severity, 1.0))
    info = sf.write_ytf(
        data_root,
        ytf,
        videos_per_identity=2,
        pairs_per_split=args.ytf_pairs,
        seed=args.seed)
    return dict(
        identities=args.ytf_ids,
        videos=len(info['videos']),
        frames_per_video=args.ytf_frames,
        pairs=len(info['pairs']),
        degradation_prob=args.test_degradation,
        severity=(args.test_severity, 1.0),
        seed=args.seed + 1)


def generate_ijbc(data_root: str, args: argparse.Namespace, img_size: int,
                  seed: int) -> Dict[str, object]:
    """Write one IJB-C miniature and its per-image ground truth
    (``element_meta.json``: identity, degraded, severity).

    Args:
        data_root (str): Folder of the set.
        args (argparse.Namespace): The demo's options.
        img_size (int): Side of the square face images.
        seed (int): The set's seed (generator and writer).

    Returns:
        dict: A summary of what was written.
    """
    from mmddl.testing import synthetic_faces as sf
    per_id = args.ijbc_templates * args.ijbc_images
    ijbc, meta = sf.make_identities(
        args.ijbc_ids,
        per_id,
        size=img_size,
        seed=seed,
        degradation_prob=args.test_degradation,
        severity=(args.test_severity, 1.0),
        return_meta=True)
    info = sf.write_ijb(
        data_root,
        ijbc,
        prefix='ijbc',
        templates_per_identity=args.ijbc_templates,
        landmarks=meta['landmarks'],
        seed=seed)
    # templates are written identity by identity, images in order
    names: Dict[int, list] = {}
    for t in info['templates'].values():
        names.setdefault(t['identity'], []).extend(t['images'])
    rows = {}
    for i, recs in enumerate(meta['degradations']):
        for name, rec in zip(names[i], recs):
            rows[name] = [i, int(bool(rec['kinds'])), rec['severity']]
    write_element_meta(osp.join(data_root, ELEMENT_META), rows)
    return dict(
        identities=args.ijbc_ids,
        templates=len(info['templates']),
        images_per_template=args.ijbc_images,
        pairs=len(info['pairs']),
        degraded_images=int(sum(r[1] for r in rows.values())),
        degradation_prob=args.test_degradation,
        severity=(args.test_severity, 1.0),
        seed=seed)


TRAIN_ARGS = ('seed', 'train_ids', 'train_images', 'train_degradation')
YTF_ARGS = ('seed', 'ytf_ids', 'ytf_frames', 'ytf_pairs', 'test_degradation',
            'test_severity')
IJBC_ARGS = ('ijbc_ids', 'ijbc_templates', 'ijbc_images', 'test_degradation',
             'test_severity')


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the face demo; return the results written to results.json.

    Args:
        argv (Sequence[str], optional): Arguments; default ``sys.argv``.
    """
    import torch
    from mmengine.config import Config

    import mmddl  # noqa: F401  (registration)
    args = parse_args(argv)
    val_seed, test_seeds = ijbc_seeds(args)
    torch.set_num_threads(args.threads)
    work = osp.abspath(args.work_dir)
    data = osp.join(work, 'data')
    hold_work_dir(work)
    demo_cfg = Config.fromfile(osp.join(repo_root(), BASE_CONFIG))
    img_size = int(demo_cfg.demo_img_size)
    timer = Timer()

    def params(keys, **extra):
        return dict({k: getattr(args, k)
                     for k in keys},
                    img_size=img_size,
                    **extra)

    def ijbc_dir(seed):
        return osp.join(data, f'ijbc_seed{seed}')

    with timer.stage('1/5 generate synthetic identities (RecordIO, YTF, '
                     'IJB-C validation and test sets)'):
        train_params = params(TRAIN_ARGS)
        summary = dict(
            train=data_stage(
                'training data', osp.join(data, 'ms1m'), train_params,
                lambda: generate_train(osp.join(data, 'ms1m'), args, img_size),
                args.force))
        if not args.skip_ytf:
            summary['ytf'] = data_stage(
                'YTF data', osp.join(data, 'ytf'), params(YTF_ARGS),
                lambda: generate_ytf(osp.join(data, 'ytf'), args, img_size),
                args.force)
        for role, seed in [('validation', val_seed)] + [('test', s)
                                                        for s in test_seeds]:
            summary[f'ijbc_seed{seed}'] = dict(
                data_stage(
                    f'IJB-C {role} data (seed {seed})', ijbc_dir(seed),
                    params(IJBC_ARGS, seed=seed),
                    functools.partial(generate_ijbc, ijbc_dir(seed), args,
                                      img_size, seed), args.force),
                role=role)
        print(summary)

    with timer.stage('2/5 train the base model (tools/train.py flow)'):
        base_dir = osp.join(work, 'base')
        base_ckpt = train_stage(
            'base model', BASE_CONFIG, base_dir, {
                'train_dataloader.dataset.data_root': osp.join(data, 'ms1m'),
                'model.head.num_classes': args.train_ids,
                'randomness.seed': args.seed,
                **epoch_options(args.base_epochs)
            }, dict(data=train_params), args.force)
    # the exact config the base was trained with (dumped by the Runner)
    base_cfg_file = osp.join(base_dir, osp.basename(BASE_CONFIG))

    with timer.stage('3/5 train the DDNet (DiscriminabilityHook + '
                     'tools/train.py flow)'):
        ddnet_opts = {
            'train_dataloader.dataset.data_root':
            osp.join(data, 'ms1m'),
            **ddnet_hook_options(base_cfg_file, base_ckpt), 'randomness.seed':
            args.seed,
            **epoch_options(args.ddnet_epochs)
        }
        ddnet_ckpt = train_stage(
            'DDNet', DDNET_CONFIG, osp.join(work, 'ddnet'), ddnet_opts,
            dict(data=train_params, base=file_sha256(base_ckpt)), args.force)

    def ijbc_options(seed):
        return {
            'test_dataloader.dataset.data_root': ijbc_dir(seed),
            'model.base.head.num_classes': args.train_ids,
            'log_level': args.test_log_level
        }

    with timer.stage('4/5 validation: DDNet ranking quality and the '
                     'operating point (IJB-C validation templates)'):
        val_opts = ijbc_options(val_seed)
        scores = element_scores(TEST_CONFIGS['ijbc'], base_ckpt, ddnet_ckpt,
                                osp.join(work, 'val', 'elements'), val_opts)
        with open(osp.join(ijbc_dir(val_seed), ELEMENT_META)) as f:
            ranking = ranking_quality(scores, json.load(f))
        print_ranking(ranking, 'validation templates')
        chosen, val = validation_choice('ijbc', TEST_CONFIGS['ijbc'],
                                        base_ckpt, ddnet_ckpt,
                                        osp.join(work, 'val'), val_opts, args,
                                        VAL_KEYS, 'template')

    methods = list(args.methods) + ['ddl_val']
    settings = {'ddl_val': chosen['settings']}
    with timer.stage('5/5 group evaluation on the test sets (tools/test.py '
                     'flow)'):
        configs = {f'ijbc_seed{s}': TEST_CONFIGS['ijbc'] for s in test_seeds}
        options = {f'ijbc_seed{s}': ijbc_options(s) for s in test_seeds}
        if not args.skip_ytf:
            configs = dict(ytf=TEST_CONFIGS['ytf'], **configs)
            options['ytf'] = {
                'test_dataloader.dataset.data_root': osp.join(data, 'ytf'),
                'model.base.head.num_classes': args.train_ids,
                'log_level': args.test_log_level
            }
        metrics, dumps = evaluate_methods(
            configs,
            base_ckpt,
            ddnet_ckpt,
            osp.join(work, 'test'),
            options,
            methods,
            settings=settings)
        ceilings = ceilings_per_test_set(
            'ijbc', TEST_CONFIGS['ijbc'], base_ckpt, ddnet_ckpt,
            osp.join(work, 'test'), {s: ijbc_dir(s)
                                     for s in test_seeds},
            {s: ijbc_options(s)
             for s in test_seeds}, args.val_topks)

    per_seed = {s: metrics.pop(f'ijbc_seed{s}') for s in test_seeds}
    ijbc = summarize_seeds(per_seed)
    metrics['ijbc'] = ijbc['mean']
    results = build_results('face', metrics, summary, vars(args),
                            TARGET_METRIC)
    results.update(
        per_seed=dict(ijbc={
            str(s): m
            for s, m in per_seed.items()
        }),
        summary=dict(ijbc=ijbc),
        seeds=dict(
            train=args.seed,
            ytf=args.seed + 1,
            validation=val_seed,
            test=test_seeds),
        ddnet_ranking=dict(validation=ranking),
        validation=dict(
            ijbc=val['metrics'], candidates=val['candidates'], chosen=chosen),
        ceilings=dict(ijbc=summarize_ceilings(per_seed, ceilings)),
        target=face_targets(per_seed, ijbc, chosen))
    if 'ytf' in metrics:
        print('\n' + format_table(TABLE_TITLES['ytf'], TABLE_COLUMNS['ytf'],
                                  metrics['ytf'], PERCENT))
    for s in test_seeds:
        print('\n' +
              format_table(f"{TABLE_TITLES['ijbc']} - test set seed {s}",
                           TABLE_COLUMNS['ijbc'], per_seed[s], PERCENT))
    print('\n' + format_summary_table(TABLE_TITLES['ijbc'],
                                      TABLE_COLUMNS['ijbc'], ijbc, PERCENT))
    print('\n' + format_ceiling_table(
        'IJB-C selection ceilings (oracles reading the test labels)',
        TABLE_COLUMNS['ijbc'][:-1], results['ceilings']['ijbc']['summary'],
        PERCENT))
    dump = dumps.get(f'ijbc_seed{test_seeds[0]}')
    if dump:
        results['figure'] = plot_group_dscores(
            dump,
            osp.join(work, 'fig3_dscore_template.png'),
            title='IJB-C template (synthetic) sorted by predicted D-score')
        print(f"\nFig. 3 style picture: {results['figure']}")
    results['timing_s'] = dict(timer.stages, total=timer.total)
    path = write_results(osp.join(work, 'results.json'), results)
    print('\n' + face_target_line(results['target']))
    print(f'results: {path}  (total {timer.total:.0f} s)')
    return results


def face_targets(per_seed: Dict[int, Dict[str, Dict[str, float]]],
                 summary: dict, chosen: dict) -> dict:
    """The face targets over the IJB-C test sets.

    DDL (t = 0.15) at least average pooling at FAR 1e-3 and 1e-4 on every
    set and above it in the mean; top-1 within 3 points of average pooling
    in the mean; the validation-chosen point on at most 60 % of the images
    with a mean TAR at least average pooling's.

    Args:
        per_seed (dict): ``{seed: {method: {metric: value}}}``.
        summary (dict): :func:`summarize_seeds` of ``per_seed``.
        chosen (dict): The validation-chosen operating point.
    """
    mean = summary['mean']
    out = pooling_targets(per_seed, summary, chosen, VAL_KEYS)
    if 'top1' in mean and 'average' in mean:
        gap = {k: mean['average'][k] - mean['top1'][k] for k in VAL_KEYS}
        out['top1_gap_to_average'] = gap
        out['top1_within_3_points'] = bool(
            all(g <= 0.03 for g in gap.values()))
    if 'ddl_val' in mean and 'average' in mean:
        share = mean['ddl_val']['base_images'] / \
            mean['average']['base_images']
        out['ddl_val_base_share'] = share
        out['ddl_val_ok'] = bool(
            share <= 0.6 and all(mean['ddl_val'][k] >= mean['average'][k]
                                 for k in VAL_KEYS))
    return out


def face_target_line(target: dict) -> str:
    """One line on the face targets.

    Args:
        target (dict): The result of :func:`face_targets`.
    """
    return targets_line(
        'targets (IJB-C, TAR@FAR=1e-3 and 1e-4)', target,
        (('ddl_ge_average_every_set', 'DDL >= average on every set'),
         ('ddl_above_average_mean', 'DDL > average in the mean'),
         ('top1_within_3_points', 'top-1 within 3 points of average'),
         ('ddl_val_ok', 'validation-chosen point <= 60 % of base images '
          'with TAR >= average')))


if __name__ == '__main__':
    main()
