"""DDLTwoStageDecode and ClipSource: the same pixels as one-stage decoding."""
import os
import pickle

import numpy as np
import pytest
from mmengine.registry import DefaultScope

import mmddl  # noqa: F401
from mmddl.datasets.transforms import (ClipSource, DDLTwoStageDecode,
                                       VideoDecodeError)
from mmddl.datasets.transforms.two_stage_decode import ddnet_frame_positions
from mmddl.testing.synthetic_video import (write_corrupt_video,
                                           write_short_video)

CLIPS, CLIP_LEN, INTERVAL, DD_FRAMES = 5, 8, 2, 3
SPATIAL = [
    dict(type='Resize', scale=(-1, 40)),
    dict(type='ThreeCrop', crop_size=40),
    dict(type='FormatShape', input_format='NCTHW')
]


@pytest.fixture(autouse=True)
def _mmaction_scope():
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


def dataset(root, name, decode):
    from mmaction.datasets import VideoDataset
    (root / 'list.txt').write_text(f'{name} 0\n')
    pipeline = [
        dict(type='CheckedDecordInit'),
        dict(
            type='SampleFrames',
            clip_len=CLIP_LEN,
            frame_interval=INTERVAL,
            num_clips=CLIPS,
            test_mode=True)
    ] + decode
    return VideoDataset(
        str(root / 'list.txt'),
        pipeline=pipeline,
        data_prefix=dict(video=str(root)),
        test_mode=True)


def one_stage(root, name='v.mp4'):
    return dataset(root, name, [dict(type='CheckedDecordDecode')] + SPATIAL)[0]


def two_stage(root, name='v.mp4', **kwargs):
    step = dict(
        type='DDLTwoStageDecode',
        ddnet_frames=DD_FRAMES,
        pipeline=SPATIAL,
        **kwargs)
    return dataset(root, name, [step])[0]


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    root = tmp_path_factory.mktemp('two_stage')
    write_short_video(
        str(root / 'v.mp4'),
        num_frames=70,
        frame_size=(48, 64),
        seed=3,
        label=2)
    return root


def test_positions():
    assert ddnet_frame_positions(16, 4).tolist() == [0, 4, 8, 12]
    assert ddnet_frame_positions(8, 3).tolist() == [0, 2, 5]
    with pytest.raises(ValueError, match='ddnet_frames=9'):
        ddnet_frame_positions(8, 9)


def test_stage1_and_stage2_equal_one_stage(video):
    full = one_stage(video)
    staged = two_stage(video)
    views = full['imgs']  # (3 crops * CLIPS, C, CLIP_LEN, 40, 40)
    assert views.shape == (3 * CLIPS, 3, CLIP_LEN, 40, 40)
    pos = ddnet_frame_positions(CLIP_LEN, DD_FRAMES)
    assert staged['imgs'].shape == (3 * CLIPS, 3, DD_FRAMES, 40, 40)
    np.testing.assert_array_equal(staged['imgs'], views[:, :, pos])
    assert staged['video_reader'] is None
    assert staged['clip_len'] == CLIP_LEN and staged['num_clips'] == CLIPS
    src = staged['ddl_clip_source']
    assert (src.num_clips, src.clip_len, src.num_crops,
            src.ddnet_frames) == (CLIPS, CLIP_LEN, 3, DD_FRAMES)
    np.testing.assert_array_equal(src.frame_inds.ravel(), full['frame_inds'])
    # stage 2: the selected clips in the given order, crop-major
    sel = [3, 0, 4]
    out = src.load(sel).numpy()
    expect = views.reshape(3, CLIPS, *views.shape[1:])[:, sel]
    np.testing.assert_array_equal(out, expect.reshape(-1, *views.shape[1:]))
    # the handle survives pickling (data loader workers)
    again = pickle.loads(pickle.dumps(src))
    np.testing.assert_array_equal(
        again.load(np.array([1])).numpy(),
        views.reshape(3, CLIPS, *views.shape[1:])[:, 1])


def test_one_stage_switch_equals_decord_decode(video):
    full = one_stage(video)
    same = two_stage(video, one_stage=True)
    np.testing.assert_array_equal(same['imgs'], full['imgs'])
    assert 'ddl_clip_source' not in same


def test_resized_decode(video):
    crop = [
        dict(type='CenterCrop', crop_size=24),
        dict(type='FormatShape', input_format='NCTHW')
    ]
    out = two_stage(video, ddnet_decode_size=24, ddnet_pipeline=crop)
    assert out['imgs'].shape == (CLIPS, 3, DD_FRAMES, 24, 24)
    assert out['original_shape'] == (24, 32)
    # stage 2 stays at full size with `pipeline`
    assert out['ddl_clip_source'].num_crops == 1
    out = two_stage(
        video, ddnet_decode_size=(32, 24), ddnet_pipeline=[crop[1]])
    assert out['imgs'].shape == (CLIPS, 3, DD_FRAMES, 24, 32)


def test_errors_name_the_file(video, tmp_path):
    src = two_stage(video)['ddl_clip_source']
    with pytest.raises(IndexError, match=r"v\.mp4.*\[5\] out of range"):
        src.load([0, 5])
    with pytest.raises(ValueError, match='no clips'):
        src.load([])
    # the file disappears between the stages
    moved = ClipSource(
        str(tmp_path / 'gone.mp4'), src.frame_inds, src.pipeline_cfg,
        DD_FRAMES, 3)
    with pytest.raises(VideoDecodeError, match='gone.mp4.*missing'):
        moved.load([0])
    write_corrupt_video(str(tmp_path / 'bad.mp4'))
    with pytest.raises(VideoDecodeError, match='bad.mp4'):
        ClipSource(
            str(tmp_path / 'bad.mp4'), src.frame_inds, src.pipeline_cfg,
            DD_FRAMES, 3).load([0])
    with pytest.raises(ValueError, match=r'x\.mp4.*\(N, clip_len\)'):
        ClipSource('x.mp4', np.arange(4), SPATIAL, DD_FRAMES, 3)
    # a stage-2 pipeline that makes another number of crops
    other = ClipSource(
        os.path.join(str(video), 'v.mp4'), src.frame_inds, SPATIAL, DD_FRAMES,
        1)
    with pytest.raises(ValueError, match='3 views for 1 clips'):
        other.load([0])
    with pytest.raises(ValueError, match='FormatShape'):
        dataset(video, 'v.mp4', [
            dict(
                type='DDLTwoStageDecode', ddnet_frames=2, pipeline=SPATIAL[:2])
        ])[0]
    with pytest.raises(ValueError, match='ddnet_frames=9'):
        dataset(video, 'v.mp4', [
            dict(type='DDLTwoStageDecode', ddnet_frames=9, pipeline=SPATIAL)
        ])[0]
    with pytest.raises(KeyError, match='SampleFrames'):
        DDLTwoStageDecode(2, SPATIAL).transform(dict(filename='v.mp4'))
    with pytest.raises(ValueError, match='only used with'):
        DDLTwoStageDecode(2, SPATIAL, ddnet_pipeline=SPATIAL)
    with pytest.raises(ValueError, match='ddnet_decode_size'):
        DDLTwoStageDecode(2, SPATIAL, ddnet_decode_size=(0, 4))


def test_corrupt_video_in_stage_one(tmp_path):
    write_corrupt_video(str(tmp_path / 'bad.mp4'))
    with pytest.raises(VideoDecodeError, match='bad.mp4'):
        two_stage(tmp_path, 'bad.mp4')
