"""The discriminability pass against an independent numpy computation."""
import os
import os.path as osp

import numpy as np
import pytest
import torch

import mmddl  # noqa: F401  (compat fixes before mmaction.models)
from mmengine.registry import DATASETS, MODELS, DefaultScope

from ddl_engine_testutils import (CORRUPT, H, VIDEOS, candidate_pipeline,
                                  make_videos, ref_clip_features,
                                  ref_dscores, tiny_r3d_cfg)
from mmddl.engine import compute_score_table, ensure_meta_keys
from mmddl.engine.candidates import element_layout


#: float32 features (batched convs) vs the per-clip reference differ by
#: float32 round-off; euclidean D (a ratio of distances that are small next
#: to the feature norms) amplifies that to a few 1e-6.
RAW_RTOL = 1e-5


def _dscore_atol(raw):
    """Eq. 4 turns a raw error e into at most 0.25 * e / std (sigmoid'<=1/4).

    Random-weights features give raw D close to 1 with a small spread, so
    the tolerance follows from RAW_RTOL instead of being a loose constant.
    """
    return 0.25 * RAW_RTOL * np.abs(raw).max() / raw.std() + 1e-7


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    torch.manual_seed(0)
    root = str(tmp_path_factory.mktemp('videos'))
    lists = make_videos(root)
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(tiny_r3d_cfg()).eval()
    return lists, model


def _dataset(lists, three_crop=False, ann_file=None):
    with DefaultScope.overwrite_default_scope('mmaction'):
        return DATASETS.build(
            dict(type='VideoDataset', ann_file=ann_file or lists['full'],
                 data_prefix=dict(video=lists['prefix']),
                 pipeline=ensure_meta_keys(candidate_pipeline(three_crop)),
                 test_mode=True))


def _reference(lists, model, crops_x=(None, ), videos=VIDEOS):
    keys, pos, feats, labels = [], [], [], []
    for name, _, label in videos:
        path = osp.join(lists['prefix'], name)
        p, f = ref_clip_features(model, path, crops_x)
        keys += [path] * len(p)
        pos += list(p)
        feats.append(f)
        labels += [label] * len(p)
    return keys, np.array(pos), np.concatenate(feats), np.array(labels)


@pytest.fixture(scope='module')
def reference(setup):
    return _reference(*setup)


@pytest.mark.parametrize('metric', ['cosine', 'euclidean'])
def test_table_matches_numpy_reference(setup, reference, metric, tmp_path):
    lists, model = setup
    with DefaultScope.overwrite_default_scope('mmaction'):
        table = compute_score_table(model, _dataset(lists), str(tmp_path),
                                    metric=metric, batch_size=2,
                                    fingerprint=dict(x=1), progress=False)
    keys, pos, feats, labels = reference
    raw, dscores = ref_dscores(feats, labels, metric)
    order = np.lexsort((table.positions, table.keys))
    ref_order = np.lexsort((pos, np.array(keys)))
    # the table keeps the data-list order; compare as sorted (key, position)
    assert len(table) == len(keys) == 15
    np.testing.assert_array_equal(table.keys[order], np.array(keys)[ref_order])
    np.testing.assert_array_equal(table.positions[order], pos[ref_order])
    np.testing.assert_array_equal(table.labels[order], labels[ref_order])
    np.testing.assert_allclose(table.raw[order], raw[ref_order],
                               rtol=RAW_RTOL)
    np.testing.assert_allclose(table.dscores[order], dscores[ref_order],
                               atol=_dscore_atol(raw))
    assert table.mean == pytest.approx(raw.mean(), rel=1e-4)
    assert table.std == pytest.approx(raw.std(), rel=1e-3)
    fp = dict(table.fingerprint)
    assert fp.pop('data_files_sha256') == table.sources.digest()
    assert table.metric == metric and fp == dict(x=1)
    # every sample file's identity, as os.stat gives it, in list order
    names = [n for n, _, _ in VIDEOS[:3]] + [CORRUPT[0]] + \
        [n for n, _, _ in VIDEOS[3:]]
    paths = [osp.join(lists['prefix'], n) for n in names]
    assert table.sources.keys.tolist() == paths
    assert table.sources.stats.tolist() == [
        [os.stat(p).st_size, os.stat(p).st_mtime_ns] for p in paths]
    assert table.info['clip_len'] == 4 and table.info['frame_interval'] == 2
    # the corrupt video is skipped, counted, with the decoder's reason
    assert [s['key'] for s in table.skipped] == [
        osp.join(lists['prefix'], CORRUPT[0])]
    assert table.skipped[0]['reason']
    # the short video (5 frames < one 7-frame clip): all clips start at 0
    short = osp.join(lists['prefix'], 'short.mp4')
    assert table.positions[table.keys == short].tolist() == [0, 0, 0]
    assert table.positions_for(short).tolist() == [0]


