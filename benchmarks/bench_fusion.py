"""Fusion overhead: time to fuse a group (``fuse`` one group at a time,
``fuse_groups`` batched), relative to the base model's time for one element.
Method and results: docs/benchmarks.md. Usage: ``python
benchmarks/bench_fusion.py --json work_dirs/bench/fusion.json``."""
import argparse
import os.path as osp

import torch
from _common import median, time_interleaved, write_json

import mmddl  # noqa: F401
from mmddl.core import fuse, fuse_groups

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
BASES = {
    'face': ('configs/face/arcface_r101_4xb128-24e_ms1m-recordio.py',
             (1, 3, 112, 112)),
    'slowfast': ('configs/recognition/'
                 'slowfast_r50_8xb8-4x16x1-256e_kinetics700-rgb.py',
                 (1, 1, 3, 32, 224, 224)),
    'i3d': ('configs/recognition/i3d_r50_8xb8-32x2x1-100e_kinetics700-rgb.py',
            (1, 1, 3, 32, 224, 224)),
    'r2plus1d': ('configs/recognition/'
                 'r2plus1d_r50_8xb8-32x2x1-180e_kinetics700-rgb.py',
                 (1, 1, 3, 32, 224, 224)),
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument(
        '--sizes',
        type=int,
        nargs='+',
        default=[10, 100, 1000, 10000],
        help='group sizes')
    p.add_argument('--dim', type=int, default=512, help='feature dim')
    p.add_argument(
        '--threshold',
        type=float,
        default=0.5,
        help='Eq. 7 threshold of the threshold variant')
    p.add_argument(
        '--topk', type=int, default=5, help='K of the top-K variant')
    p.add_argument(
        '--batch-elements',
        type=int,
        default=20000,
        help='elements per fuse_groups call (groups = this / '
        'size, at least 1)')
    p.add_argument('--base', choices=sorted(BASES), default='face')
    p.add_argument('--repeat', type=int, default=10)
    p.add_argument('--base-repeat', type=int, default=3)
    p.add_argument(
        '--threads',
        type=int,
        help='torch intra-op threads (default: torch default)')
    p.add_argument('--json', help='write the result here')
    return p.parse_args()


def base_time(name: str, repeat: int) -> dict:
    """Median seconds of one base-model forward (``extract_feat``) on one
    element, and the model's GFLOPs for it."""
    from mmengine.analysis import FlopAnalyzer
    from mmengine.config import Config
    from mmengine.registry import MODELS, DefaultScope
    cfg_file, shape = BASES[name]
    cfg = Config.fromfile(osp.join(ROOT, cfg_file))
    scope = cfg.get('default_scope', 'mmaction')
    with DefaultScope.overwrite_default_scope(scope):
        if scope == 'mmaction':
            import mmaction.models  # noqa: F401
        else:
            import mmpretrain.models  # noqa: F401
        model = MODELS.build(cfg.model).eval()
    x = torch.randn(*shape)

    def run():
        with torch.no_grad():
            return model.extract_feat(x)

    secs = time_interleaved({'base': run}, repeat)['base']

    class _Feat(torch.nn.Module):

        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, inp):
            return self.m.extract_feat(inp)

    fa = FlopAnalyzer(_Feat(model), (x, ))
    fa.unsupported_ops_warnings(False)
    fa.uncalled_modules_warnings(False)
    return dict(
        config=cfg_file,
        input_shape=list(shape),
        seconds_median=median(secs),
        gflops=fa.total() / 1e9)


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    base = base_time(args.base, args.base_repeat)
    rows = []
    for size in args.sizes:
        feats = torch.randn(size, args.dim, generator=g)
        scores = torch.rand(size, generator=g)
        groups = max(1, args.batch_elements // size)
        bf = torch.randn(groups * size, args.dim, generator=g)
        bs = torch.rand(groups * size, generator=g)
        lengths = torch.full((groups, ), size, dtype=torch.long)
        k = min(args.topk, size)
        fns = {
            'fuse_threshold':
            lambda: fuse(feats, scores, args.threshold),
            'fuse_topk':
            lambda: fuse(feats, scores, topk=k),
            'fuse_groups_threshold':
            lambda: fuse_groups(bf, bs, lengths, threshold=args.threshold),
            'fuse_groups_topk':
            lambda: fuse_groups(bf, bs, lengths, topk=k),
        }
        times = time_interleaved(fns, args.repeat)
        per_group = {
            name: median(t) / (groups if name.startswith('fuse_groups') else 1)
            for name, t in times.items()
        }
        rows.append(
            dict(
                size=size,
                groups_per_batched_call=groups,
                seconds_per_group=per_group,
                ratio_to_base_element={
                    name: t / base['seconds_median']
                    for name, t in per_group.items()
                }))
        print(f'size {size:>6d}: ' + ', '.join(f'{n} {t * 1e3:.3f} ms'
                                               for n, t in per_group.items()))
    write_json(
        args.json,
        dict(
            benchmark='fusion',
            dim=args.dim,
            threshold=args.threshold,
            topk=args.topk,
            base=dict(name=args.base, **base),
            groups=rows))


if __name__ == '__main__':
    main()
