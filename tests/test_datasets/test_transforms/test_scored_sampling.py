"""SampleScoredClips / LoadDScore against mmaction's SampleFrames."""
import os
import pickle

import numpy as np
import pytest

import mmddl  # noqa: F401
from mmengine.dataset import BaseDataset
from mmengine.registry import TRANSFORMS, DefaultScope

from mmddl.datasets.transforms import (LoadDScore, SampleScoredClips,
                                       VideoDecodeError)
from mmddl.structures.score_table import ScoreTable


def _save(tmp_path, keys, positions, dscores, name='t.npz', **info):
    n = len(keys)
    table = ScoreTable(keys=keys, positions=positions, labels=[0] * n,
                       raw=dscores, dscores=dscores, mean=0.0, std=1.0,
                       metric='cosine',
                       skipped=[dict(key='bad.mp4', reason='decode error')],
                       info=info)
    return table.save(str(tmp_path / name))


def _sample_frames_clips(total, clip_len, interval, num_clips, start_index,
                         oob):
    from mmaction.datasets.transforms import SampleFrames
    out = SampleFrames(clip_len=clip_len, frame_interval=interval,
                       num_clips=num_clips, test_mode=True,
                       out_of_bound_opt=oob)(
                           dict(total_frames=total, start_index=start_index))
    return out['frame_inds'].reshape(num_clips, clip_len)


@pytest.mark.parametrize('total', [40, 23, 5])
@pytest.mark.parametrize('start_index', [0, 1])
@pytest.mark.parametrize('oob', ['loop', 'repeat_last'])
def test_frame_inds_equal_sample_frames(tmp_path, total, start_index, oob):
    clip_len, interval, num_clips = 4, 3, 5
    clips = _sample_frames_clips(total, clip_len, interval, num_clips,
                                 start_index, oob)
    for c, ref in enumerate(clips):
        start = int(ref[0]) - start_index
        path = _save(tmp_path, ['v.mp4'], [start], [0.3], name=f'{c}.npz',
                     clip_len=clip_len, frame_interval=interval)
        t = SampleScoredClips(out_of_bound_opt=oob, table_file=path)
        res = t(dict(filename='v.mp4', total_frames=total,
                     start_index=start_index))
        np.testing.assert_array_equal(res['frame_inds'], ref)
        assert res['frame_inds'].dtype == np.int32
        assert (res['clip_len'], res['frame_interval'],
                res['num_clips']) == (clip_len, interval, 1)
        assert res['gt_dscore'] == pytest.approx(0.3)
        assert res['dscore_position'] == start


def test_explicit_clip_settings_override_table(tmp_path):
    path = _save(tmp_path, ['v.mp4'], [6], [0.5], clip_len=4,
                 frame_interval=3)
    res = SampleScoredClips(clip_len=3, frame_interval=1, table_file=path)(
        dict(filename='v.mp4', total_frames=8, start_index=0))
    assert res['frame_inds'].tolist() == [6, 7, 0]
    assert res['clip_len'] == 3 and res['frame_interval'] == 1
    # a table without clip settings (images) needs explicit ones
    img = _save(tmp_path, ['v.mp4'], [0], [0.5], name='img.npz')
    with pytest.raises(ValueError, match='clip_len not given'):
        SampleScoredClips(table_file=img)(dict(filename='v.mp4',
                                               total_frames=8))


@pytest.mark.parametrize('sampling', ['random', 'weighted'])
def test_sampling_distribution(tmp_path, sampling):
    dsc = np.array([0.1, 0.3, 0.6])
    path = _save(tmp_path, ['v.mp4'] * 3, [0, 10, 20], dsc, clip_len=2,
                 frame_interval=1)
    t = SampleScoredClips(sampling=sampling, table_file=path)
    np.random.seed(0)
    draws = [t(dict(filename='v.mp4', total_frames=30))
             for _ in range(3000)]
    starts = np.array([d['dscore_position'] for d in draws])
    freq = np.array([(starts == s).mean() for s in (0, 10, 20)])
    expected = dsc / dsc.sum() if sampling == 'weighted' else np.full(3, 1 / 3)
    np.testing.assert_allclose(freq, expected, atol=0.03)
    for d in draws[:20]:  # D-score is the chosen clip's
        assert d['gt_dscore'] == pytest.approx(
            dsc[[0, 10, 20].index(d['dscore_position'])])


