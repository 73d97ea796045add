"""Evaluate a base model with the DDL sampler / aggregator (or a baseline).

``python tools/test.py CONFIG BASE_CHECKPOINT [--ddnet-checkpoint PATH]``

For a DDL test-time model (``DDLRecognizer`` for video, ``DDLGroupEncoder``
for face / re-ID) the positional checkpoint is the BASE model's checkpoint
and the DDNet's comes from ``model.ddnet_checkpoint`` in the config or from
``--ddnet-checkpoint``. For any other model the checkpoint is loaded into the
whole model, as mmaction2's ``tools/test.py`` does. The baselines are a config
switch: ``--cfg-options model.aggregator.mode=dense`` (or ``uniform``,
``random``, ``ddl_norescale``, ``top1``).
"""
import argparse
import os
import os.path as osp

import mmddl  # noqa: F401  (compatibility fixes + registration)
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

DDL_MODELS = ('DDLRecognizer', 'DDLGroupEncoder')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a model (mmddl)')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='base model checkpoint file')
    parser.add_argument('--ddnet-checkpoint',
                        help='DDNet checkpoint (overrides the config)')
    parser.add_argument('--work-dir', help='the dir to save logs and results')
    parser.add_argument('--dump', type=str,
                        help='dump predictions to a pickle file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value (xxx=yyy format)')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command-line options to the config."""
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if cfg.model.get('type') in DDL_MODELS:
        cfg.model.base_checkpoint = args.checkpoint
        if args.ddnet_checkpoint is not None:
            cfg.model.ddnet_checkpoint = args.ddnet_checkpoint
        if not cfg.model.get('ddnet_checkpoint') and \
                cfg.model.get('aggregator', {}).get('mode', 'ddl') in (
                    'ddl', 'ddl_norescale', 'top1'):
            raise SystemExit(
                'DDL needs a trained DDNet: set model.ddnet_checkpoint in the '
                'config or pass --ddnet-checkpoint')
    else:
        cfg.load_from = args.checkpoint
    if args.dump is not None:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise SystemExit('--dump must be a .pkl or .pickle file')
        dump = dict(type='DumpResults', out_file_path=args.dump)
        evaluator = cfg.test_evaluator
        if isinstance(evaluator, dict):
            cfg.test_evaluator = [evaluator, dump]
        else:
            cfg.test_evaluator = list(evaluator) + [dump]
    return cfg


def main() -> None:
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    runner = Runner.from_cfg(cfg)
    runner.test()


if __name__ == '__main__':
    main()
