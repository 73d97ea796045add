"""Accelerator suite: the D-score pass's similarity step at MS1M-like size in
float32 / float16 / bfloat16, and DDL vs dense recognition throughput of
SlowFast-R50 at batch. Run by ``benchmarks/gpu_suite.sh``.

Similarity: :class:`mmddl.core.discriminability.HardestNegativeSearch` (the
exact search the pass runs) over N rows in ``--row-chunk`` chunks against K
cosine centroids, timed interleaved with ``torch.mm`` of the same shapes in
the same dtype; seconds are also extrapolated linearly in N to
``--extrapolate-to`` elements (MS1M: 5.8M).

Throughput: the Kinetics-700 DDL config's ``DDLRecognizer`` (random weights)
on batches of preprocessed random views already on the device (decoding
excluded), dense (all N clips) vs DDL (top-K of N): candidate clips/s,
videos/s and base views/s, in float32 and under bfloat16 autocast.

Usage:
    python benchmarks/bench_gpu_suite.py --device cuda --json out.json
    python benchmarks/bench_gpu_suite.py --device cpu --tiny --json t.json
"""
import argparse
import os.path as osp
import time
from typing import Dict, List

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
FULL_CONFIG = ('configs/recognition/'
               'ddl_slowfast-r50_top5-of-30_kinetics700-rgb.py')
TINY_CONFIG = ('configs/recognition/demo/'
               'ddl_slowfast-tiny_top5-of-30_synthetic-rgb.py')


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--device', default='cuda')
    p.add_argument(
        '--tiny',
        action='store_true',
        help='small shapes and the demo\'s tiny recognizer (a CPU check)')
    p.add_argument(
        '--parts',
        nargs='+',
        default=['similarity', 'throughput'],
        choices=['similarity', 'throughput'])
    p.add_argument('--n', type=int, default=1_000_000, help='elements N')
    p.add_argument('--k', type=int, default=85_742, help='classes K')
    p.add_argument('--d', type=int, default=512, help='feature dim d')
    p.add_argument('--row-chunk', type=int, default=16384)
    p.add_argument('--block-size', type=int, default=16384)
    p.add_argument(
        '--dtypes',
        nargs='+',
        default=['float32', 'float16', 'bfloat16'],
        choices=['float32', 'float64', 'float16', 'bfloat16'])
    p.add_argument('--extrapolate-to', type=int, default=5_800_000)
    p.add_argument(
        '--precisions',
        nargs='+',
        choices=['float32', 'bfloat16'],
        help='throughput precisions (default: float32 and bfloat16 '
        'autocast; --tiny: float32, CPU bfloat16 convolutions are slow)')
    p.add_argument('--repeat', type=int, default=2)
    p.add_argument('--batch', type=int, default=4, help='videos per batch')
    p.add_argument('--batches', type=int, default=3, help='timed batches')
    p.add_argument(
        '--clips', type=int, help='candidate clips (default: the config\'s)')
    p.add_argument(
        '--crops', type=int, default=3, help='views per clip (full config)')
    p.add_argument(
        '--max-testing-views',
        type=int,
        default=48,
        help='views per forward (memory cap)')
    p.add_argument('--threads', type=int, help='torch intra-op threads')
    p.add_argument('--json', help='write the result here')
    args = p.parse_args()
    if args.tiny:
        args.n, args.k, args.d = 2048, 500, 32
        args.row_chunk, args.block_size = 1024, 256
        args.extrapolate_to, args.repeat = 20480, 1
        args.batch, args.batches, args.crops, args.clips = 1, 1, 1, 8
    if args.precisions is None:
        args.precisions = ['float32'] if args.tiny else ['float32', 'bfloat16']
    return args


# -------------------------------------------------------------- similarity
def similarity(args, device) -> Dict:
    """Search vs ``torch.mm`` seconds per dtype over N rows (cosine)."""
    import torch
    import torch.nn.functional as F
    from _common import median, time_interleaved

    from mmddl.core.discriminability import HardestNegativeSearch
    g = torch.Generator(device=device).manual_seed(0)
    n, k, d = args.n, args.k, args.d
    c = torch.randn(k, d, generator=g, device=device)
    y = torch.randint(0, k, (n, ), generator=g, device=device)
    f = c[y] + 1.5 * torch.randn(n, d, generator=g, device=device)
    c = c + 1.5 / 60**0.5 * torch.randn(k, d, generator=g, device=device)
    fn, cn = F.normalize(f, dim=1), F.normalize(c, dim=1)
    chunks = [(lo, min(lo + args.row_chunk, n))
              for lo in range(0, n, args.row_chunk)]
    fns = {}
    for name in args.dtypes:
        dt = getattr(torch, name)
        search = HardestNegativeSearch(c, 'cosine', dt, args.block_size,
                                       device)

        def run_search(search=search):
            for lo, hi in chunks:
                search.discriminability(f[lo:hi], y[lo:hi])

        a, b = fn.to(dt), cn.to(dt)
        out = torch.empty(args.row_chunk, k, dtype=dt, device=device)

        def run_mm(a=a, b=b, out=out):
            for lo, hi in chunks:
                torch.mm(a[lo:hi], b.T, out=out[:hi - lo])

        fns[f'search_{name}'], fns[f'mm_{name}'] = run_search, run_mm
    times = time_interleaved(fns, args.repeat, device=device)
    secs = {key: median(v) for key, v in times.items()}
    flops = 2.0 * n * k * d
    scale = args.extrapolate_to / n
    res = {}
    for name in args.dtypes:
        s, m = secs[f'search_{name}'], secs[f'mm_{name}']
        res[name] = dict(
            search_s=s,
            mm_s=m,
            search_gflops=flops / s / 1e9,
            mm_gflops=flops / m / 1e9,
            ratio_to_mm=m / s,
            rows_per_s=n / s,
            search_s_extrapolated=s * scale)
        print(
            f'similarity {name:9s}: search {s:8.3f} s, mm {m:8.3f} s, '
            f'ratio {m / s:.3f}; {args.extrapolate_to} elements ~ '
            f'{s * scale:.1f} s',
            flush=True)
    return dict(
        shape=dict(n=n, k=k, d=d),
        metric='cosine',
        row_chunk=args.row_chunk,
        block_size=args.block_size,
        repeat=args.repeat,
        extrapolate_to=args.extrapolate_to,
        float32_matmul_precision=torch.get_float32_matmul_precision(),
        dtypes=res)