def test_three_crop_views_are_averaged_per_clip(setup, tmp_path):
    lists, model = setup
    videos = [VIDEOS[0], VIDEOS[3], VIDEOS[4]]  # 3 classes, incl. short
    ann = tmp_path / 'crop_list.txt'
    ann.write_text(''.join(f'{n} {y}\n' for n, _, y in videos))
    with DefaultScope.overwrite_default_scope('mmaction'):
        table = compute_score_table(
            model, _dataset(lists, True, str(ann)), str(tmp_path / 'store'),
            batch_size=2, progress=False)
    # ThreeCrop on 40x32 frames, crop 32: x offsets left 0, right 8, mid 4
    keys, pos, feats, labels = _reference(lists, model, (0, 8, 4), videos)
    raw, dscores = ref_dscores(feats, labels)
    np.testing.assert_array_equal(table.keys, np.array(keys))
    np.testing.assert_array_equal(table.positions, pos)
    np.testing.assert_allclose(table.raw, raw, rtol=RAW_RTOL)
    np.testing.assert_allclose(table.dscores, dscores, atol=_dscore_atol(raw))
    assert H == 32


def test_element_layout_errors_and_images():
    assert element_layout({'img_path': 'a.png'}, 2) == ('a.png', [0], 2)
    meta = dict(filename='v.mp4', frame_inds=np.arange(8) + 1, clip_len=4,
                start_index=1)
    assert element_layout(meta, 6) == ('v.mp4', [0, 4], 3)
    with pytest.raises(ValueError, match='meta_keys'):
        element_layout({'frame_inds': np.arange(4)}, 1)
    with pytest.raises(ValueError, match='not a multiple'):
        element_layout(meta, 3)
    with pytest.raises(ValueError, match="'start_index'"):
        element_layout(dict(filename='v', frame_inds=np.arange(4),
                            clip_len=4), 1)


def test_all_samples_failing_is_a_clear_error(setup, tmp_path):
    _, model = setup
    bad = tmp_path / 'bad.mp4'
    bad.write_bytes(b'not a video')
    (tmp_path / 'list.txt').write_text('bad.mp4 0\n')
    with DefaultScope.overwrite_default_scope('mmaction'):
        ds = DATASETS.build(
            dict(type='VideoDataset', ann_file=str(tmp_path / 'list.txt'),
                 data_prefix=dict(video=str(tmp_path)),
                 pipeline=ensure_meta_keys(candidate_pipeline()),
                 test_mode=True))
        with pytest.raises(RuntimeError, match='no element could be scored'):
            compute_score_table(model, ds, str(tmp_path / 'store'),
                                progress=False)


def test_ensure_meta_keys_keeps_defaults_and_requires_pack():
    with DefaultScope.overwrite_default_scope('mmaction'):
        pipe = ensure_meta_keys(candidate_pipeline())
    keys = pipe[-1]['meta_keys']
    assert 'img_shape' in keys  # PackActionInputs' own default kept
    assert {'filename', 'frame_inds', 'clip_len', 'start_index'} <= set(keys)
    assert 'meta_keys' not in candidate_pipeline()[-1]  # input not mutated
    with pytest.raises(ValueError, match='no Pack transform'):
        ensure_meta_keys([dict(type='DecordInit')])


