"""Train with mmddl (mmaction2's ``tools/train.py`` shape and flags)."""
import argparse
import contextlib
import os
import os.path as osp

from mmengine.config import DictAction


def parse_args() -> argparse.Namespace:
    """Command-line options (parsed before any heavy import)."""
    parser = argparse.ArgumentParser(description='mmddl train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='If specify checkpoint path, resume from it, while if not '
        'specify, try to auto resume from the latest checkpoint '
        'in the work directory.')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='whether not to evaluate the checkpoint during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='whether to auto scale the learning rate according to the '
        'actual batch size and the original batch size.')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument(
        '--diff-rank-seed',
        action='store_true',
        help='whether or not set different seeds for different ranks')
    parser.add_argument(
        '--deterministic',
        action='store_true',
        help='whether to set deterministic options for CUDNN backend.')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b')
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
    """Merge the command-line options into the config, in mmaction2's order
    (:func:`mmddl.utils.tool_configs.merge_train_options`).

    Args:
        cfg (mmengine.Config): The loaded config.
        args (argparse.Namespace): Output of :func:`parse_args`.

    Returns:
        mmengine.Config: The updated config.
    """
    from mmddl.utils.tool_configs import ToolOptionError, merge_train_options
    try:
        return merge_train_options(
            cfg,
            args.config,
            work_dir=args.work_dir,
            cfg_options=args.cfg_options,
            resume=args.resume,
            amp=args.amp,
            auto_scale_lr=args.auto_scale_lr,
            no_validate=args.no_validate,
            seed=args.seed,
            diff_rank_seed=args.diff_rank_seed,
            deterministic=args.deterministic,
            launcher=args.launcher)
    except ToolOptionError as err:
        raise SystemExit(str(err)) from None


def main() -> None:
    args = parse_args()
    from mmengine.config import Config
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    import mmddl  # noqa: F401  (compatibility fixes before any config)
    from mmddl.engine import WorkDirLock

    cfg = merge_args(Config.fromfile(args.config), args)
    # one run per work_dir: a second concurrent run would share its log
    # file and its checkpoints (rank 0 holds the lock for the job)
    rank = os.environ.get('RANK', os.environ.get('SLURM_PROCID', '0'))
    lock = WorkDirLock(osp.join(cfg.work_dir, 'train.lock'),
                       what=f'work_dir {cfg.work_dir}') \
        if rank == '0' else contextlib.nullcontext()
    with lock:
        runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg \
            else RUNNERS.build(cfg)
        runner.train()


if __name__ == '__main__':
    main()
