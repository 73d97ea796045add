"""Tests of the ActivityNet-1.2 video-level dataset."""
import json
import os.path as osp

import mmddl  # noqa: F401  (compat fixes first)

# isort: split
import pytest
from mmaction.datasets.transforms import DecordDecode, DecordInit, SampleFrames
from mmaction.registry import DATASETS

from mmddl.datasets.activitynet import ActivityNetVideoDataset, taxonomy_leaves
from mmddl.testing.synthetic_video import (ANET_JSON, BenchmarkConfig,
                                           make_video_benchmark)

# Root -> Sports -> {Ball games -> {Volleyball, Polo}, Surfing}
#      -> Household -> {Ironing clothes, Mopping floor}
TAXONOMY = [
    dict(nodeId=0, nodeName='Root', parentId=None, parentName=None),
    dict(nodeId=1, nodeName='Sports', parentId=0, parentName='Root'),
    dict(nodeId=2, nodeName='Household', parentId=0, parentName='Root'),
    dict(nodeId=3, nodeName='Ball games', parentId=1, parentName='Sports'),
    dict(nodeId=10, nodeName='Volleyball', parentId=3,
         parentName='Ball games'),
    dict(nodeId=11, nodeName='Polo', parentId=3, parentName='Ball games'),
    dict(nodeId=12, nodeName='Surfing', parentId=1, parentName='Sports'),
    dict(nodeId=13, nodeName='Mopping floor', parentId=2,
         parentName='Household'),
    dict(nodeId=14, nodeName='Ironing clothes', parentId=2,
         parentName='Household'),
]
CLASSES = ['Ironing clothes', 'Mopping floor', 'Polo', 'Surfing',
           'Volleyball']


def _video(subset, anns, duration=100.0):
    return dict(subset=subset, duration=duration, resolution='640x360',
                url='https://www.youtube.com/watch?v=x',
                annotations=[dict(segment=list(s), label=lab)
                             for s, lab in anns])


DATABASE = {
    'vidA': _video('training', [((1.0, 5.0), 'Polo'), ((9, 20), 'Polo')]),
    # two classes: Surfing 10 s + 5 s = 15 s beats Volleyball 12 s
    'vidB': _video('training', [((0, 12), 'Volleyball'),
                                ((20, 30), 'Surfing'), ((40, 45),
                                                        'Surfing')]),
    # tie (10 s each): lower class index wins (Mopping floor=1 < Surfing=3)
    'vidC': _video('training', [((0, 10), 'Surfing'),
                                ((10, 20), 'Mopping floor')]),
    'vidD': _video('validation', [((3.5, 7.25), 'Ironing clothes')]),
    'vidE': _video('validation', [((0, 50), 'Polo')]),
    'vidT': _video('testing', []),
    'vidU': _video('training', []),  # annotated subset, no annotation
}


def _write(tmp_path, database=None, taxonomy=TAXONOMY, files=None,
           name='activity_net.v1-2.min.json'):
    ann = tmp_path / name
    ann.write_text(json.dumps(dict(version='VERSION 1.2', taxonomy=taxonomy,
                                   database=database or DATABASE)))
    vdir = tmp_path / 'videos'
    vdir.mkdir(exist_ok=True)
    for vid in (files if files is not None else DATABASE):
        (vdir / f'v_{vid}.mp4').write_bytes(b'placeholder')
    return str(ann), str(vdir)


def _ds(ann_file, **kwargs):
    return ActivityNetVideoDataset(ann_file, pipeline=[],
                                   serialize_data=False, **kwargs)


def _expected(data, subsets, vdir):
    """Independent straightforward parse of the policies."""
    names = sorted({'Ironing clothes', 'Mopping floor', 'Polo', 'Surfing',
                    'Volleyball'})
    out = []
    for vid in sorted(data):
        v = data[vid]
        if v['subset'] not in subsets or not v['annotations']:
            continue
        total = {}
        for a in v['annotations']:
            total[a['label']] = total.get(a['label'], 0) + (
                a['segment'][1] - a['segment'][0])
        best = max(total.values())
        label = min(names.index(n) for n, d in total.items() if d == best)
        out.append((osp.join(vdir, f'v_{vid}.mp4'), label))
    return out


def test_taxonomy_leaves():
    assert taxonomy_leaves(TAXONOMY) == CLASSES


@pytest.mark.parametrize('subset', ['training', 'validation',
                                    ['training', 'validation', 'testing']])
def test_matches_independent_parse(tmp_path, subset):
    ann, vdir = _write(tmp_path)
    ds = _ds(ann, subset=subset, data_prefix=dict(video=vdir))
    subsets = [subset] if isinstance(subset, str) else subset
    got = [(ds.get_data_info(i)['filename'], ds.get_data_info(i)['label'])
           for i in range(len(ds))]
    assert got == _expected(DATABASE, subsets, vdir)
    assert ds.metainfo['classes'] == tuple(CLASSES)
    n_unannotated = sum(v['subset'] in subsets and not v['annotations']
                        for v in DATABASE.values())
    assert ds.stats['unannotated'] == n_unannotated
    assert ds.stats['missing'] == 0


def test_multi_class_video_fields(tmp_path):
    ann, vdir = _write(tmp_path)
    ds = _ds(ann, subset='training', data_prefix=dict(video=vdir))
    info = {ds.get_data_info(i)['video_id']: ds.get_data_info(i)
            for i in range(len(ds))}
    assert set(info) == {'vidA', 'vidB', 'vidC'}
    b = info['vidB']
    assert b['label'] == CLASSES.index('Surfing')
    assert b['labels'] == sorted([CLASSES.index('Surfing'),
                                  CLASSES.index('Volleyball')])
    assert b['segments'] == [[0, 12], [20, 30], [40, 45]]
    assert b['duration'] == 100.0 and b['subset'] == 'training'
    assert info['vidC']['label'] == CLASSES.index('Mopping floor')
    assert ds.stats['multi_class'] == 2
    assert ds.get_data_info(0)['modality'] == 'RGB'