def test_images_with_mmpretrain_classifier(tmp_path):
    """Image path (face / re-ID): one element per image, position 0."""
    import cv2
    from mmddl.datasets.transforms import LoadDScore
    rng = np.random.RandomState(0)
    lines, imgs, labels = [], [], []
    for i in range(6):
        label = i % 2
        img = rng.randint(0, 120, (20, 20, 3)).astype(np.uint8)
        img[:, :, label] += 100  # class-dependent colour
        cv2.imwrite(str(tmp_path / f'im{i}.png'), img)
        lines.append(f'im{i}.png {label}')
        imgs.append(img)
        labels.append(label)
    (tmp_path / 'list.txt').write_text('\n'.join(lines) + '\n')
    cfg = dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet', depth=18, stem_channels=8,
                      base_channels=8, num_stages=2, strides=(1, 2),
                      dilations=(1, 1), out_indices=(1, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=2, in_channels=16),
        data_preprocessor=dict(type='ClsDataPreprocessor',
                               mean=[100., 110., 120.], std=[50., 60., 70.]))
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg).eval()
        ds = DATASETS.build(dict(
            type='CustomDataset', data_root=str(tmp_path),
            ann_file='list.txt', data_prefix='',
            pipeline=ensure_meta_keys([dict(type='LoadImageFromFile'),
                                       dict(type='PackInputs')]),
            test_mode=True))
        table = compute_score_table(model, ds, str(tmp_path / 'store'),
                                    batch_size=4, progress=False)
    # reference: BGR pixels (mmpretrain loads BGR, no to_rgb), normalise,
    # backbone, global average, Eq. 2-4 in numpy
    x = (np.stack(imgs).astype(np.float64) - [100., 110., 120.]) / \
        [50., 60., 70.]
    with torch.no_grad():
        out = model.backbone(torch.from_numpy(x).permute(0, 3, 1, 2).float())
    raw, dscores = ref_dscores(out[-1].mean((2, 3)).numpy(), np.array(labels))
    assert [osp.basename(k) for k in table.keys] == [
        f'im{i}.png' for i in range(6)]
    assert table.positions.tolist() == [0] * 6
    assert table.labels.tolist() == labels
    np.testing.assert_allclose(table.raw, raw, rtol=RAW_RTOL)
    np.testing.assert_allclose(table.dscores, dscores, atol=_dscore_atol(raw))
    path = table.save(str(tmp_path / 'faces.npz'))
    t = LoadDScore(table_file=path)
    got = t(dict(img_path=str(table.keys[3])))['gt_dscore']
    assert got == pytest.approx(dscores[3], abs=_dscore_atol(raw))


def test_dataloader_instead_of_dataset_is_refused(tmp_path):
    from torch.utils.data import DataLoader
    with pytest.raises(TypeError, match='not a DataLoader'):
        compute_score_table(torch.nn.Linear(1, 1), DataLoader([1, 2]),
                            str(tmp_path))


def test_progress_is_logged_with_eta(setup, tmp_path):
    """The pass writes progress lines (rank 0) to the current logger's file,
    per batch, with the rate and an ETA; reused shards do not count into
    the rate."""
    from mmengine.logging import MMLogger
    lists, model = setup
    log_file = str(tmp_path / 'pass.log')
    MMLogger.get_instance(f'h4_progress_{tmp_path.name}', log_file=log_file,
                          log_level='INFO')
    with DefaultScope.overwrite_default_scope('mmaction'):
        compute_score_table(model, _dataset(lists), str(tmp_path / 'store'),
                            batch_size=1, shard_size=2, progress=True)
    with open(log_file) as f:
        lines = [ln for ln in f if 'samples (' in ln and 'ETA' in ln]
    # 6 samples, 3 shards of 2; one line per batch of 1 (>= every 5 %)
    assert len(lines) == 6, lines
    assert 'DDL pass (rank 0/1, 3 shards): 1/6 samples (17%)' in lines[0]
    assert '6/6 samples (100%)' in lines[-1] and 'ETA 0:00:00' in lines[-1]
    assert all('samples/s' in ln for ln in lines)


def test_log_progress_every_fraction_and_skip():
    from mmddl.utils.progress import LogProgress, format_seconds
    p = LogProgress(200, fraction=0.1, interval_s=1e9)
    p.skip(100)  # e.g. reused shards: no rate yet
    assert p.lines == 1 and p.eta() is None
    for _ in range(100):
        p.update(1)
    assert p.lines == 1 + 5  # every 20 of the remaining 100
    assert p.eta() == 0
    assert format_seconds(3725) == '1:02:05'
    with pytest.raises(ValueError, match='fraction'):
        LogProgress(5, fraction=0)
