"""Similarity step of the D-score pass in GFLOP/s, relative to ``torch.mm``.

The step scores N elements against K class centroids of dimension d: the
N x K similarity (2 N K d FLOPs, counting a multiply-add as 2), the own-class
mask, the running hardest negative and the ratio of Eq. 2-3. Each variant's
GFLOP/s is divided by ``torch.mm`` GFLOP/s on the same (N, d) x (d, K) shapes,
same dtype, same machine, measured interleaved in the same run
(``ratio_to_mm``; target >= 0.7 on the CPU for the pass's search).

Variants (the centroid preparation of the blocked search, done once per
pass, is timed apart as ``centroid_preparation_s``):
  * ``blocked_fp32``: ``mmddl.engine.fast_similarity.HardestNegativeSearch``
    with float32 features and search (the fp32 fast path);
  * ``pass_default``: what ``compute_score_table_sharded`` runs: float32 rows
    from disk, float64 positives / refinement / ratio, float32 search;
  * ``core_fp32`` / ``core_fp64``: :func:`mmddl.core.discriminability`
    (one ``chunk x K`` block at a time, in the input dtype);
  * ``--half``: float16 / bfloat16 searches (GPU only by default; their
    deviation from fp32 is measured by ``--deviation``).

Usage:
    python benchmarks/bench_similarity.py --json work_dirs/bench/sim.json
"""
import argparse
import time

import torch
import torch.nn.functional as F

import mmddl  # noqa: F401
from mmddl.core import discriminability
from mmddl.engine.fast_similarity import (HardestNegativeSearch,
                                          blocked_discriminability)

from _common import median, sync, time_interleaved, write_json


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--n', type=int, default=4096, help='elements N')
    p.add_argument('--k', type=int, default=16384, help='classes K')
    p.add_argument('--d', type=int, default=512, help='feature dim d')
    p.add_argument('--row-chunk', type=int, default=4096)
    p.add_argument('--col-chunk', type=int, default=16384)
    p.add_argument('--repeat', type=int, default=5)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available()
                   else 'cpu')
    p.add_argument('--half', action='store_true',
                   help='also time float16 / bfloat16 searches')
    p.add_argument('--fp64', action='store_true',
                   help='also time float64 (core and torch.mm)')
    p.add_argument('--deviation', action='store_true',
                   help='measure the D deviation of float16 / bfloat16 '
                   'searches from the float64 result')
    p.add_argument('--threads', type=int,
                   help='torch intra-op threads (default: torch default)')
    p.add_argument('--json', help='write the result here')
    return p.parse_args()


def make_data(n: int, k: int, d: int, device: str):
    """Clustered features and K class centroids.

    The rows are one chunk of a data set scored against the centroids of
    the whole set (as a rank scores its shards), so n may be < k; the
    centroids are the class means plus the mean noise of ~60 elements per
    class (MS1M has 68), so hardest negatives are close calls as in real
    data.
    """
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, k, (n, ), generator=g)
    means = torch.randn(k, d, generator=g)
    f = means[y] + 1.5 * torch.randn(n, d, generator=g)
    c = means + 1.5 / 60**0.5 * torch.randn(k, d, generator=g)
    return f.to(device), y.to(device), c.to(device)


def run_search(search: HardestNegativeSearch, f, y, row_chunk: int):
    for lo in range(0, f.shape[0], row_chunk):
        search.discriminability(f[lo:lo + row_chunk], y[lo:lo + row_chunk])


