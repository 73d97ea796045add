"""Tests of the synthetic untrimmed-video benchmark generator."""
import hashlib
import importlib.util
import json
import os
import os.path as osp

import mmddl  # noqa: F401  (compat fixes first)

# isort: split
import decord
import numpy as np
import pytest
from mmaction.datasets import VideoDataset

from mmddl.testing.synthetic_video import (ANET_JSON, KINDS, OTHER_KINDS,
                                           BenchmarkConfig, check_readable,
                                           class_specs, clip_class_fraction,
                                           frame_kinds, generate_video,
                                           make_video_benchmark, plan_segments,
                                           write_corrupt_video,
                                           write_short_video)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = dict(num_classes=3, train_per_class=2, test_per_class=1,
            num_frames=60, frame_size=(32, 40), min_segment=12,
            max_segment=24)


def _md5(path):
    with open(path, 'rb') as f:
        return hashlib.md5(f.read()).hexdigest()


@pytest.fixture(scope='module')
def bench(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('bench'))
    summary = make_video_benchmark(out, seed=3, cfg=BenchmarkConfig(**TINY),
                                   progress=False)
    with open(osp.join(out, 'meta.json')) as f:
        meta = json.load(f)
    return out, summary, meta


def test_generate_video_deterministic_and_seed_dependent():
    cfg = BenchmarkConfig(**TINY)
    m1, f1 = generate_video(1, cfg, seed=5, split='val', index=2)
    m2, f2 = generate_video(1, cfg, seed=5, split='val', index=2)
    m3, f3 = generate_video(1, cfg, seed=6, split='val', index=2)
    assert m1 == m2 and np.array_equal(f1, f2)
    assert f1.shape == (60, 32, 40, 3) and f1.dtype == np.uint8
    assert not np.array_equal(f1, f3)
    kinds = frame_kinds(m1)
    assert m1['class_fraction'] == pytest.approx(np.mean(kinds == 'class'))
    assert m1['confuser_fraction'] == pytest.approx(
        np.mean(kinds == 'confuser'))


@pytest.mark.parametrize('seed', range(12))
def test_segment_layout_rules(seed):
    cfg = BenchmarkConfig(num_classes=4, num_frames=160)
    label = seed % 4
    segs, conf = plan_segments(np.random.default_rng(seed), label, cfg)
    assert segs[0]['start'] == 0 and segs[-1]['end'] == 160
    for a, b in zip(segs, segs[1:]):
        assert a['end'] == b['start']
    lengths = [s['end'] - s['start'] for s in segs]
    assert min(lengths) >= cfg.min_segment
    assert max(lengths) <= cfg.max_segment
    assert conf != label and 0 <= conf < 4
    n_class = sum(n for s, n in zip(segs, lengths) if s['kind'] == 'class')
    # class fraction drawn in [0.15, 0.45] (up to rounding/merging)
    assert 0.14 <= n_class / 160 <= 0.45 + 20 / 160
    for s in segs:
        assert s['kind'] in KINDS
        expected = {'class': label, 'blur': label, 'occlusion': label,
                    'confuser': conf}.get(s['kind'], -1)
        assert s['shown_class'] == expected


def test_segment_content_matches_kind():
    """Rendered pixels have the properties of their segment kind."""
    cfg = BenchmarkConfig(num_classes=4, frame_size=(32, 32))
    seen = set()
    for i in range(16):
        meta, frames = generate_video(i % 4, cfg, seed=11, index=i)
        f = frames.astype(np.float32)
        for s in meta['segments']:
            x = f[s['start']:s['end']]
            kind = s['kind']
            seen.add(kind)
            if kind == 'dark':
                assert x.mean() < 30
            elif kind == 'blank':  # flat colour + sensor noise
                assert x.std(axis=(1, 2)).mean() < 5
            elif kind == 'noise':  # independent per frame
                assert np.abs(np.diff(x, axis=0)).mean() > 40
            elif kind in ('class', 'confuser'):  # a moving object
                temporal_range = (x.max(0) - x.min(0)).max()
                assert temporal_range > (60 if kind == 'class' else 25)
                assert np.abs(np.diff(x, axis=0)).mean() < 15  # not noise
    assert set(OTHER_KINDS) <= seen


def test_class_specs_distinct_and_sorted():
    specs = class_specs(24)
    pairs = {(s['texture'], s['motion']) for s in specs}
    assert len(pairs) == 24
    names = [s['name'] for s in specs]
    assert names == sorted(names)


