"""DDL vs dense inference of the ``configs/recognition/ddl_*`` recognizers
(random weights): GFLOPs ratio and model-time ratio. Method and results:
docs/benchmarks.md. Usage: ``python benchmarks/bench_ddl_vs_dense.py --json
work_dirs/bench/ddl.json``."""
import argparse
import os.path as osp

import torch
from _common import build_random_ddl, write_json

import mmddl  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
FAMILIES = ('slowfast', 'i3d', 'r2plus1d')
SETTINGS = {
    'k700': 'top5-of-30_kinetics700',
    'anet': 'top9-of-60_activitynet12'
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument(
        '--families', nargs='+', default=list(FAMILIES), choices=FAMILIES)
    p.add_argument(
        '--settings',
        nargs='+',
        default=list(SETTINGS),
        choices=sorted(SETTINGS))
    p.add_argument(
        '--videos', type=int, default=1, help='random videos timed per model')
    p.add_argument(
        '--clips',
        type=int,
        default=2,
        help='full-size clips per timed video (1 crop)')
    p.add_argument(
        '--topk',
        type=int,
        default=1,
        help='clips the base runs on in the timed DDL run')
    p.add_argument('--threads', type=int, help='torch intra-op threads')
    p.add_argument('--json', help='write the result here')
    return p.parse_args()


def test_shape(cfg) -> dict:
    """Clips, clip length and crop size of the config's test pipeline."""
    out = {}
    steps = []
    for t in cfg.test_dataloader.dataset.pipeline:
        # DDLTwoStageDecode holds the spatial transforms in its pipeline
        steps += [t] + list(t.get('pipeline', []))
    for t in steps:
        if t['type'] == 'SampleFrames':
            out.update(num_clips=t['num_clips'], clip_len=t['clip_len'])
        if t['type'] in ('ThreeCrop', 'CenterCrop', 'TenCrop'):
            size = t['crop_size']
            out['crop'] = size if isinstance(size, int) else size[0]
    if len(out) != 3:
        raise ValueError(f'cannot read clips / clip_len / crop from the '
                         f'test pipeline of {cfg.filename}')
    return out


def build(cfg):
    """The config's DDLRecognizer (random weights, CPU, eval)."""
    return build_random_ddl(cfg)


def measure(family: str, setting: str, args, timings: dict) -> dict:
    """GFLOPs of one family / setting; model time (timed once per family
    and input shape, then reused: the settings differ in clip counts and
    the number of classes only)."""
    from mmengine.config import Config
    name = f'recognition/ddl_{family}-r50_{SETTINGS[setting]}-rgb.py'
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    shape = test_shape(cfg)
    crops = int(cfg.model.num_crops)
    topk = int(cfg.model.aggregator.topk)
    model = build(cfg)
    view = torch.randn(1, 3, shape['clip_len'], shape['crop'], shape['crop'])
    with torch.no_grad():
        g_base = model._base_gflops(view)
        g_dd = model._ddnet_gflops(model.ddnet_views(view))
    views = crops * shape['num_clips']
    dense = views * g_base
    ddl = views * g_dd + crops * topk * g_base
    key = (family, tuple(view.shape))
    if key not in timings:
        timings[key] = dict(
            time_reduced(model, shape, args), timed_with=f'configs/{name}')
    timed = timings[key]
    t_base_view, t_dd_view = timed['base_s_per_view'], \
        timed['ddnet_s_per_view']
    est = (views * t_dd_view + crops * topk * t_base_view) / (
        views * t_base_view)
    ratio = timed['ddl_s'] / timed['dense_s']
    res = dict(
        config=f'configs/{name}',
        clips=shape['num_clips'],
        crops=crops,
        topk=topk,
        clip_len=shape['clip_len'],
        crop=shape['crop'],
        ddnet_input=[
            shape['clip_len']
            if model.num_frames is None else model.num_frames, model.size
        ],
        gflops_per_view=dict(base=g_base, ddnet=g_dd),
        gflops_per_video=dict(dense=dense, ddl=ddl),
        gflops_ratio=ddl / dense,
        timed=timed,
        time_ratio_measured=ratio,
        time_ratio_full_estimate=est)
    print(
        f'{family:9s} {setting}: GFLOPs dense {dense:.1f} ddl {ddl:.1f} '
        f'(ratio {ddl / dense:.3f}); time ratio measured {ratio:.3f} '
        f'(top-{args.topk} of {args.clips}), full estimate {est:.3f}',
        flush=True)
    return res


def time_reduced(model, shape: dict, args) -> dict:
    """Dense vs DDL model time on ``--videos`` videos of ``--clips`` clips
    (1 crop, base on the top ``--topk``)."""
    from mmddl.models.aggregators import DDLAggregator
    model.num_crops = 1
    model.count_flops = False
    aggs = dict(
        dense=DDLAggregator('dense'), ddl=DDLAggregator('ddl', topk=args.topk))
    runs = {k: [] for k in aggs}
    g = torch.Generator().manual_seed(0)
    for _ in range(args.videos):
        video = torch.randn(
            args.clips,
            3,
            shape['clip_len'],
            shape['crop'],
            shape['crop'],
            generator=g)
        for mode, agg in aggs.items():
            model.aggregator = agg
            with torch.no_grad():
                runs[mode].append(model.encode_groups([video[:, None]])[0])
    t_dense = sum(r['time_model_s'] for r in runs['dense'])
    t_ddl = sum(r['time_model_s'] for r in runs['ddl'])
    n_views = args.videos * args.clips
    return dict(
        videos=args.videos,
        clips=args.clips,
        crops=1,
        topk=args.topk,
        dense_s=t_dense,
        ddl_s=t_ddl,
        base_s_per_view=t_dense / n_views,
        ddnet_s_per_view=sum(r['time_ddnet_s'] for r in runs['ddl']) / n_views)


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not 1 <= args.topk <= args.clips:
        raise SystemExit('need 1 <= --topk <= --clips')
    timings = {}
    results = {
        f'{fam}/{st}': measure(fam, st, args, timings)
        for fam in args.families
        for st in args.settings
    }
    write_json(args.json, dict(benchmark='ddl_vs_dense', models=results))


if __name__ == '__main__':
    main()
