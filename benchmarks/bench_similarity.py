"""Similarity step of the D-score pass: speed relative to ``torch.mm`` and
deviation from float64.

The step scores N elements against K centroids of dimension d (2 N K d
FLOPs). Each variant's GFLOP/s is divided by ``torch.mm`` GFLOP/s on the same
shapes, measured interleaved in the same run (``ratio_to_mm``):

  * ``search_fp32``: :class:`mmddl.core.discriminability.HardestNegativeSearch`
    with float32 rows and search, as the pass runs it;
  * ``search_fp64``: the same with a float64 search;
  * ``--half``: float16 / bfloat16 searches.

``--deviation`` compares raw D with a float64 reference (dense cosines /
direct distances) for cosine and euclidean, for every search dtype, and for
the search without the exact re-check (``argmax_only``: the best search
score's centroid, refined in float64; ``centred`` with centring first).

Usage:
    python benchmarks/bench_similarity.py --deviation --json sim.json
"""
import argparse

import torch
import torch.nn.functional as F
from _common import median, time_interleaved, write_json

import mmddl  # noqa: F401
from mmddl.core.discriminability import (HardestNegativeSearch,
                                         discriminability,
                                         discriminability_ratio)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--n', type=int, default=4096, help='elements N')
    p.add_argument('--k', type=int, default=16384, help='classes K')
    p.add_argument('--d', type=int, default=512, help='feature dim d')
    p.add_argument('--row-chunk', type=int, default=4096)
    p.add_argument('--block-size', type=int, default=16384)
    p.add_argument('--repeat', type=int, default=5)
    p.add_argument(
        '--metric', default='cosine', choices=['cosine', 'euclidean'])
    p.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument(
        '--half',
        action='store_true',
        help='also time float16 / bfloat16 searches')
    p.add_argument(
        '--deviation',
        action='store_true',
        help='deviation of D from float64, both metrics')
    p.add_argument(
        '--threads',
        type=int,
        help='torch intra-op threads (default: torch default)')
    p.add_argument('--json', help='write the result here')
    return p.parse_args()


def make_data(n: int, k: int, d: int, device: str, offset: float = 0.0):
    """Clustered features and K centroids (class means plus the mean noise
    of ~60 elements, so hardest negatives are close calls); ``offset`` adds
    a common vector of that norm (features far from the origin)."""
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, k, (n, ), generator=g)
    means = torch.randn(k, d, generator=g)
    f = means[y] + 1.5 * torch.randn(n, d, generator=g)
    c = means + 1.5 / 60**0.5 * torch.randn(k, d, generator=g)
    if offset:
        shift = offset * F.normalize(torch.randn(d, generator=g), dim=0)
        f, c = 0.01 * f + shift, 0.01 * c + shift
    return f.to(device), y.to(device), c.to(device)


def reference(f, y, c, metric):
    """float64 D from dense cosines / direct (non-expanded) distances."""
    f, c = f.double(), c.double()
    rows = torch.arange(len(f), device=f.device)
    if metric == 'cosine':
        s = F.normalize(f, dim=1) @ F.normalize(c, dim=1).T
        pos = s[rows, y].clone()
        s[rows, y] = -float('inf')
        return discriminability_ratio(pos, s.amax(1), metric)
    d2 = torch.cdist(f, c, compute_mode='donot_use_mm_for_euclid_dist')**2
    pos = d2[rows, y].clone()
    d2[rows, y] = float('inf')
    return discriminability_ratio(pos, d2.amin(1), metric)