def deviation(f, y, c, device: str) -> dict:
    """Deviation of raw D and of the D-score (Eq. 4, with the exact run's
    statistics) from float64, per search dtype, refined or not."""
    from mmddl.core import discriminability_stats, normalize_discriminability
    exact = blocked_discriminability(f.double(), y, c.double(),
                                     device=device)
    mean, std = discriminability_stats(exact)
    ds_exact = normalize_discriminability(exact, mean, std)

    def stats(d):
        rel = (d - exact).abs() / exact.abs().clamp(min=1e-12)
        ds = normalize_discriminability(d.double(), mean, std)
        return dict(max_rel=float(rel.max()), median_rel=float(rel.median()),
                    max_abs_over_std=float((d - exact).abs().max() / std),
                    max_dscore_dev=float((ds - ds_exact).abs().max()),
                    frac_changed=float((rel > 1e-12).float().mean()))

    out = {}
    for sim in ('float32', 'float16', 'bfloat16'):
        for refine in (True, False):
            d = blocked_discriminability(f.double(), y, c.double(),
                                         sim_dtype=sim, refine=refine,
                                         device=device)
            out[f'{sim}{"" if refine else "_unrefined"}'] = stats(d)
    # the fp32 fast path (float32 everything) against float64
    out['float32_everything'] = stats(blocked_discriminability(
        f.float(), y, c.float(), device=device).double())
    return out


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    f, y, c = make_data(args.n, args.k, args.d, args.device)
    flops = 2.0 * args.n * args.k * args.d
    fn, cn = F.normalize(f, dim=1), F.normalize(c, dim=1)
    # the pass prepares the centroids once (O(K d)) and then scores every
    # chunk of its N >> row_chunk rows: the preparation is timed apart
    prep = {}

    def prepare(name, *a):
        t0 = time.perf_counter()
        prep[name] = HardestNegativeSearch(*a)
        sync(dev)
        return prep[name], time.perf_counter() - t0

    s32, t32 = prepare('blocked_fp32', c, 'cosine', torch.float32, 'float32',
                       args.col_chunk, dev)
    s64, t64 = prepare('pass_default', c.double(), 'cosine', torch.float64,
                       'float32', args.col_chunk, dev)
    fns = {
        'mm_fp32': lambda: torch.mm(fn, cn.T),
        'blocked_fp32': lambda: run_search(s32, f, y, args.row_chunk),
        'pass_default': lambda: run_search(s64, f, y, args.row_chunk),
        'core_fp32': lambda: discriminability(f, y, c, 'cosine',
                                              args.row_chunk),
    }
    prep_s = dict(blocked_fp32=t32, pass_default=t64)
    pairs = {k: 'mm_fp32' for k in fns if k != 'mm_fp32'}
    if args.fp64:
        f64, c64, fn64, cn64 = f.double(), c.double(), fn.double(), \
            cn.double()
        fns['mm_fp64'] = lambda: torch.mm(fn64, cn64.T)
        fns['core_fp64'] = lambda: discriminability(f64, y, c64, 'cosine',
                                                    args.row_chunk)
        pairs['core_fp64'] = 'mm_fp64'
    if args.half:
        for name, dt in (('fp16', torch.float16), ('bf16', torch.bfloat16)):
            fh, ch = fn.to(dt), cn.to(dt)
            fns[f'mm_{name}'] = (lambda a=fh, b=ch: torch.mm(a, b.T))
            sh, prep_s[f'blocked_{name}'] = prepare(
                name, c, 'cosine', torch.float32, dt, args.col_chunk, dev)
            fns[f'blocked_{name}'] = (
                lambda sh=sh: run_search(sh, f, y, args.row_chunk))
            pairs[f'blocked_{name}'] = f'mm_{name}'
    times = time_interleaved(fns, args.repeat, device=dev)
    secs = {k: median(v) for k, v in times.items()}
    gflops = {k: flops / s / 1e9 for k, s in secs.items()}
    result = dict(
        benchmark='similarity', shape=dict(n=args.n, k=args.k, d=args.d),
        row_chunk=args.row_chunk, col_chunk=args.col_chunk,
        device=str(dev), repeat=args.repeat, gflop_per_call=flops / 1e9,
        seconds_median=secs, gflops=gflops,
        centroid_preparation_s=prep_s,
        ratio_to_mm={k: gflops[k] / gflops[ref] for k, ref in pairs.items()},
        ratio_reference=pairs)
    if args.deviation:
        result['deviation_from_fp64'] = deviation(f, y, c, args.device)
    write_json(args.json, result)


if __name__ == '__main__':
    main()