# -------------------------------------------------------------- throughput
def build_ddl(args, device):
    """The DDL config's recognizer (random weights) on ``device`` and its
    test view shape (clips, clip_len, crop)."""
    from _common import build_random_ddl
    from mmengine.config import Config
    cfg = Config.fromfile(
        osp.join(ROOT, TINY_CONFIG if args.tiny else FULL_CONFIG))
    sample = next(t for t in cfg.test_dataloader.dataset.pipeline
                  if t['type'] == 'SampleFrames')
    crop = None
    for t in cfg.test_dataloader.dataset.pipeline:
        for u in [t] + list(t.get('pipeline', [])):
            if u['type'] in ('CenterCrop', 'ThreeCrop'):
                crop = u['crop_size']
    if crop is None:
        raise ValueError(f'no crop in the test pipeline of {cfg.filename}')
    model = build_random_ddl(
        cfg,
        count_flops=False,
        num_crops=args.crops,
        max_testing_views=args.max_testing_views).to(device)
    shape = dict(
        clips=args.clips or int(sample['num_clips']),
        clip_len=int(sample['clip_len']),
        crop=int(crop if isinstance(crop, int) else crop[0]),
        crops=args.crops)
    return model, shape, cfg.filename


def throughput(args, device) -> Dict:
    """Dense vs DDL model throughput at batch, float32 and bf16 autocast."""
    import torch
    from _common import sync
    from mmaction.structures import ActionDataSample

    from mmddl.models.aggregators import DDLAggregator
    model, shape, config = build_ddl(args, device)
    views = shape['clips'] * shape['crops']
    g = torch.Generator(device=device).manual_seed(0)
    inputs = torch.randn(
        args.batch,
        views,
        3,
        shape['clip_len'],
        shape['crop'],
        shape['crop'],
        generator=g,
        device=device)
    ddl = model.aggregator
    modes = dict(dense=DDLAggregator('dense'), ddl=ddl)
    res = {}
    for prec in args.precisions:
        for mode, agg in modes.items():
            model.aggregator = agg

            def batch() -> List:
                samples = [
                    ActionDataSample(metainfo=dict(num_clips=shape['clips']))
                    for _ in range(args.batch)
                ]
                with torch.autocast(
                        device.type,
                        dtype=torch.bfloat16,
                        enabled=prec == 'bfloat16'):
                    return model.predict(inputs, samples)

            batch()  # warm-up
            sync(device)
            t0 = time.perf_counter()
            parts = dict(ddnet=0.0, base=0.0)
            base_views = 0
            for _ in range(args.batches):
                for s in batch():
                    parts['ddnet'] += float(s.time_ddnet_s)
                    parts['base'] += float(s.time_base_s)
                    base_views += int(s.base_views)
            sync(device)
            sec = time.perf_counter() - t0
            videos = args.batch * args.batches
            res.setdefault(prec, {})[mode] = dict(
                seconds=sec,
                videos=videos,
                videos_per_s=videos / sec,
                candidate_clips_per_s=videos * shape['clips'] / sec,
                base_views_per_s=base_views / sec,
                ddnet_s=parts['ddnet'],
                base_s=parts['base'])
            print(
                f'throughput {prec:8s} {mode:5s}: {videos / sec:8.2f} '
                f'videos/s, {videos * shape["clips"] / sec:9.1f} clips/s',
                flush=True)
        r = res[prec]
        r['ddl_speedup'] = r['ddl']['videos_per_s'] / r['dense']['videos_per_s']
    model.aggregator = ddl
    return dict(
        config=osp.relpath(config, ROOT),
        view_shape=shape,
        batch=args.batch,
        batches=args.batches,
        topk=int(ddl.topk),
        max_testing_views=args.max_testing_views,
        precisions=res)


def main():
    args = parse_args()
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    from _common import write_json

    import mmddl  # noqa: F401
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda but torch sees no CUDA device; use '
                         '--device cpu --tiny for the CPU check')
    result = dict(benchmark='gpu_suite', device=str(device), tiny=args.tiny)
    t0 = time.perf_counter()
    if 'similarity' in args.parts:
        result['similarity'] = similarity(args, device)
    if 'throughput' in args.parts:
        with torch.no_grad():
            result['throughput'] = throughput(args, device)
    result['wall_s'] = time.perf_counter() - t0
    write_json(args.json, result)


if __name__ == '__main__':
    main()
