"""Test a model with mmddl (mmaction2's ``tools/test.py`` shape and flags).

For a DDL wrapper (``DDLRecognizer``, ``DDLGroupEncoder``) the positional
checkpoint is the BASE model's; the DDNet's comes from the config or
``--ddnet-checkpoint``. Any other model loads the checkpoint whole.
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction

DDL_MODELS = ('DDLRecognizer', 'DDLGroupEncoder')
#: Aggregator modes that run the DDNet (and so need its weights).
DDNET_MODES = ('ddl', 'ddl_norescale', 'top1')


def parse_args() -> argparse.Namespace:
    """Command-line options (parsed before any heavy import)."""
    parser = argparse.ArgumentParser(
        description='mmddl test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint',
        help='checkpoint file (the BASE model for a DDL wrapper)')
    parser.add_argument(
        '--ddnet-checkpoint',
        help='DDNet checkpoint of a DDL wrapper (overrides the config)')
    parser.add_argument(
        '--work-dir',
        help='the directory to save the file containing evaluation metrics')
    parser.add_argument(
        '--dump',
        type=str,
        help='dump predictions to a pickle file for offline evaluation')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b')
    parser.add_argument(
        '--show-dir',
        help='directory where the visualization images will be saved.')
    parser.add_argument(
        '--show',
        action='store_true',
        help='whether to display the prediction results in a window.')
    parser.add_argument(
        '--interval',
        type=int,
        default=1,
        help='visualize per interval samples.')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=2,
        help='display time of every window. (second)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg, args: argparse.Namespace):
    """Merge the command-line options into the config.

    ``--cfg-options`` is applied first, then visualization and ``--dump``:
    unlike mmaction2's tool (dump first), an evaluator override such as
    ``test_evaluator.ranks=[1,5]`` still addresses the config's evaluator,
    and the dump metric is appended to the overridden one.

    Args:
        cfg (mmengine.Config): The loaded config.
        args (argparse.Namespace): Output of :func:`parse_args`.

    Returns:
        mmengine.Config: The updated config.
    """
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.show or args.show_dir is not None:
        if 'visualization' not in cfg.get('default_hooks', {}):
            raise SystemExit(
                '--show / --show-dir need a VisualizationHook: set '
                'default_hooks.visualization=dict(type="VisualizationHook") '
                'in the config')
        vis = cfg.default_hooks.visualization
        vis.enable = True
        vis.show = args.show
        vis.wait_time = args.wait_time
        vis.out_dir = args.show_dir
        vis.interval = args.interval
    if args.dump is not None:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise SystemExit(f'--dump must be a .pkl or .pickle file, got '
                             f'{args.dump!r}')
        dump = dict(type='DumpResults', out_file_path=args.dump)
        if isinstance(cfg.test_evaluator, (list, tuple)):
            cfg.test_evaluator = list(cfg.test_evaluator) + [dump]
        else:
            cfg.test_evaluator = [cfg.test_evaluator, dump]
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if cfg.model.get('type') in DDL_MODELS:
        cfg.model.base_checkpoint = args.checkpoint
        if args.ddnet_checkpoint is not None:
            cfg.model.ddnet_checkpoint = args.ddnet_checkpoint
        mode = cfg.model.get('aggregator', {}).get('mode', 'ddl')
        if not cfg.model.get('ddnet_checkpoint') and mode in DDNET_MODES:
            raise SystemExit(
                f'aggregator mode {mode!r} needs a trained DDNet: set '
                'model.ddnet_checkpoint in the config or pass '
                '--ddnet-checkpoint')
    else:
        cfg.load_from = args.checkpoint
    return cfg


def main() -> None:
    args = parse_args()
    from mmengine.config import Config
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    import mmddl  # noqa: F401  (compatibility fixes before any config)

    cfg = merge_args(Config.fromfile(args.config), args)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg \
        else RUNNERS.build(cfg)
    runner.test()


if __name__ == '__main__':
    main()
