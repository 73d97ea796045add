"""End-to-end test time per video of DDL vs dense: decoding, preprocessing,
DDNet and base, as ``tools/test.py`` runs them (one video at a time).

Generated mp4 videos (a panning textured scene with moving discs; 340x256,
10 s at 30 fps by default) are decoded by each method's test pipeline, built
from the DDL configs (``Config.fromfile`` + ``DDLRecognizer``, random
weights):

  * ``dense``: all N candidate clips, one-stage decoding;
  * ``uniform``: K clips sampled by ``SampleFrames(num_clips=K)``;
  * ``ddl``: two-stage decoding (``DDLTwoStageDecode`` as the config has
    it): the DDNet's frames of the N candidates at full size, then the top-K
    clips in full;
  * ``ddl_lowres``: the same with stage 1 decoded by decord at the DDNet's
    resolution (``ddnet_decode_size``; crops scaled to match).

Settings: ``full`` (SlowFast-R50 + the 3D DDNet of the Kinetics-700 DDL
config; ``--crops 1`` replaces its ``ThreeCrop`` by ``CenterCrop`` of the same
size to keep CPU time sane) and ``tiny`` (the demo's tiny SlowFast and its
DDL config). Method and results: docs/benchmarks.md.

Usage:
    python benchmarks/bench_end_to_end.py --json work_dirs/bench/e2e.json
    python benchmarks/bench_end_to_end.py --tiny --json /tmp/e2e_tiny.json
"""
import argparse
import copy
import math
import os
import os.path as osp
import shutil
import tempfile
import time
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = {
    'full':
    'configs/recognition/ddl_slowfast-r50_top5-of-30_kinetics700-rgb.py',
    'tiny': ('configs/recognition/demo/'
             'ddl_slowfast-tiny_top5-of-30_synthetic-rgb.py'),
}
METHODS = ('dense', 'uniform', 'ddl', 'ddl_lowres')


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument(
        '--settings', nargs='+', default=list(CONFIGS), choices=list(CONFIGS))
    p.add_argument(
        '--videos',
        type=int,
        nargs=2,
        default=(1, 6),
        metavar=('FULL', 'TINY'),
        help='timed videos of the full and the tiny setting')
    p.add_argument('--seconds', type=float, default=10.0, help='video length')
    p.add_argument('--fps', type=int, default=30)
    p.add_argument(
        '--size',
        type=int,
        nargs=2,
        default=(340, 256),
        metavar=('W', 'H'),
        help='frame size')
    p.add_argument(
        '--gop',
        type=int,
        help='keyframe interval of the written mp4 (default: the writer\'s)')
    p.add_argument(
        '--crops',
        type=int,
        default=1,
        choices=(1, 3),
        help='full setting: 1 (CenterCrop) or 3 (the config\'s ThreeCrop)')
    p.add_argument(
        '--methods', nargs='+', default=list(METHODS), choices=METHODS)
    p.add_argument(
        '--tiny',
        action='store_true',
        help='quick check: tiny setting, 1 video of 2 s')
    p.add_argument('--threads', type=int, help='torch intra-op threads')
    p.add_argument(
        '--video-dir', help='write / reuse the videos here (default: temp)')
    p.add_argument('--json', help='write the result here')
    args = p.parse_args()
    if args.tiny:
        args.settings, args.seconds, args.videos = ['tiny'], 2.0, (1, 1)
    if 'dense' not in args.methods:
        raise SystemExit('--methods must include dense (the reference)')
    return args