def test_missing_skipped_and_unset(tmp_path):
    path = _save(tmp_path, ['v.mp4'], [0], [0.5], clip_len=2,
                 frame_interval=1)
    t = SampleScoredClips(table_file=path)
    with pytest.raises(KeyError, match="'other.mp4' is not in the D-score "
                       'table.*t.npz'):
        t(dict(filename='other.mp4', total_frames=10))
    with pytest.raises(KeyError, match='skipped.*decode error.*Remove it'):
        t(dict(filename='bad.mp4', total_frames=10))
    assert SampleScoredClips(table_file=path, on_skipped='refetch')(
        dict(filename='bad.mp4', total_frames=10)) is None
    with pytest.raises(RuntimeError, match='DiscriminabilityHook'):
        SampleScoredClips()(dict(filename='v.mp4', total_frames=10))
    # without total_frames it opens the video itself: a missing file is
    # named as missing; a frame folder needs its data set's total_frames
    with pytest.raises(VideoDecodeError, match="'v.mp4'.*missing"):
        t(dict(filename='v.mp4'))
    with pytest.raises(KeyError, match='RawframeDataset'):
        t(dict(frame_dir='v.mp4'))
    with pytest.raises(ValueError, match='starts at frame 0 but the video '
                       'has 0 frames'):
        t(dict(filename='v.mp4', total_frames=0))
    with pytest.raises(ValueError, match='sampling'):
        SampleScoredClips(sampling='best')


class _ListDataset(BaseDataset):

    def load_data_list(self):
        return [dict(filename='bad.mp4', total_frames=10),
                dict(filename='v.mp4', total_frames=10)]


def test_refetch_draws_another_sample_in_training(tmp_path):
    path = _save(tmp_path, ['v.mp4'], [3], [0.5], clip_len=2,
                 frame_interval=1)
    ds = _ListDataset(pipeline=[SampleScoredClips(table_file=path,
                                                  on_skipped='refetch')])
    np.random.seed(1)
    out = ds[0]  # bad.mp4 was skipped -> another (the only good) sample
    assert out['filename'] == 'v.mp4' and out['frame_inds'].tolist() == [3, 4]


def test_set_table_lazy_loading_and_pickling(tmp_path):
    t = SampleScoredClips()
    path = _save(tmp_path, ['v.mp4'], [2], [0.25], clip_len=2,
                 frame_interval=1)
    t.set_table(path)
    t2 = pickle.loads(pickle.dumps(t))  # what a dataloader worker receives
    assert t2(dict(filename='v.mp4', total_frames=5))['gt_dscore'] == 0.25
    # a rewritten file is re-read
    _save(tmp_path, ['v.mp4'], [2], [0.75], clip_len=2, frame_interval=1)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert t2(dict(filename='v.mp4', total_frames=5))['gt_dscore'] == 0.75


def test_load_dscore(tmp_path):
    path = _save(tmp_path, ['a.png', 'b.png', 'v.mp4', 'v.mp4'],
                 [0, 0, 0, 8], [0.1, 0.9, 0.5, 0.5])
    t = LoadDScore(table_file=path)
    assert t(dict(img_path='b.png'))['gt_dscore'] == pytest.approx(0.9)
    with pytest.raises(ValueError, match='expects one per image'):
        t(dict(img_path='v.mp4'))
    with pytest.raises(KeyError, match='img_path'):
        t(dict(filename='a.png'))
    assert LoadDScore(table_file=path, on_skipped='refetch')(
        dict(img_path='bad.mp4')) is None


@pytest.mark.parametrize('scope', ['mmaction', 'mmpretrain'])
def test_registered_in_root_for_both_scopes(scope):
    with DefaultScope.overwrite_default_scope(scope):
        assert isinstance(TRANSFORMS.build(dict(type='SampleScoredClips')),
                          SampleScoredClips)
        assert isinstance(TRANSFORMS.build(dict(type='LoadDScore')),
                          LoadDScore)


@pytest.mark.parametrize('oob', ['loop', 'repeat_last'])
def test_all_clips_equal_sample_frames(tmp_path, oob):
    """sampling='all' (DDNet validation): every scored clip, in position
    order, as SampleFrames(test_mode=True) gives them, with its D-score."""
    total, clip_len, interval, num_clips, start_index = 23, 4, 3, 5, 1
    clips = _sample_frames_clips(total, clip_len, interval, num_clips,
                                 start_index, oob)
    starts = clips[:, 0] - start_index
    d = np.linspace(0.1, 0.9, num_clips)
    # stored out of order: the transform sorts by position
    path = _save(tmp_path, ['v.mp4'] * num_clips, starts[::-1], d[::-1],
                 clip_len=clip_len, frame_interval=interval)
    t = SampleScoredClips(sampling='all', out_of_bound_opt=oob,
                          table_file=path)
    res = t(dict(filename='v.mp4', total_frames=total,
                 start_index=start_index))
    np.testing.assert_array_equal(res['frame_inds'], clips.reshape(-1))
    assert res['num_clips'] == num_clips and res['clip_len'] == clip_len
    np.testing.assert_allclose(res['gt_dscore'], d, rtol=1e-6)
    np.testing.assert_array_equal(res['dscore_position'], starts)
    with pytest.raises(ValueError, match="'random', 'weighted' or 'all'"):
        SampleScoredClips(sampling='every')