def test_clip_class_fraction_against_manual_count():
    video = dict(num_frames=10, segments=[
        dict(start=0, end=3, kind='noise'), dict(start=3, end=7,
                                                 kind='class'),
        dict(start=7, end=10, kind='confuser')])
    assert list(frame_kinds(video)) == ['noise'] * 3 + ['class'] * 4 + [
        'confuser'] * 3
    assert clip_class_fraction(video, [2, 3, 4, 8]) == 0.5
    assert clip_class_fraction(video, np.array([[3, 6]])) == 1.0
    with pytest.raises(ValueError, match='frame indices'):
        clip_class_fraction(video, [9, 10])
    with pytest.raises(ValueError, match='cover'):
        frame_kinds(dict(num_frames=4, segments=[dict(start=0, end=3,
                                                      kind='class')]))


def test_bad_config_errors(tmp_path):
    for bad, match in [(dict(num_classes=1), 'num_classes'),
                       (dict(frame_size=(33, 64)), 'frame_size'),
                       (dict(num_frames=50), 'num_frames'),
                       (dict(class_fraction=(0.5, 0.2)), 'class_fraction'),
                       (dict(max_segment=30), 'max_segment')]:
        with pytest.raises(ValueError, match=match):
            make_video_benchmark(str(tmp_path), cfg=BenchmarkConfig(**bad))


def test_benchmark_files_decode_and_lists_parse(bench):
    out, summary, meta = bench
    videos = meta['videos']
    assert summary['num_train'] == 6 and summary['num_val'] == 3
    assert meta['params']['num_frames'] == 60
    cfg = BenchmarkConfig(**TINY)
    for i, v in enumerate(videos):
        vr = decord.VideoReader(osp.join(out, v['filename']))
        assert len(vr) == 60
        frames = vr.get_batch(list(range(60))).asnumpy()
        assert frames.shape == (60, 32, 40, 3)
        split, index = v['id'].split('_')
        _, ref = generate_video(v['label'], cfg, 3, split, int(index))
        # lossy mp4v: small error against the rendered frames, except
        # in per-pixel noise segments (incompressible)
        err = np.abs(frames.astype(np.float32) - ref)
        for seg in v['segments']:
            if seg['kind'] != 'noise':
                e = err[seg['start']:seg['end']].mean()
                assert e < 8, (v['id'], seg, e)
    with open(osp.join(out, 'classes.txt')) as f:
        assert f.read().split() == [c['name'] for c in meta['classes']]
    for split, subset in (('train', 'training'), ('val', 'validation')):
        ds = VideoDataset(osp.join(out, f'{split}_list.txt'), pipeline=[],
                          data_prefix=dict(video=out), serialize_data=False)
        expected = [(osp.join(out, v['filename']), v['label'])
                    for v in videos if v['subset'] == subset]
        got = [(ds.get_data_info(i)['filename'], ds.get_data_info(i)['label'])
               for i in range(len(ds))]
        assert got == expected
        assert all(osp.exists(f) for f, _ in got)
    labels = [v['label'] for v in videos if v['subset'] == 'training']
    assert labels == [0, 0, 1, 1, 2, 2]


def test_trimmed_class_segments(bench):
    out, summary, meta = bench
    assert meta['trimmed'] is True
    n = 0
    for split, subset in (('train', 'training'), ('val', 'validation')):
        ds = VideoDataset(osp.join(out, f'{split}_trimmed_list.txt'),
                          pipeline=[], data_prefix=dict(video=out),
                          serialize_data=False)
        expected = []
        for v in meta['videos']:
            if v['subset'] != subset:
                continue
            segs = [x for x in v['segments'] if x['kind'] == 'class']
            assert [(t['start'], t['end']) for t in v['trimmed']] == [
                (x['start'], x['end']) for x in segs]
            full = decord.VideoReader(osp.join(out, v['filename']))
            for t in v['trimmed']:
                expected.append((osp.join(out, t['filename']), v['label']))
                vr = decord.VideoReader(osp.join(out, t['filename']))
                assert len(vr) == t['end'] - t['start']
                clip = vr.get_batch([0, len(vr) - 1]).asnumpy()
                ref = full.get_batch([t['start'], t['end'] - 1]).asnumpy()
                assert np.abs(clip.astype(float) - ref).mean() < 8
        got = [(ds.get_data_info(i)['filename'], ds.get_data_info(i)['label'])
               for i in range(len(ds))]
        assert got == expected
        n += len(got)
    assert summary['num_trimmed'] == n > 0