def argmax_only(f, y, c, metric, dtype, centred):
    """The search without re-check: the best ``dtype`` score's centroid,
    its cosine / distance then taken in float64."""
    f64, c64 = f.double(), c.double()
    rows = torch.arange(len(f), device=f.device)
    if metric == 'cosine':
        s = (f.to(dtype) @ F.normalize(c64, dim=1).to(dtype).T).float()
    else:
        mu = c64.mean(0) if centred else 0
        q, cc = (f64 - mu).to(dtype), (c64 - mu).to(dtype)
        s = torch.addmm(-(cc.float()**2).sum(1).to(dtype) / 2, q, cc.T).float()
    s[rows, y] = -float('inf')
    neg = s.argmax(1)
    ref = reference(f, y, c, metric)  # only for the positive term
    if metric == 'cosine':
        cos = (F.normalize(c64[neg], dim=1) * f64).sum(1) / f64.norm(dim=1)
        pos = (F.normalize(c64[y], dim=1) * f64).sum(1) / f64.norm(dim=1)
        return discriminability_ratio(pos, cos, metric), ref
    pos = ((c64[y] - f64)**2).sum(1)
    return discriminability_ratio(pos, ((c64[neg] - f64)**2).sum(1),
                                  metric), ref


def deviation(n: int, k: int, d: int, device: str) -> dict:
    """Per metric and search: max / median relative deviation of raw D and
    the fraction of rows that differ (> 1e-12 relative) from float64."""
    out = {}
    for metric, offset in (('cosine', 0.0), ('euclidean', 30.0)):
        f, y, c = make_data(n, k, d, device, offset)
        ref = reference(f, y, c, metric)
        res = {}

        def stats(dv):
            rel = (dv.double().cpu() - ref.cpu()).abs() / ref.abs().cpu()
            return dict(
                max_rel=float(rel.max()),
                median_rel=float(rel.median()),
                frac_changed=float((rel > 1e-12).float().mean()))

        for sd in ('float64', 'float32', 'float16', 'bfloat16'):
            res[f'search_{sd}'] = stats(
                discriminability(
                    f.double(), y, c.double(), metric, search_dtype=sd))
        for centred in (False, True):
            for dt in (torch.float32, torch.float16):
                if metric == 'cosine' and centred:
                    continue
                name = f'argmax_only_{str(dt)[6:]}' + \
                    ('_centred' if centred else '')
                res[name] = stats(argmax_only(f, y, c, metric, dt, centred)[0])
        own = (f - c[y]).norm(dim=1)
        res['data'] = dict(
            feature_norm=float(f.norm(dim=1).mean()),
            own_distance=float(own.mean()))
        out[metric] = res
    return out


def run_search(search, f, y, row_chunk):
    for lo in range(0, f.shape[0], row_chunk):
        search.discriminability(f[lo:lo + row_chunk], y[lo:lo + row_chunk])


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    f, y, c = make_data(args.n, args.k, args.d, args.device)
    flops = 2.0 * args.n * args.k * args.d
    fn, cn = F.normalize(f, dim=1), F.normalize(c, dim=1)
    dtypes = ['float32', 'float64'
              ] + (['float16', 'bfloat16'] if args.half else [])
    fns, pairs = {}, {}
    for sd in dtypes:
        s = HardestNegativeSearch(c, args.metric, sd, args.block_size, dev)
        fns[f'search_{sd}'] = (lambda s=s: run_search(s, f, y, args.row_chunk))
        ref = f'mm_{sd}'
        if ref not in fns:
            a, b = fn.to(getattr(torch, sd)), cn.to(getattr(torch, sd))
            fns[ref] = (lambda a=a, b=b: torch.mm(a, b.T))
        pairs[f'search_{sd}'] = ref
    times = time_interleaved(fns, args.repeat, device=dev)
    secs = {k: median(v) for k, v in times.items()}
    gflops = {k: flops / s / 1e9 for k, s in secs.items()}
    result = dict(
        benchmark='similarity',
        metric=args.metric,
        shape=dict(n=args.n, k=args.k, d=args.d),
        row_chunk=args.row_chunk,
        block_size=args.block_size,
        device=str(dev),
        repeat=args.repeat,
        gflop_per_call=flops / 1e9,
        seconds_median=secs,
        gflops=gflops,
        ratio_to_mm={
            k: gflops[k] / gflops[r]
            for k, r in pairs.items()
        },
        ratio_reference=pairs)
    if args.deviation:
        result['deviation_from_fp64'] = deviation(
            min(args.n, 2048), min(args.k, 4096), args.d, args.device)
    write_json(args.json, result)


if __name__ == '__main__':
    main()
