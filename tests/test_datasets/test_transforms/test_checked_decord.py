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
        dict(type='SampleFrames', clip_len=8, frame_interval=1, num_clips=3,
             test_mode=True),
        dict(type='CheckedDecordDecode')
    ]
    with DefaultScope.overwrite_default_scope('mmaction'):
        return VideoDataset(str(tmp_path / 'list.txt'), pipeline=pipeline,
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
