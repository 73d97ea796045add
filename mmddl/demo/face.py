"""The face demo (``make demo TASK=face``): YTF and IJB-C miniatures.

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

CONFIG_DIR = 'configs/face/demo'
BASE_CONFIG = f'{CONFIG_DIR}/arcface_r18-tiny_1xb64-8e_synth-recordio.py'
DDNET_CONFIG = (f'{CONFIG_DIR}/'
                'ddnet_r18cd_arcface-r18-tiny-dscore-15e_synth-recordio.py')
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
    add_run_args(p)
    return p.parse_args(argv)


def generate_data(data_root: str, args: argparse.Namespace,
                  img_size: int) -> Dict[str, object]:
    """Write the training RecordIO and the YTF / IJB-C test sets.

    Training and test identities are drawn from different seeds (disjoint).

    Args:
        data_root (str): Folder of the three data sets.
        args (argparse.Namespace): The demo's options.
        img_size (int): Side of the square face images.

    Returns:
        dict: A summary of what was written (counts per set).
    """
    from mmddl.testing import synthetic_faces as sf
    train = sf.make_identities(
        args.train_ids,
        args.train_images,
        size=img_size,
        seed=args.seed,
        degradation_prob=args.train_degradation)
    sf.write_recordio(osp.join(data_root, 'ms1m'), train)
    ytf = sf.make_identities(
        args.ytf_ids,
        2 * args.ytf_frames,
        size=img_size,
        seed=args.seed + 1,
        degradation_prob=args.test_degradation,
        severity=(args.test_severity, 1.0))
    ytf_info = sf.write_ytf(
        osp.join(data_root, 'ytf'),
        ytf,
        videos_per_identity=2,
        pairs_per_split=args.ytf_pairs,
        seed=args.seed)
    per_id = args.ijbc_templates * args.ijbc_images
    ijbc, meta = sf.make_identities(
        args.ijbc_ids,
        per_id,
        size=img_size,
        seed=args.seed + 2,
        degradation_prob=args.test_degradation,
        severity=(args.test_severity, 1.0),
        return_meta=True)
    ijbc_info = sf.write_ijb(
        osp.join(data_root, 'ijbc'),
        ijbc,
        prefix='ijbc',
        templates_per_identity=args.ijbc_templates,
        landmarks=meta['landmarks'],
        seed=args.seed)
    return dict(
        train=dict(
            identities=args.train_ids,
            images=args.train_ids * args.train_images,
            degradation_prob=args.train_degradation,
            format='insightface RecordIO (train.rec/.idx/property)'),
        ytf=dict(
            identities=args.ytf_ids,
            videos=len(ytf_info['videos']),
            frames_per_video=args.ytf_frames,
            pairs=len(ytf_info['pairs']),
            degradation_prob=args.test_degradation,
            severity=(args.test_severity, 1.0)),
        ijbc=dict(
            identities=args.ijbc_ids,
            templates=len(ijbc_info['templates']),
            images_per_template=args.ijbc_images,
            pairs=len(ijbc_info['pairs']),
            degradation_prob=args.test_degradation,
            severity=(args.test_severity, 1.0)))


DATA_ARGS = ('seed', 'train_ids', 'train_images', 'train_degradation',
             'ytf_ids', 'ytf_frames', 'ytf_pairs', 'ijbc_ids',
             'ijbc_templates', 'ijbc_images', 'test_degradation',
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
    torch.set_num_threads(args.threads)
    work = osp.abspath(args.work_dir)
    data = osp.join(work, 'data')
    os.makedirs(work, exist_ok=True)
    demo_cfg = Config.fromfile(osp.join(repo_root(), BASE_CONFIG))
    img_size = int(demo_cfg.demo_img_size)
    timer = Timer()

    with timer.stage('1/4 generate synthetic identities (RecordIO, YTF, '
                     'IJB-C)'):
        params = dict({k: getattr(args, k)
                       for k in DATA_ARGS},
                      img_size=img_size)
        summary = data_stage('data', data, params,
                             lambda: generate_data(data, args, img_size),
                             args.force)
        print(summary)

    with timer.stage('2/4 train the base model (tools/train.py flow)'):
        base_dir = osp.join(work, 'base')
        base_ckpt = train_stage(
            'base model', BASE_CONFIG, base_dir, {
                'train_dataloader.dataset.data_root': osp.join(data, 'ms1m'),
                'model.head.num_classes': args.train_ids,
                'randomness.seed': args.seed,
                **epoch_options(args.base_epochs)
            }, dict(data=params), args.force)
    # the exact config the base was trained with (dumped by the Runner)
    base_cfg_file = osp.join(base_dir, osp.basename(BASE_CONFIG))

    with timer.stage('3/4 train the DDNet (DiscriminabilityHook + '
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
            dict(data=params, base=file_sha256(base_ckpt)), args.force)

    with timer.stage('4/4 group evaluation (tools/test.py flow)'):
        options = {
            name: {
                'test_dataloader.dataset.data_root': osp.join(data, name),
                'model.base.head.num_classes': args.train_ids,
                'log_level': args.test_log_level
            }
            for name in TEST_CONFIGS
        }
        metrics, dumps = evaluate_methods(TEST_CONFIGS, base_ckpt, ddnet_ckpt,
                                          osp.join(work, 'test'), options,
                                          args.methods)

    results = build_results('face', metrics, summary, vars(args),
                            TARGET_METRIC)
    for name in metrics:
        print('\n' + format_table(TABLE_TITLES[name], TABLE_COLUMNS[name],
                                  metrics[name], PERCENT))
    if 'ijbc' in dumps:
        results['figure'] = plot_group_dscores(
            dumps['ijbc'],
            osp.join(work, 'fig3_dscore_template.png'),
            title='IJB-C template (synthetic) sorted by predicted D-score')
        print(f"\nFig. 3 style picture: {results['figure']}")
    results['timing_s'] = dict(timer.stages, total=timer.total)
    path = write_results(osp.join(work, 'results.json'), results)
    print('\n' + target_line(results['target']))
    print(f'results: {path}  (total {timer.total:.0f} s)')
    return results


if __name__ == '__main__':
    main()
