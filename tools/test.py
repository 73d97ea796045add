"""Test a model with mmddl (mmaction2's ``tools/test.py`` shape and flags).

For a DDL wrapper (``DDLRecognizer``, ``DDLGroupEncoder``) the positional
checkpoint is the BASE model's; the DDNet's comes from the config or
``--ddnet-checkpoint``. Any other model loads the checkpoint whole.
"""
import argparse
import os

from mmengine.config import DictAction


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
    """Merge the command-line options into the config
    (:func:`mmddl.utils.tool_configs.merge_test_options`).

    Args:
        cfg (mmengine.Config): The loaded config.
        args (argparse.Namespace): Output of :func:`parse_args`.

    Returns:
        mmengine.Config: The updated config.
    """
    from mmddl.utils.tool_configs import ToolOptionError, merge_test_options
    try:
        return merge_test_options(
            cfg,
            args.config,
            args.checkpoint,
            ddnet_checkpoint=args.ddnet_checkpoint,
            work_dir=args.work_dir,
            cfg_options=args.cfg_options,
            dump=args.dump,
            show=args.show,
            show_dir=args.show_dir,
            interval=args.interval,
            wait_time=args.wait_time,
            launcher=args.launcher)
    except ToolOptionError as err:
        raise SystemExit(str(err)) from None


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
