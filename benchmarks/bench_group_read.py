"""Reading time per group of one-stage vs two-stage image reading for face /
re-ID DDL (``LoadGroupImages(two_stage=True)``).

Generated JPEG groups are read per group as the test pipeline does
(``LoadGroupImages`` + ``PackGroupInputs``):

  * ``one_stage``: every image at the base's size;
  * ``two_stage``: every image at the DDNet's size (stage 1; a JPEG decoded
    at 1/2, 1/4 or 1/8 size when that covers it), then the K kept images at
    the base's size from the packed ``GroupImageSource`` (stage 2, what
    ``DDLGroupEncoder.element_inputs`` does).

Scenarios: ``mars`` (MARS: 256x128 crops, base 256x128, DDNet 128x64; the
1/2 DCT decode is the DDNet input) and ``face112`` (112x112 aligned faces,
base = DDNet = 112: no reduced decode, stage 2 reads the kept images a
second time). Both methods are timed round-robin in one run; the ratio
two / one is the result. No model runs (see bench_end_to_end.py).

Usage:
    python benchmarks/bench_group_read.py --json work_dirs/bench/read.json
"""
import argparse
import os
import os.path as osp
import shutil
import tempfile
import time

SCENARIOS = {
    # name: image (h, w), base (h, w), DDNet (h, w)
    'mars': ((256, 128), (256, 128), (128, 64)),
    'face112': ((112, 112), (112, 112), (112, 112)),
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument(
        '--scenarios',
        nargs='+',
        default=list(SCENARIOS),
        choices=list(SCENARIOS))
    p.add_argument('--groups', type=int, default=60, help='groups (tracklets)')
    p.add_argument('--frames', type=int, default=24, help='images per group')
    p.add_argument(
        '--kept',
        type=float,
        default=0.3,
        help='fraction of a group read at the base size in stage 2')
    p.add_argument('--repeat', type=int, default=3, help='timed rounds')
    p.add_argument(
        '--cv2-threads',
        type=int,
        default=1,
        help='cv2.setNumThreads (data loader workers: 1 each)')
    p.add_argument('--json', help='write the result here')
    return p.parse_args()


def make_groups(root, name, args):
    """``args.groups`` groups of ``args.frames`` JPEG paths (distinct files;
    32 generated images reused)."""
    import cv2
    import numpy as np
    img_hw = SCENARIOS[name][0]
    if name == 'mars':
        from mmddl.testing.synthetic_persons import make_persons
        imgs = make_persons(8, 4, size=img_hw, seed=0, degradation_prob=0.5)
    else:
        from mmddl.testing.synthetic_faces import make_identities
        imgs = make_identities(
            8, 4, size=img_hw[0], seed=0, degradation_prob=0.5)
    imgs = np.concatenate(imgs)
    groups = []
    for g in range(args.groups):
        paths = []
        for f in range(args.frames):
            path = osp.join(root, name, f'{g:04d}', f'{f:03d}.jpg')
            os.makedirs(osp.dirname(path), exist_ok=True)
            cv2.imwrite(path, imgs[(g * args.frames + f) % len(imgs)])
            paths.append(path)
        groups.append(paths)
    return groups


def measure(name, groups, args):
    """Seconds per group of both methods, interleaved group by group."""
    import numpy as np

    from mmddl.datasets.transforms import LoadGroupImages, PackGroupInputs
    _, base_hw, ddnet_hw = SCENARIOS[name]
    one = LoadGroupImages(size=base_hw, align=False, crop_bbox=False)
    two = LoadGroupImages(
        size=base_hw,
        align=False,
        crop_bbox=False,
        two_stage=True,
        ddnet_size=ddnet_hw)
    k = max(1, round(args.kept * args.frames))
    rng = np.random.default_rng(0)
    kept = [np.sort(rng.choice(args.frames, k, replace=False)) for _ in groups]
    times = dict(one_stage=[], two_stage=[], stage1=[], stage2=[])

    pack = PackGroupInputs()

    def run_one(paths, _):
        pack(one(dict(img_paths=paths)))

    def run_two(paths, sel):
        t0 = time.perf_counter()
        sample = pack(two(dict(img_paths=paths, group_name='g')))
        t1 = time.perf_counter()
        sample['data_samples'].ddl_group_source.load(sel)
        t2 = time.perf_counter()
        times['stage1'].append(t1 - t0)
        times['stage2'].append(t2 - t1)

    for paths, sel in zip(groups[:2], kept):  # warm-up (page cache, libs)
        run_one(paths, sel)
        run_two(paths, sel)
    times = {key: [] for key in times}
    two.read_counts = dict.fromkeys(two.read_counts, 0)
    for r in range(args.repeat):
        for g, (paths, sel) in enumerate(zip(groups, kept)):
            order = (('one_stage', run_one), ('two_stage', run_two))
            for key, fn in order[::1 if (g + r) % 2 == 0 else -1]:
                t0 = time.perf_counter()
                fn(paths, sel)
                times[key].append(time.perf_counter() - t0)
    per_group = {key: float(np.mean(v)) for key, v in times.items()}
    return dict(
        image_hw=list(SCENARIOS[name][0]),
        base_hw=list(base_hw),
        ddnet_hw=list(ddnet_hw),
        groups=len(groups),
        frames=args.frames,
        kept_per_group=k,
        repeat=args.repeat,
        seconds_per_group=per_group,
        two_over_one=per_group['two_stage'] / per_group['one_stage'],
        stage1_read_counts={
            key: v // args.repeat
            for key, v in two.read_counts.items()
        })


def main():
    args = parse_args()
    import cv2
    cv2.setNumThreads(args.cv2_threads)
    from _common import write_json

    import mmddl  # noqa: F401
    load_before = os.getloadavg()
    root = tempfile.mkdtemp(prefix='bench_group_read_')
    results = {}
    try:
        for name in args.scenarios:
            groups = make_groups(root, name, args)
            t0 = time.perf_counter()
            results[name] = measure(name, groups, args)
            results[name]['wall_s'] = time.perf_counter() - t0
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for name, r in results.items():
        s = r['seconds_per_group']
        print(f'{name}: one-stage {s["one_stage"] * 1e3:.2f} ms/group, '
              f'two-stage {s["two_stage"] * 1e3:.2f} ms/group (stage 1 '
              f'{s["stage1"] * 1e3:.2f}, stage 2 {s["stage2"] * 1e3:.2f}), '
              f'ratio {r["two_over_one"]:.3f}')
    write_json(
        args.json,
        dict(
            results,
            benchmark='group_read',
            cv2_threads=args.cv2_threads,
            load_avg_before=list(load_before),
            load_avg_after=list(os.getloadavg())))


if __name__ == '__main__':
    main()
