"""Corrupt and short videos at test time: clear errors / correct frames."""
import numpy as np
import pytest
from mmengine.registry import DefaultScope

import mmddl  # noqa: F401
from mmddl.datasets.transforms import VideoDecodeError
from mmddl.testing.synthetic_video import (write_corrupt_video,
                                           write_short_video)


def dataset(tmp_path, name):
    from mmaction.datasets import VideoDataset
    (tmp_path / 'list.txt').write_text(f'{name} 0\n')
    pipeline = [
        dict(type='CheckedDecordInit'),
        dict(
            type='SampleFrames',
            clip_len=8,
            frame_interval=1,
            num_clips=3,
            test_mode=True),
        dict(type='CheckedDecordDecode')
    ]
    with DefaultScope.overwrite_default_scope('mmaction'):
        return VideoDataset(
            str(tmp_path / 'list.txt'),
            pipeline=pipeline,
            data_prefix=dict(video=str(tmp_path)),
            test_mode=True)


def test_corrupt_video_error_names_the_file(tmp_path):
    write_corrupt_video(str(tmp_path / 'bad.mp4'))
    ds = dataset(tmp_path, 'bad.mp4')
    with pytest.raises(VideoDecodeError, match='bad.mp4'):
        ds[0]


def test_video_shorter_than_one_clip_loops_frames(tmp_path):
    write_short_video(str(tmp_path / 'short.mp4'), num_frames=4)
    out = dataset(tmp_path, 'short.mp4')[0]
    assert out['total_frames'] == 4
    # 3 clips x 8 frames, indices looped inside the 4 frames
    assert out['frame_inds'].tolist() == [0, 1, 2, 3] * 6
    assert np.asarray(out['imgs']).shape[0] == 24


def test_decode_equals_stock_decord_decode(tmp_path):
    """Each distinct frame decoded once, scattered back: the stock
    DecordDecode's frames, for overlapping clips too."""
    from mmaction.datasets.transforms import DecordDecode, DecordInit

    from mmddl.datasets.transforms import CheckedDecordDecode
    write_short_video(str(tmp_path / 'v.mp4'), num_frames=40, seed=1)
    inds = np.array([5, 6, 7, 3, 4, 5, 30, 0, 39, 39, 12])
    out = []
    for decode in (DecordDecode(), CheckedDecordDecode()):
        results = DecordInit().transform(
            dict(filename=str(tmp_path / 'v.mp4')))
        results['frame_inds'] = inds
        out.append(np.stack(decode.transform(results)['imgs']))
    assert out[0].shape == (len(inds), 64, 64, 3)
    np.testing.assert_array_equal(out[0], out[1])
