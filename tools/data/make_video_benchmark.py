"""Write the synthetic untrimmed-video benchmark (see docs/video_data.md).

Example::

    python tools/data/make_video_benchmark.py --out data/synthetic_video \
        --seed 0 --num-classes 6 --train-per-class 20 --test-per-class 10
"""
import argparse
import json
import sys
from typing import List, Optional

from mmddl.testing.synthetic_video import BenchmarkConfig, make_video_benchmark


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    d = BenchmarkConfig()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', required=True, help='output directory')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--num-classes', type=int, default=d.num_classes)
    p.add_argument('--train-per-class', type=int, default=d.train_per_class)
    p.add_argument('--test-per-class', type=int, default=d.test_per_class)
    p.add_argument('--num-frames', type=int, default=d.num_frames)
    p.add_argument(
        '--frame-size',
        type=int,
        nargs=2,
        default=d.frame_size,
        metavar=('H', 'W'))
    p.add_argument('--fps', type=int, default=d.fps)
    p.add_argument(
        '--class-fraction',
        type=float,
        nargs=2,
        default=d.class_fraction,
        metavar=('LO', 'HI'))
    p.add_argument(
        '--confuser-fraction',
        type=float,
        nargs=2,
        default=d.confuser_fraction,
        metavar=('LO', 'HI'))
    p.add_argument('--min-segment', type=int, default=d.min_segment)
    p.add_argument('--max-segment', type=int, default=d.max_segment)
    p.add_argument(
        '--overwrite',
        action='store_true',
        help='replace a benchmark already in --out')
    p.add_argument(
        '--no-verify',
        action='store_true',
        help='skip reading every video back with decord')
    p.add_argument(
        '--no-trimmed',
        action='store_true',
        help='do not write the class segments as trimmed videos')
    p.add_argument('--no-progress', action='store_true')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    cfg = BenchmarkConfig(
        num_classes=args.num_classes,
        train_per_class=args.train_per_class,
        test_per_class=args.test_per_class,
        num_frames=args.num_frames,
        frame_size=tuple(args.frame_size),
        fps=args.fps,
        class_fraction=tuple(args.class_fraction),
        confuser_fraction=tuple(args.confuser_fraction),
        min_segment=args.min_segment,
        max_segment=args.max_segment)
    summary = make_video_benchmark(
        args.out,
        seed=args.seed,
        cfg=cfg,
        overwrite=args.overwrite,
        verify=not args.no_verify,
        trimmed=not args.no_trimmed,
        progress=not args.no_progress)
    print(f'\nwrote {summary["num_train"]} train + {summary["num_val"]} val '
          f'videos of {summary["num_classes"]} classes (+ '
          f'{summary["num_trimmed"]} trimmed) to {args.out} in '
          f'{summary["seconds"]} s ({summary["bytes"] / 1e6:.1f} MB)')
    print(json.dumps(summary, indent=1))
    return summary


if __name__ == '__main__':
    main(sys.argv[1:])
