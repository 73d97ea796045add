"""One dense pass of a DDL config over its test set, then every operating
point offline (random / uniform / dense / top-1 / DDL over K and t), and
optionally the point that fits a compute budget, chosen on a validation
split.

    python tools/analysis/ddl_sweep.py CONFIG BASE_CKPT \\
        --ddnet-checkpoint DDNET_CKPT --out DIR [--budget-ratio 0.2 \\
        --val-cfg-options test_dataloader.dataset.ann_file=VAL_LIST]
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options (parsed before any heavy import).

    Args:
        argv (list[str], optional): Arguments; default ``sys.argv``.
    """
    parser = argparse.ArgumentParser(
        description='DDL sweep: accuracy vs GFLOPs of every operating point '
        'from one dense pass')
    parser.add_argument('config', help='DDL test config file path')
    parser.add_argument('checkpoint', help='the BASE model checkpoint')
    parser.add_argument(
        '--ddnet-checkpoint', help='DDNet checkpoint (overrides the config)')
    parser.add_argument(
        '--out', required=True, help='output folder (dump, sweep.json, PNG)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value (as tools/test.py)')
    parser.add_argument(
        '--topk',
        type=int,
        nargs='+',
        default=[1, 2, 3, 5, 10],
        help='K grid of random / uniform / DDL (values >= the largest group '
        'are dropped)')
    parser.add_argument(
        '--thresholds',
        type=float,
        nargs='+',
        help='t grid of DDL (default: the D-score deciles of the test set)')
    parser.add_argument(
        '--metric',
        help='metric to plot and to maximise under a budget (default: top1, '
        'mAP, kfold_acc or the TAR / TPR at the smallest FAR / FPR)')
    val = parser.add_mutually_exclusive_group()
    val.add_argument(
        '--val-ann-file',
        help='validation list for the budget: replaces the test dataset\'s '
        'ann_file (and, for a video list, data_prefix.video by its folder)')
    val.add_argument(
        '--val-cfg-options',
        nargs='+',
        action=DictAction,
        help='settings pointing the test data loader at the validation '
        'split (applied after --cfg-options)')
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument(
        '--budget-gflops',
        type=float,
        help='budget in GFLOPs per group: choose K or t on the validation '
        'split')
    budget.add_argument(
        '--budget-ratio',
        type=float,
        help='budget as a fraction of dense GFLOPs (validation split)')
    args = parser.parse_args(argv)
    if min(args.topk) < 1:
        parser.error(f'--topk values must be >= 1, got {args.topk}')
    if (args.budget_gflops is not None or args.budget_ratio is not None) \
            and not (args.val_ann_file or args.val_cfg_options):
        parser.error('a budget needs a validation split: --val-ann-file or '
                     '--val-cfg-options')
    return args


def val_options(args: argparse.Namespace, task: str) -> dict:
    """``--cfg-options`` of the validation sweep.

    Args:
        args (argparse.Namespace): Parsed options.
        task (str): ``'video'``, ``'face'`` or ``'reid'``.
    """
    opts = dict(args.cfg_options or {})
    if args.val_ann_file:
        if not osp.isfile(args.val_ann_file):
            raise SystemExit(f'--val-ann-file {args.val_ann_file} not found')
        opts['test_dataloader.dataset.ann_file'] = args.val_ann_file
        if task == 'video':
            opts['test_dataloader.dataset.data_prefix.video'] = osp.dirname(
                osp.abspath(args.val_ann_file))
    opts.update(args.val_cfg_options or {})
    return opts


def main(argv=None) -> dict:
    """Run the sweep (and the budget choice); print the table.

    Args:
        argv (list[str], optional): Arguments; default ``sys.argv``.
    """
    args = parse_args(argv)
    from mmddl.engine.lock import WorkDirLock

    os.makedirs(args.out, exist_ok=True)
    with WorkDirLock(
            osp.join(args.out, 'sweep.lock'),
            what=f'the sweep output folder {args.out}',
            advice='give this run another --out'):
        return _sweep(args)


def _sweep(args) -> dict:
    """:func:`main` with its output folder locked.

    Args:
        args (argparse.Namespace): Parsed options.
    """
    from mmddl.analysis import budget_report, run_sweep
    from mmddl.analysis.report import plot_sweep, sweep_table
    from mmddl.analysis.sweep import sweep_notes

    test = run_sweep(args.config, args.checkpoint, args.out,
                     args.ddnet_checkpoint, args.cfg_options, args.topk,
                     args.thresholds, args.metric)
    sweep = test.result
    print(f"\nSweep of {args.config} ({sweep['num_groups']} groups, "
          f"{sweep['num_elements']} elements):\n" + sweep_table(sweep))
    notes = sweep_notes(sweep)
    if notes:
        print('\n' + notes)
    picked = None
    if args.budget_gflops is not None or args.budget_ratio is not None:
        val = run_sweep(args.config, args.checkpoint,
                        osp.join(args.out, 'val'), args.ddnet_checkpoint,
                        val_options(args, sweep['task']), sweep['topks'],
                        sweep['thresholds'], sweep['main_metric']).result
        picked = budget_report(test, val, args.out, args.budget_gflops,
                               args.budget_ratio)
        print(f"\nBudget {picked['budget']:.4g} GFLOPs per group "
              f"(validation): {picked['method']} {picked['point']}, "
              f"validation {picked['metric']} "
              f"{100 * picked['val_value']:.2f} at "
              f"{picked['val_gflops_ratio']:.3f} of dense; test "
              f"{100 * picked['test_value']:.2f} at "
              f"{picked['test_gflops_ratio']:.3f} of dense (dense "
              f"{100 * picked['test_dense_value']:.2f})\n"
              f"  {picked['cfg_options']}\n"
              f"  config snippet: {osp.join(args.out, 'budget_cfg.py')}")
    png = plot_sweep(sweep, osp.join(args.out, 'accuracy_vs_gflops.png'),
                     picked)
    print(f'\nsweep: {osp.join(args.out, "sweep.json")}\nplot:  {png}')
    return dict(sweep=sweep, budget=picked)


if __name__ == '__main__':
    main()