def test_benchmark_activitynet_json_matches_meta(bench):
    out, _, meta = bench
    with open(osp.join(out, ANET_JSON)) as f:
        anet = json.load(f)
    fps = meta['params']['fps']
    assert set(anet['database']) == {v['id'] for v in meta['videos']}
    for v in meta['videos']:
        entry = anet['database'][v['id']]
        assert entry['subset'] == v['subset']
        assert entry['duration'] == pytest.approx(60 / fps)
        expected = [[s['start'] / fps, s['end'] / fps]
                    for s in v['segments'] if s['kind'] == 'class']
        assert [a['segment'] for a in entry['annotations']] == expected
        assert {a['label'] for a in entry['annotations']} == {
            v['class_name']}
    parents = {n['parentId'] for n in anet['taxonomy']}
    leaves = sorted(n['nodeName'] for n in anet['taxonomy']
                    if n['nodeId'] not in parents)
    assert leaves == [c['name'] for c in meta['classes']]


def test_benchmark_deterministic_and_overwrite(bench, tmp_path):
    out, _, meta = bench
    other = str(tmp_path / 'again')
    make_video_benchmark(other, seed=3, cfg=BenchmarkConfig(**TINY),
                         progress=False)
    for name in ('meta.json', 'train_list.txt', 'val_list.txt', ANET_JSON):
        assert _md5(osp.join(out, name)) == _md5(osp.join(other, name))
    for v in meta['videos']:
        assert _md5(osp.join(out, v['filename'])) == _md5(
            osp.join(other, v['filename']))
    with pytest.raises(FileExistsError, match='overwrite'):
        make_video_benchmark(other, seed=4, cfg=BenchmarkConfig(**TINY),
                             progress=False)
    cfg = BenchmarkConfig(**dict(TINY, train_per_class=1))
    make_video_benchmark(other, seed=4, cfg=cfg, overwrite=True,
                         progress=False)
    assert len(os.listdir(osp.join(other, 'videos'))) == 6  # old ones gone
    with open(osp.join(other, 'meta.json')) as f:
        n_trim = sum(len(v['trimmed']) for v in json.load(f)['videos'])
    assert len(os.listdir(osp.join(other, 'trimmed'))) == n_trim
    make_video_benchmark(other, seed=4, cfg=cfg, overwrite=True,
                         trimmed=False, progress=False)
    assert not os.listdir(osp.join(other, 'trimmed'))
    assert not osp.exists(osp.join(other, 'train_trimmed_list.txt'))
    with open(osp.join(other, 'meta.json')) as f:
        assert json.load(f)['seed'] == 4


def test_cli_writes_benchmark(tmp_path, capsys):
    path = osp.join(ROOT, 'tools', 'data', 'make_video_benchmark.py')
    spec = importlib.util.spec_from_file_location('make_video_benchmark',
                                                  path)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    out = str(tmp_path / 'cli')
    cli.main(['--out', out, '--seed', '1', '--num-classes', '2',
              '--train-per-class', '1', '--test-per-class', '1',
              '--num-frames', '60', '--frame-size', '32', '32',
              '--min-segment', '12', '--max-segment', '24', '--no-progress'])
    assert 'videos' in capsys.readouterr().out
    with open(osp.join(out, 'meta.json')) as f:
        meta = json.load(f)
    assert meta['seed'] == 1 and len(meta['videos']) == 4
    assert meta['params']['frame_size'] == [32, 32]


@pytest.mark.parametrize('mode', ['truncated', 'garbage', 'empty'])
def test_corrupt_video_is_unreadable(tmp_path, mode):
    path = write_corrupt_video(str(tmp_path / f'{mode}.mp4'), mode=mode)
    assert osp.exists(path)
    with pytest.raises((RuntimeError, decord.DECORDError)):
        decord.VideoReader(path)
    with pytest.raises(ValueError, match='mode'):
        write_corrupt_video(str(tmp_path / 'x.mp4'), mode='nope')


def test_short_video(tmp_path):
    path = write_short_video(str(tmp_path / 'short.mp4'), num_frames=4,
                             frame_size=(32, 40))
    vr = decord.VideoReader(path)
    assert len(vr) == 4
    assert vr.get_batch([0, 3]).asnumpy().shape == (2, 32, 40, 3)
    check_readable(path, 4, (32, 40))
    with pytest.raises(RuntimeError, match='expected 5'):
        check_readable(path, 5, (32, 40))
    with pytest.raises(RuntimeError, match='decord'):
        check_readable(path, 4, (32, 64))
