"""Draw D-score galleries (paper Fig. 3) and per-class histograms.

From a score table (the training elements, ``--score-table F --config
CFG``) and / or a sweep dump of ``tools/analysis/ddl_sweep.py`` (the test
groups, ``--dump DIR``). Writes ``gallery_train.png`` / ``hist_train.png``
and ``gallery_test.png`` / ``hist_test.png`` into ``--out``.
"""
import argparse
import os
import os.path as osp


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options (parsed before any heavy import)."""
    p = argparse.ArgumentParser(
        description='D-score galleries and histograms of a score table '
        'and / or a sweep dump')
    p.add_argument(
        '--score-table',
        help='dscore_table.npz of the DDNet '
        'training (the training elements)')
    p.add_argument(
        '--config',
        help='the config the table was computed '
        'with (its train data set; needed for image tables)')
    p.add_argument(
        '--dump',
        help='sweep dump folder of '
        'tools/analysis/ddl_sweep.py (the test groups)')
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument(
        '--groups',
        nargs='+',
        help='group ids (or video file '
        'names) to draw; default: --num-groups random ones')
    p.add_argument(
        '--num-groups',
        type=int,
        default=4,
        help='random groups drawn (default 4)')
    p.add_argument('--seed', type=int, default=0, help='seed of the draw')
    keep = p.add_mutually_exclusive_group()
    keep.add_argument(
        '--thr',
        type=float,
        help='mark the elements DDL keeps at this threshold')
    keep.add_argument(
        '--topk', type=int, help='mark the K elements of highest D-score')
    p.add_argument(
        '--max-elements',
        type=int,
        default=10,
        help='elements drawn per group: the best and the worst '
        'halves (default 10)')
    p.add_argument(
        '--group-by',
        help='data-info field grouping the images '
        'of an image table (default gt_label; e.g. track_row)')
    p.add_argument('--classes', help='class names, one a line')
    p.add_argument(
        '--strip-frames',
        type=int,
        default=4,
        help='frames drawn per video clip (default 4)')
    p.add_argument(
        '--tile-height',
        type=int,
        default=64,
        help='picture height in pixels (default 64)')
    args = p.parse_args(argv)
    if args.score_table is None and args.dump is None:
        p.error('give --score-table (with --config) and / or --dump')
    return args


def main(argv=None) -> dict:
    """Write the PNGs; return ``{name: path}``."""
    args = parse_args(argv)
    from mmddl.structures import ScoreTable
    from mmddl.visualization.elements import (dump_groups, dump_labels,
                                              load_class_names, read_dump,
                                              table_groups)
    from mmddl.visualization.gallery import draw_gallery
    from mmddl.visualization.histograms import class_histograms
    os.makedirs(args.out, exist_ok=True)
    names = load_class_names(args.classes)
    keep = (f', kept: D >= {args.thr}' if args.thr is not None else
            f', kept: top {args.topk}' if args.topk is not None else '')
    common = dict(
        wanted=args.groups,
        num_groups=args.num_groups,
        seed=args.seed,
        class_names=names,
        strip_frames=args.strip_frames)
    draw = dict(
        thr=args.thr,
        topk=args.topk,
        max_elements=args.max_elements,
        tile_height=args.tile_height)
    written = {}
    if args.score_table is not None:
        table = ScoreTable.load(args.score_table)
        groups = table_groups(
            table,
            args.config,
            args.group_by,
            max_elements=args.max_elements,
            **common)
        written['gallery_train'] = draw_gallery(
            groups,
            osp.join(args.out, 'gallery_train.png'),
            title=f'training elements by table D-score '
            f'({osp.basename(args.score_table)}{keep})',
            **draw)
        written['hist_train'] = class_histograms(
            [('raw D (Eq. 3), training', table.raw, table.labels),
             ('D-score (Eq. 4), training', table.dscores, table.labels)],
            osp.join(args.out, 'hist_train.png'),
            names,
            title=f'{len(table)} training elements of {table.num_samples} '
            'samples')
    if args.dump is not None:
        groups = dump_groups(args.dump, **common)
        written['gallery_test'] = draw_gallery(
            groups,
            osp.join(args.out, 'gallery_test.png'),
            title=f'test groups by DDNet D-score{keep}',
            **draw)
        ptr, scores, meta = read_dump(args.dump)
        labels = dump_labels(ptr, meta)
        written['hist_test'] = class_histograms(
            [('DDNet D-score, test', scores, labels)],
            osp.join(args.out, 'hist_test.png'),
            names,
            title=f'{scores.size} test elements of {len(ptr) - 1} groups' +
            ('' if (labels >= 0).all() else ' (-1: no label recorded)'))
    for name, path in written.items():
        print(f'{name}: {path}')
    return written


if __name__ == '__main__':
    main()
