"""YTFDataset on a generated miniature vs. the generator's ground truth."""
import os

import numpy as np
import pytest

from mmddl.datasets import DatasetFormatError
from mmddl.datasets.face import YTFDataset
from mmddl.datasets.face.ytf import frame_sort_key
from mmddl.testing.synthetic_faces import write_ytf


@pytest.fixture
def ytf(tmp_path, tiny_ids):
    return write_ytf(str(tmp_path), tiny_ids, videos_per_identity=2, num_splits=10,
                     pairs_per_split=4, seed=3)


def test_frame_sort_key_is_numeric():
    names = ['aligned_detect_0.100.jpg', 'aligned_detect_0.99.jpg', 'aligned_detect_0.1000.jpg']
    assert sorted(names, key=frame_sort_key) == [names[1], names[0], names[2]]


def test_ytf_items_and_pairs_match_generator(ytf, tmp_path):
    ds = YTFDataset(data_root=str(tmp_path))
    names = [ds.get_data_info(i)['group_name'] for i in range(len(ds))]
    referenced = sorted({n for p in ytf['pairs'] for n in p[2:4]})
    assert names == referenced
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert info['img_paths'] == ytf['videos'][info['group_name']]  # numeric frame order
        assert info['num_images'] == len(info['img_paths'])
        assert ds.metainfo['classes'][info['gt_label']] == info['group_name'].split('/')[0]
    meta = ds.metainfo
    assert meta['protocol'] == dict(type='kfold_accuracy')
    assert len(meta['pairs']) == 40
    for (a, b, same), fold, pid, ref in zip(meta['pairs'], meta['pair_folds'],
                                            meta['pair_ids'], ytf['pairs']):
        assert (fold, pid, names[a], names[b], same) == ref


def test_ytf_whitespace_format_and_frame_db(tmp_path, tiny_ids):
    gt = write_ytf(str(tmp_path), tiny_ids, aligned=False, num_splits=2, seed=1)
    text = open(gt['splits_file']).read().replace(',', ' ')
    (tmp_path / 'splits_ws.txt').write_text(text)
    ds = YTFDataset(data_root=str(tmp_path), ann_file='splits_ws.txt',
                    data_prefix='frame_images_DB')
    assert len(ds.metainfo['pairs']) == len(gt['pairs'])
    assert os.path.basename(ds.get_data_info(0)['img_paths'][0]).startswith('0.95')


@pytest.mark.parametrize('line,match', [
    ('1, 1, Person_000/0, Person_001/0\n', 'expected 5 fields'),
    ('1, x, Person_000/0, Person_001/0, 0\n', 'pair id must be an integer'),
    ('1, 1, Person_000/0, Person_001/0, 2\n', 'is same must be 0 or 1'),
    ('1, 1, Person_000, Person_001/0, 0\n', 'video name must look like'),
])
def test_ytf_malformed_lines_name_file_and_line(ytf, tmp_path, line, match):
    lines = open(ytf['splits_file']).readlines()
    lines[3] = line
    open(ytf['splits_file'], 'w').writelines(lines)
    with pytest.raises(DatasetFormatError, match=rf'splits.txt:4: .*{match}'):
        YTFDataset(data_root=str(tmp_path))


def test_ytf_duplicate_pair_bad_header_missing_video(ytf, tmp_path):
    lines = open(ytf['splits_file']).readlines()
    open(ytf['splits_file'], 'w').writelines(lines + [lines[1]])
    with pytest.raises(DatasetFormatError, match='duplicate pair'):
        YTFDataset(data_root=str(tmp_path))
    open(ytf['splits_file'], 'w').writelines(['garbage header\n'] + lines[1:])
    with pytest.raises(DatasetFormatError, match='splits.txt:1: expected the header'):
        YTFDataset(data_root=str(tmp_path))
    open(ytf['splits_file'], 'w').writelines(lines)
    victim = ytf['pairs'][0][2]
    for p in ytf['videos'][victim]:
        os.remove(p)
    with pytest.raises(FileNotFoundError, match=rf'{victim}.*splits.txt:2.*no'):
        YTFDataset(data_root=str(tmp_path))
    with pytest.raises(FileNotFoundError, match='YTF splits file not found'):
        YTFDataset(data_root=str(tmp_path), ann_file='nope.txt')


def test_ytf_group_ids_survive_subsetting(ytf, tmp_path):
    full = YTFDataset(data_root=str(tmp_path))
    sub = YTFDataset(data_root=str(tmp_path), indices=[2, 3])
    assert [sub.get_data_info(i)['group_id'] for i in range(2)] == [2, 3]
    assert np.array_equal(sub.metainfo['pairs'], full.metainfo['pairs'])
