"""MARSDataset on a generated miniature (real info/ files) vs. ground truth."""
import os.path as osp

import numpy as np
import pytest
from scipy.io import loadmat, savemat

from mmddl.datasets import DatasetFormatError
from mmddl.datasets.reid import MARSDataset
from mmddl.evaluation.functional import reid_evaluate
from mmddl.testing.synthetic_faces import write_mars


@pytest.fixture
def mars(tmp_path, tiny_ids):
    return write_mars(str(tmp_path), tiny_ids, num_train=3, tracklets_per_identity=3,
                      num_junk=2, num_distractors=1, seed=1)


def _infos(ds):
    return [ds.get_data_info(i) for i in range(len(ds))]


def _expected(track, part, root):
    pid = track['pid']
    folder = '00-1' if pid == -1 else f'{pid:04d}'
    return [osp.join(root, f'bbox_{part}', folder, n) for n in track['names']]


def test_mars_train_tracklets(mars, tmp_path):
    ds = MARSDataset(data_root=str(tmp_path), split='train')
    infos = _infos(ds)
    assert len(infos) == len(mars['train_tracks'])
    pids = sorted({t['pid'] for t in mars['train_tracks']})
    for info, ref in zip(infos, mars['train_tracks']):
        assert info['img_paths'] == _expected(ref, 'train', str(tmp_path))
        assert (info['pid'], info['camid']) == (ref['pid'], ref['camid'] - 1)
        assert info['gt_label'] == pids.index(ref['pid'])
        assert info['group_name'] == ref['names'][0][:11]
    assert ds.metainfo['classes'] == tuple(str(p) for p in pids)
    assert not ds.test_mode


@pytest.mark.parametrize('include', [False, True])
def test_mars_test_split_query_gallery(mars, tmp_path, include):
    ds = MARSDataset(data_root=str(tmp_path), split='test', gallery_includes_queries=include)
    infos = _infos(ds)
    tracks, q_rows = mars['test_tracks'], mars['query_rows']
    g_rows = [r for r in range(len(tracks)) if (include or r not in q_rows)]
    expected = ([(r, True) for r in q_rows]
                + [(r, False) for r in g_rows if tracks[r]['pid'] != -1])  # junk dropped
    assert [(i['track_row'], i['is_query']) for i in infos] == expected
    for info in infos:
        ref = tracks[info['track_row']]
        assert info['img_paths'] == _expected(ref, 'test', str(tmp_path))
        assert info['pid'] == ref['pid'] and 'gt_label' not in info
    assert 0 in {i['pid'] for i in infos if not i['is_query']}  # distractor kept
    assert -1 not in {i['pid'] for i in infos}
    assert ds.metainfo['protocol'] == dict(type='reid', ranks=[1, 5, 20])
    # perfect features (one-hot pid) -> mAP 1 through the real metric
    q = [i for i in infos if i['is_query']]
    g = [i for i in infos if not i['is_query']]
    feat = lambda i: np.eye(10)[i['pid']]  # noqa: E731
    dist = np.array([[np.linalg.norm(feat(a) - feat(b)) for b in g] for a in q])
    cmc, m_ap = reid_evaluate(dist, [i['pid'] for i in q], [i['pid'] for i in g],
                              [i['camid'] for i in q], [i['camid'] for i in g], max_rank=5)
    assert m_ap == pytest.approx(1.0) and cmc[0] == pytest.approx(1.0)


def test_mars_query_gallery_splits_and_image_mode(mars, tmp_path):
    q = MARSDataset(data_root=str(tmp_path), split='query')
    g = MARSDataset(data_root=str(tmp_path), split='gallery')
    t = MARSDataset(data_root=str(tmp_path), split='test')
    assert len(q) + len(g) == len(t) and all(i['is_query'] for i in _infos(q))
    img = MARSDataset(data_root=str(tmp_path), split='train', item='image')
    assert len(img) == sum(len(tr['names']) for tr in mars['train_tracks'])
    first = img.get_data_info(0)
    assert first['img_path'] == _expected(mars['train_tracks'][0], 'train', str(tmp_path))[0]
    assert first['gt_label'] == 0
    assert len(MARSDataset(data_root=str(tmp_path), split='train', min_seq_len=2)) == 9
    with pytest.raises(DatasetFormatError, match='no tracklet left .*9 shorter than 3'):
        MARSDataset(data_root=str(tmp_path), split='train', min_seq_len=3)


def _rewrite(tmp_path, name, key, fn):
    path = osp.join(str(tmp_path), 'info', name)
    arr = loadmat(path)[key]
    savemat(path, {key: fn(arr.copy())})


@pytest.mark.parametrize('mutate,match', [
    (lambda a: a.__setitem__((0, 1), 10 ** 6) or a, r'row 1 .*indices outside'),
    (lambda a: a.__setitem__((1, 2), a[1, 2] + 1) or a, r'row 2 .*does not belong to pid'),
    (lambda a: a.__setitem__((0, 3), 7) or a, r'row 1 .*camid must be 1..6'),
    (lambda a: a[:, :3], r'must be \(N, 4\)'),
])
def test_mars_bad_track_tables(mars, tmp_path, mutate, match):
    _rewrite(tmp_path, 'tracks_train_info.mat', 'track_train_info', mutate)
    with pytest.raises(DatasetFormatError, match=match):
        MARSDataset(data_root=str(tmp_path), split='train')


def test_mars_bad_query_and_missing_files(mars, tmp_path):
    _rewrite(tmp_path, 'query_IDX.mat', 'query_IDX', lambda a: a * 0 + 999)
    with pytest.raises(DatasetFormatError, match='query rows must be unique'):
        MARSDataset(data_root=str(tmp_path), split='test')
    savemat(osp.join(str(tmp_path), 'info', 'query_IDX.mat'), {'wrong': np.ones((1, 2))})
    with pytest.raises(DatasetFormatError, match="variable 'query_IDX' not found"):
        MARSDataset(data_root=str(tmp_path), split='test')
    with pytest.raises(ValueError, match='split must be one of'):
        MARSDataset(data_root=str(tmp_path), split='val')
    import os
    os.remove(_expected(mars['train_tracks'][0], 'train', str(tmp_path))[0])
    with pytest.raises(FileNotFoundError, match='1 of .* image files are missing'):
        MARSDataset(data_root=str(tmp_path), split='train')
    with pytest.raises(FileNotFoundError, match='1 of .* image files are missing'):
        MARSDataset(data_root=str(tmp_path), split='train', item='image')