def test_registry_build(tmp_path):
    ann, vdir = _write(tmp_path)
    ds = DATASETS.build(dict(type='ActivityNetVideoDataset', ann_file=ann,
                             pipeline=[], subset='validation',
                             data_prefix=dict(video=vdir), test_mode=True,
                             serialize_data=False))
    assert isinstance(ds, ActivityNetVideoDataset) and len(ds) == 2


def test_missing_files_error_and_skip(tmp_path):
    ann, vdir = _write(tmp_path, files=['vidA'])
    with pytest.raises(FileNotFoundError, match=r'2 of 3 videos') as e:
        _ds(ann, data_prefix=dict(video=vdir))
    assert 'v_vidB.mp4' in str(e.value) and 'skip_missing' in str(e.value)
    ds = _ds(ann, skip_missing=True, data_prefix=dict(video=vdir))
    assert len(ds) == 1 and ds.stats['missing'] == 2
    assert ds.get_data_info(0)['video_id'] == 'vidA'


def test_filename_template(tmp_path):
    ann, vdir = _write(tmp_path, files=[])
    for vid in DATABASE:
        (tmp_path / 'videos' / f'{vid}.mkv').write_bytes(b'x')
    ds = _ds(ann, filename_tmpl='{}.mkv', data_prefix=dict(video=vdir))
    assert ds.get_data_info(0)['filename'] == osp.join(vdir, 'vidA.mkv')
    with pytest.raises(ValueError, match='filename_tmpl'):
        _ds(ann, filename_tmpl='v.mp4', data_prefix=dict(video=vdir))


def test_class_options(tmp_path):
    ann, vdir = _write(tmp_path)
    cls_file = tmp_path / 'classes.txt'
    order = ['Volleyball', 'Polo', 'Surfing', 'Mopping floor',
             'Ironing clothes']
    cls_file.write_text('\n'.join(order) + '\n')
    ds = _ds(ann, classes=str(cls_file), data_prefix=dict(video=vdir))
    assert ds.metainfo['classes'] == tuple(order)
    info = {ds.get_data_info(i)['video_id']: ds.get_data_info(i)['label']
            for i in range(len(ds))}
    assert info == dict(vidA=1, vidB=2, vidC=2)  # tie: Surfing (2) < 3
    # 'annotated': leaves used by some annotation (here all five)
    extra = TAXONOMY + [dict(nodeId=15, nodeName='Archery', parentId=1,
                             parentName='Sports')]
    ann2, _ = _write(tmp_path, taxonomy=extra, name='extra.json')
    full = _ds(ann2, data_prefix=dict(video=vdir))
    assert full.metainfo['classes'][0] == 'Archery'
    used = _ds(ann2, classes='annotated', data_prefix=dict(video=vdir))
    assert used.metainfo['classes'] == tuple(CLASSES)
    with pytest.raises(ValueError, match='not in the class list'):
        _ds(ann, classes=['Polo'], data_prefix=dict(video=vdir))


def test_bad_inputs(tmp_path):
    ann, vdir = _write(tmp_path)
    with pytest.raises(ValueError, match='subset'):
        _ds(ann, subset='train', data_prefix=dict(video=vdir))
    with pytest.raises(ValueError, match='no usable video'):
        _ds(ann, subset='testing', data_prefix=dict(video=vdir))
    bad = dict(DATABASE, vidA=_video('training', [((5, 1), 'Polo')]))
    ann_bad, _ = _write(tmp_path, database=bad, name='bad.json')
    with pytest.raises(ValueError, match='vidA'):
        _ds(ann_bad, data_prefix=dict(video=vdir))
    (tmp_path / 'notanet.json').write_text('{"results": {}}')
    with pytest.raises(ValueError, match='database'):
        _ds(str(tmp_path / 'notanet.json'), data_prefix=dict(video=vdir))
    with pytest.raises(FileNotFoundError):
        _ds(str(tmp_path / 'absent.json'))


def test_on_synthetic_benchmark_with_decord_pipeline(tmp_path):
    out = str(tmp_path / 'bench')
    cfg = BenchmarkConfig(num_classes=3, train_per_class=2,
                          test_per_class=1, num_frames=60,
                          frame_size=(32, 32), min_segment=12,
                          max_segment=24)
    make_video_benchmark(out, seed=0, cfg=cfg, progress=False)
    pipeline = [DecordInit(), SampleFrames(clip_len=8, frame_interval=2,
                                           num_clips=1), DecordDecode()]
    ds = ActivityNetVideoDataset(osp.join(out, ANET_JSON), pipeline,
                                 subset='training', serialize_data=False,
                                 data_prefix=dict(video=osp.join(out,
                                                                 'videos')))
    with open(osp.join(out, 'train_list.txt')) as f:
        listed = [line.split() for line in f.read().splitlines()]
    got = [(osp.relpath(ds.get_data_info(i)['filename'], out),
            str(ds.get_data_info(i)['label'])) for i in range(len(ds))]
    assert got == [tuple(x) for x in listed]
    with open(osp.join(out, 'classes.txt')) as f:
        assert list(ds.metainfo['classes']) == f.read().split()
    sample = ds[0]
    assert sample['total_frames'] == 60
    assert sample['imgs'][0].shape == (32, 32, 3) and len(
        sample['imgs']) == 8