# ------------------------------------------------------------------ videos
def write_scene_video(path: str,
                      num_frames: int,
                      size: Tuple[int, int],
                      fps: int,
                      seed: int,
                      gop: Optional[int] = None) -> None:
    """Write a generated scene as an mp4v ``.mp4``: a smooth random texture
    panned by a moving camera, three moving discs, mild sensor noise.

    Args:
        path (str): Output file.
        num_frames (int): Frames.
        size (Tuple[int, int]): ``(width, height)``.
        fps (int): Frame rate.
        seed (int): Seed of the scene.
        gop (int, optional): Keyframe interval (None: the writer's default).
    """
    import cv2
    import numpy as np
    W, H = size
    rng = np.random.default_rng(seed)
    low = rng.random((H // 16 + 2, W // 16 + 2, 3)).astype(np.float32)
    tex = cv2.resize(low, (2 * W, 2 * H), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:2 * H, 0:2 * W].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    stripes = 0.5 + 0.5 * np.sin(
        (np.cos(angle) * xx + np.sin(angle) * yy) / rng.uniform(4, 12))
    tex = np.clip(200 * tex + 55 * stripes[..., None], 0, 255)
    period = rng.uniform(2, 5) * fps
    discs = [
        dict(
            pos=rng.uniform((0, 0), (W, H)),
            vel=rng.uniform(-4, 4, 2),
            radius=int(rng.integers(12, 40)),
            color=tuple(int(c) for c in rng.integers(0, 256, 3)))
        for _ in range(3)
    ]
    params = [] if gop is None else [cv2.VIDEOWRITER_PROP_KEY_INTERVAL, gop]
    writer = cv2.VideoWriter(path, cv2.CAP_FFMPEG,
                             cv2.VideoWriter_fourcc(*'mp4v'), fps, (W, H),
                             params)
    if not writer.isOpened():
        raise RuntimeError(f'cv2.VideoWriter cannot open {path} (mp4v)')
    for t in range(num_frames):
        phase = 0.5 - 0.5 * math.cos(2 * math.pi * t / period)
        oy, ox = int(phase * H), int(phase * W)
        frame = tex[oy:oy + H, ox:ox + W].copy()
        for d in discs:
            d['pos'] += d['vel']
            for i, lim in enumerate((W, H)):
                if not 0 <= d['pos'][i] <= lim:
                    d['vel'][i] *= -1
            center = tuple(int(v) for v in d['pos'])
            cv2.circle(frame, center, d['radius'], d['color'], -1, cv2.LINE_AA)
        frame += rng.normal(0, 2, frame.shape).astype(np.float32)
        writer.write(np.clip(frame, 0, 255).astype(np.uint8))
    writer.release()


def make_videos(out_dir: str, count: int, args) -> Tuple[List[str], Dict]:
    """``count`` videos in ``out_dir`` (existing files of the same name are
    reused); returns the paths and their description."""
    import decord

    from mmddl.testing.synthetic_video import check_readable
    num_frames = int(round(args.seconds * args.fps))
    paths = []
    for i in range(count):
        path = osp.join(
            out_dir, f'scene{i:02d}_{args.size[0]}x{args.size[1]}_'
            f'{num_frames}f_gop{args.gop or "default"}.mp4')
        if not osp.exists(path):
            write_scene_video(path, num_frames, tuple(args.size), args.fps, i,
                              args.gop)
            check_readable(path, num_frames, (args.size[1], args.size[0]))
        paths.append(path)
    keys = decord.VideoReader(paths[0]).get_key_indices()
    info = dict(
        count=count,
        width=args.size[0],
        height=args.size[1],
        frames=num_frames,
        fps=args.fps,
        codec='mpeg4 (mp4v; the OpenCV build here has no H.264 encoder)',
        keyframes_per_video=len(keys),
        mean_keyframe_interval=num_frames / max(1, len(keys)),
        mean_bytes=sum(osp.getsize(p) for p in paths) / count)
    return paths, info


# --------------------------------------------------------------- pipelines
def split_test_pipeline(cfg) -> Tuple[List[dict], dict, List[dict], dict]:
    """(init transforms, SampleFrames, spatial + FormatShape transforms,
    PackActionInputs) of a DDL config's test pipeline, one- or two-stage."""
    pipe = [dict(t) for t in cfg.test_dataloader.dataset.pipeline]
    types = [t['type'] for t in pipe]
    if 'SampleFrames' not in types or types[-1] != 'PackActionInputs':
        raise ValueError(f'{cfg.filename}: the test pipeline needs '
                         'SampleFrames ... PackActionInputs, got {types}')
    i = types.index('SampleFrames')
    nxt = pipe[i + 1]
    if nxt['type'] == 'DDLTwoStageDecode':
        inner = [dict(t) for t in nxt['pipeline']]
    elif nxt['type'] in ('CheckedDecordDecode', 'DecordDecode'):
        inner = pipe[i + 2:-1]
    else:
        raise ValueError(f'{cfg.filename}: unexpected transform '
                         f"{nxt['type']} after SampleFrames")
    return pipe[:i], pipe[i], inner, pipe[-1]


def crop_size(inner: Sequence[dict]) -> int:
    """The crop size of the spatial transforms (square crops)."""
    for t in inner:
        if t['type'] in ('CenterCrop', 'ThreeCrop', 'TenCrop'):
            size = t['crop_size']
            return size if isinstance(size, int) else size[0]
    raise ValueError(f'no crop in the test pipeline {inner}')


def lowres_stage1(inner: Sequence[dict], short_side: int,
                  ddnet_size: int) -> Tuple[int, List[dict]]:
    """Stage-1 decode short side and spatial transforms that give the DDNet
    the same field of view as ``inner``, decoded at its own resolution."""
    f = ddnet_size / crop_size(inner)
    out, side = [], short_side
    for t in inner:
        t = dict(t)
        if t['type'] == 'Resize':
            scale = tuple(t['scale'])
            if scale[0] != -1:
                raise ValueError(f'cannot scale Resize {t}')
            side = scale[1]
            t['scale'] = (-1, int(round(scale[1] * f)))
        elif 'crop_size' in t:
            t['crop_size'] = int(round(crop_size([t]) * f))
        out.append(t)
    return int(round(side * f)), out


def method_pipelines(cfg, model, args) -> Dict[str, List[dict]]:
    """Each method's test pipeline (dicts) from the DDL config's."""
    init, sample, inner, pack = split_test_pipeline(cfg)
    num_clips = int(sample['num_clips'])
    topk = int(model.aggregator.topk)
    pack_keys = tuple(
        k for k in pack.get('meta_keys', ()) if k != 'ddl_clip_source')
    if 'num_clips' not in pack_keys:
        pack_keys += ('num_clips', )
    one_pack = dict(pack, meta_keys=pack_keys)
    two_pack = dict(pack, meta_keys=pack_keys + ('ddl_clip_source', ))

    def one_stage(clips):
        return init + [
            dict(sample, num_clips=clips),
            dict(type='CheckedDecordDecode')
        ] + inner + [one_pack]

    frames = model.num_frames or int(sample['clip_len'])
    two = dict(type='DDLTwoStageDecode', ddnet_frames=frames, pipeline=inner)
    out = dict(
        dense=one_stage(num_clips),
        uniform=one_stage(topk),
        ddl=init + [sample, two, two_pack])
    if 'ddl_lowres' in args.methods:
        if not isinstance(model.size, int):
            raise ValueError('ddl_lowres needs an int ddnet_input.size')
        side, ddnet_pipe = lowres_stage1(inner, min(args.size), model.size)
        out['ddl_lowres'] = init + [
            sample,
            dict(two, ddnet_decode_size=side, ddnet_pipeline=ddnet_pipe),
            two_pack
        ]
    return {m: out[m] for m in args.methods}


def build_transforms(cfgs: List[dict]) -> List[Tuple[str, object]]:
    """(type, built transform) for each config."""
    from mmaction.registry import TRANSFORMS
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmaction'):
        return [(c['type'], TRANSFORMS.build(copy.deepcopy(c))) for c in cfgs]


# ------------------------------------------------------------------ models
def build_model(cfg, crops: int):
    """The config's DDLRecognizer with random weights (CPU, eval)."""
    from _common import build_random_ddl
    return build_random_ddl(cfg, num_crops=crops)


def set_crops(cfg, crops: int) -> None:
    """Replace a ``ThreeCrop`` of the test pipeline by a ``CenterCrop`` of
    the same size when ``crops`` is 1."""
    if crops == 3:
        return

    def fix(ts):
        for t in ts:
            if t['type'] == 'ThreeCrop':
                t['type'] = 'CenterCrop'
            if 'pipeline' in t:
                fix(t['pipeline'])

    fix(cfg.test_dataloader.dataset.pipeline)


def aggregators(model, methods) -> Dict[str, object]:
    """The aggregator each method runs with."""
    from mmddl.models.aggregators import DDLAggregator
    ddl = model.aggregator
    out = dict(
        dense=DDLAggregator('dense'),
        uniform=DDLAggregator('uniform', topk=ddl.topk),
        ddl=ddl,
        ddl_lowres=ddl)
    return {m: out[m] for m in methods}


# ------------------------------------------------------------------ timing
def run_video(model, transforms, path: str) -> Dict[str, float]:
    """Seconds of each part of one video's test, as ``tools/test.py`` runs
    it: the pipeline, collate + data preprocessor, ``predict``.

    ``decode_s`` is loading: every transform before ``PackActionInputs``
    (decoding and the spatial / format transforms, which
    ``DDLTwoStageDecode`` runs inside) plus the recognizer's stage-2
    ``time_decode_s``; ``preprocess_s`` is packing, collating and the data
    preprocessor; ``transform_s`` holds each transform's seconds.
    """
    from mmengine.dataset import pseudo_collate
    res = dict(filename=path, label=0, start_index=0, modality='RGB')
    t_start = time.perf_counter()
    per = {}
    for kind, t in transforms:
        t0 = time.perf_counter()
        res = t(res)
        per[kind] = per.get(kind, 0.0) + time.perf_counter() - t0
    t0 = time.perf_counter()
    data = model.data_preprocessor(pseudo_collate([res]), False)
    collate = time.perf_counter() - t0
    sample = model.predict(data['inputs'], data['data_samples'])[0]
    e2e = time.perf_counter() - t_start
    dec1 = sum(v for k, v in per.items() if k != 'PackActionInputs')
    dec2 = float(sample.get('time_decode_s', 0.0))
    pre = per.get('PackActionInputs', 0.0) + collate
    model_s = float(sample.time_model_s)
    return dict(
        decode_s=dec1 + dec2,
        decode_stage1_s=dec1,
        decode_stage2_s=dec2,
        preprocess_s=pre,
        ddnet_s=float(sample.time_ddnet_s),
        base_s=float(sample.time_base_s),
        model_s=model_s,
        other_s=e2e - dec1 - dec2 - pre - model_s,
        e2e_s=e2e,
        gflops=float(sample.get('gflops_base', 0.0)) +
        float(sample.get('gflops_ddnet', 0.0)),
        base_views=int(sample.base_views),
        ddnet_views=int(sample.ddnet_views),
        transform_s=per)


def measure_setting(name: str, paths: List[str], args) -> dict:
    """All methods on ``paths`` (interleaved per video, order rotated),
    after one untimed warm-up per method on a K-candidate pipeline."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, CONFIGS[name]))
    crops = args.crops if name == 'full' else int(cfg.model.num_crops)
    set_crops(cfg, crops)
    model = build_model(cfg, crops)
    pipes = method_pipelines(cfg, model, args)
    aggs = aggregators(model, args.methods)
    built = {m: build_transforms(p) for m, p in pipes.items()}
    topk = int(model.aggregator.topk)
    for m, p in pipes.items():  # warm-up: kernels, GFLOPs per view shape
        warm = copy.deepcopy(p)
        for t in warm:
            if t['type'] == 'SampleFrames':
                t['num_clips'] = min(int(t['num_clips']), topk)
        model.aggregator = aggs[m]
        run_video(model, build_transforms(warm), paths[0])
    runs = {m: [] for m in args.methods}
    methods = list(args.methods)
    for v, path in enumerate(paths):
        for j in range(len(methods)):
            m = methods[(v + j) % len(methods)]
            model.aggregator = aggs[m]
            runs[m].append(run_video(model, built[m], path))
            r = runs[m][-1]
            print(
                f'[{name}] video {v} {m:10s} e2e {r["e2e_s"]:7.3f} s  '
                f'decode {r["decode_s"]:6.3f}  model {r["model_s"]:7.3f}',
                flush=True)
    per_method = {}
    for m, rs in runs.items():
        mean = {
            k: sum(r[k] for r in rs) / len(rs)
            for k in rs[0] if k != 'transform_s'
        }
        mean['transform_s'] = {
            k: sum(r['transform_s'][k] for r in rs) / len(rs)
            for k in rs[0]['transform_s']
        }
        per_method[m] = dict(mean, per_video_e2e_s=[r['e2e_s'] for r in rs])
    sample = next(t for t in pipes['dense'] if t['type'] == 'SampleFrames')
    result = dict(
        config=CONFIGS[name],
        base=str(cfg.model.base) if isinstance(cfg.model.base, str) else
        'SlowFast-R50 (the config\'s base dict)',
        crops=crops,
        candidates=int(sample['num_clips']),
        clip_len=int(sample['clip_len']),
        frame_interval=int(sample['frame_interval']),
        topk=topk,
        ddnet_input=dict(num_frames=model.num_frames, size=model.size),
        videos=len(paths),
        pipelines=pipes,
        methods=per_method)
    dense = per_method['dense']
    for m in args.methods:
        if m == 'dense':
            continue
        key = '' if m == 'ddl' else f'{m}_'
        for part, ratio in (('e2e_s', 'e2e_time_ratio'), ('model_s',
                                                          'model_time_ratio'),
                            ('decode_s',
                             'decode_time_ratio'), ('gflops', 'gflops_ratio')):
            result[key + ratio] = per_method[m][part] / dense[part]
    return result


def print_table(results: Dict[str, dict]) -> None:
    """Per setting and method: mean seconds per video and ratios."""
    head = ('setting', 'method', 'decode', 'prep', 'ddnet', 'base', 'model',
            'e2e', 'GFLOPs', 'e2e/dense')
    print(('{:7s} {:10s}' + ' {:>8s}' * 8).format(*head))
    for name, res in results.items():
        dense = res['methods']['dense']
        for m, r in res['methods'].items():
            print(('{:7s} {:10s}' + ' {:8.3f}' * 6 +
                   ' {:8.1f} {:8.3f}').format(name, m, r['decode_s'],
                                              r['preprocess_s'], r['ddnet_s'],
                                              r['base_s'], r['model_s'],
                                              r['e2e_s'], r['gflops'],
                                              r['e2e_s'] / dense['e2e_s']))


def main():
    args = parse_args()
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    from _common import machine_info, write_json

    import mmddl  # noqa: F401
    load_before = os.getloadavg()
    tmp = None
    video_dir = args.video_dir
    if video_dir is None:
        tmp = video_dir = tempfile.mkdtemp(prefix='bench_e2e_')
    os.makedirs(video_dir, exist_ok=True)
    try:
        counts = dict(zip(('full', 'tiny'), args.videos))
        paths, info = make_videos(video_dir,
                                  max(counts[s] for s in args.settings), args)
        results = {}
        for name in args.settings:
            t0 = time.perf_counter()
            results[name] = measure_setting(name, paths[:counts[name]], args)
            results[name]['wall_s'] = time.perf_counter() - t0
            results[name]['load_avg_1min_after'] = os.getloadavg()[0]
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    print_table(results)
    machine = machine_info()
    write_json(
        args.json,
        dict(
            results,
            benchmark='end_to_end',
            videos=info,
            threads=dict(
                torch_intra_op=torch.get_num_threads(),
                torch_inter_op=torch.get_num_interop_threads(),
                decord_threads='DecordInit default (1)',
                omp_num_threads=os.environ.get('OMP_NUM_THREADS'),
                mkl_num_threads=os.environ.get('MKL_NUM_THREADS')),
            load_avg_before=list(load_before),
            load_avg_after=list(os.getloadavg()),
            cpu_model=machine['cpu_model']))


if __name__ == '__main__':
    main()
