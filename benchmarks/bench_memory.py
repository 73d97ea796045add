"""Peak memory of the scoring part of the D-score pass at two (or more) N.

For each N, a :class:`mmddl.engine.feature_store.FeatureStore` of N float32
features (d dims, K classes) is written to disk, then a fresh child process
scores it and reports its peak resident memory above its baseline (Linux
``VmHWM`` after resetting it through ``/proc/self/clear_refs``):

* ``streaming`` - what ``compute_score_table`` does after feature
  extraction: centroid sums streamed from the shards, then the blocked
  hardest-negative search over ``row_chunk`` rows read from disk at a time;
  only the (N,) float64 raw D output grows with N (8 bytes per element);
* ``in_memory`` - features concatenated in RAM, then
  :func:`mmddl.core.discriminability` in 4096-row chunks;
* ``dense`` - all N rows in one chunk (``chunk_size=N``), for contrast.

The result is each mode's peak increase at every N and its growth
``peak(N_max) - peak(N_min)``.

Usage:
    python benchmarks/bench_memory.py --json work_dirs/bench/memory.json
"""
import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

MODES = ('streaming', 'in_memory', 'dense')


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument(
        '--sizes',
        type=int,
        nargs='+',
        default=[50000, 200000],
        help='numbers of elements N')
    p.add_argument('--k', type=int, default=1000, help='classes K')
    p.add_argument('--d', type=int, default=256, help='feature dim d')
    p.add_argument(
        '--shard-rows',
        type=int,
        default=10000,
        help='elements per stored shard')
    p.add_argument('--row-chunk', type=int, default=4096)
    p.add_argument('--col-chunk', type=int, default=16384)
    p.add_argument('--modes', nargs='+', default=list(MODES), choices=MODES)
    p.add_argument(
        '--workdir',
        help='where the stores go (default: a '
        'temporary folder, deleted afterwards)')
    p.add_argument('--json', help='write the result here')
    # internal: run one measurement in this (child) process
    p.add_argument('--child', help=argparse.SUPPRESS)
    p.add_argument('--mode', help=argparse.SUPPRESS)
    return p.parse_args()


def mem_status():
    """VmRSS / VmHWM / RssAnon / RssFile of this process in MiB."""
    with open('/proc/self/status') as f:
        text = f.read()
    return {
        k: int(re.search(k + r':\s+(\d+)', text).group(1)) / 1024
        for k in ('VmRSS', 'VmHWM', 'RssAnon', 'RssFile')
    }


def write_store(root: str, n: int, k: int, d: int, shard_rows: int) -> None:
    """N clustered float32 features in shards (generated shard by shard)."""
    from mmddl.engine.feature_store import FeatureStore
    store = FeatureStore(root)
    rng = np.random.RandomState(0)
    means = rng.randn(k, d).astype(np.float32)
    for sid, lo in enumerate(range(0, n, shard_rows)):
        m = min(shard_rows, n - lo)
        y = (np.arange(lo, lo + m) * 7919) % k  # every class in every shard
        f = means[y] + 1.5 * rng.randn(m, d).astype(np.float32)
        store.write_shard(sid, lo, lo + m, f, y,
                          [f'e{i}' for i in range(lo, lo + m)],
                          np.zeros(m, np.int64))


def child(args) -> None:
    """Score the store at ``args.child`` in ``args.mode``; print a JSON."""
    import torch

    import mmddl  # noqa: F401
    from mmddl.core import (centroids_from_sums, class_centroids,
                            discriminability)
    from mmddl.core.discriminability import HardestNegativeSearch
    from mmddl.engine.discriminability_pass import (accumulate_centroid_sums,
                                                    score_shards)
    from mmddl.engine.feature_store import FeatureStore
    store = FeatureStore(args.child)
    ids = store.finished_shards()
    # import-time allocations are not the pass's: reset the peak here
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
    base = mem_status()
    t0 = time.perf_counter()
    if args.mode == 'streaming':
        sums, counts = accumulate_centroid_sums(store, ids, args.k, args.d,
                                                args.row_chunk)
        cents = centroids_from_sums(sums, counts, on_empty='exclude')
        search = HardestNegativeSearch(cents, 'cosine', 'float32',
                                       args.col_chunk)
        raw = np.concatenate(
            list(score_shards(store, ids, search, args.row_chunk).values()))
    else:
        shards = list(store.iter_shards(ids, mmap=False))
        f = torch.from_numpy(np.concatenate([s.feats for s in shards]))
        y = torch.from_numpy(np.concatenate([s.labels for s in shards]))
        del shards
        cents = class_centroids(f, y, args.k)
        chunk = args.row_chunk if args.mode == 'in_memory' else len(f)
        raw = discriminability(f, y, cents, 'cosine', chunk_size=chunk)
    secs = time.perf_counter() - t0
    peak = mem_status()
    print(
        json.dumps(
            dict(
                n=int(len(raw)),
                seconds=secs,
                baseline_rss_mib=base['VmRSS'],
                peak_rss_mib=peak['VmHWM'],
                peak_increase_mib=peak['VmHWM'] - base['VmRSS'],
                rss_file_mib=peak['RssFile'])))


def main():
    args = parse_args()
    if args.child:
        return child(args)
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from _common import write_json
    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix='bench_memory_')
        args.workdir = tmp.name
    runs = {m: [] for m in args.modes}
    try:
        for n in sorted(args.sizes):
            root = osp.join(args.workdir, f'store_{n}')
            write_store(root, n, args.k, args.d, args.shard_rows)
            for mode in args.modes:
                cmd = [
                    sys.executable,
                    osp.abspath(__file__), '--child', root, '--mode', mode,
                    '--k',
                    str(args.k), '--d',
                    str(args.d), '--row-chunk',
                    str(args.row_chunk), '--col-chunk',
                    str(args.col_chunk)
                ]
                out = subprocess.run(
                    cmd,
                    capture_output=True,
                    text=True,
                    env=dict(os.environ, PYTHONWARNINGS='ignore'))
                if out.returncode:
                    raise RuntimeError(f'{mode} N={n} failed:\n{out.stderr}')
                res = json.loads(out.stdout.strip().splitlines()[-1])
                runs[mode].append(res)
                inc = res['peak_increase_mib']
                print(
                    f'{mode:10s} N={n:>9d}: peak +{inc:.1f} MiB, '
                    f'{res["seconds"]:.2f}s',
                    file=sys.stderr)
    finally:
        if tmp is not None:
            tmp.cleanup()
    growth = {
        m: r[-1]['peak_increase_mib'] - r[0]['peak_increase_mib']
        for m, r in runs.items()
    }
    write_json(
        args.json,
        dict(
            benchmark='memory',
            k=args.k,
            d=args.d,
            sizes=sorted(args.sizes),
            row_chunk=args.row_chunk,
            col_chunk=args.col_chunk,
            feature_bytes_on_disk={str(n): n * args.d * 4
                                   for n in args.sizes},
            runs=runs,
            peak_growth_mib=growth,
            raw_output_growth_mib=(max(args.sizes) - min(args.sizes)) * 8 /
            2**20))


if __name__ == '__main__':
    main()
