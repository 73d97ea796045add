"""iQIYI-VID-FACE style list + frame folders, and ImageFolder via CustomDataset."""
import os

import numpy as np
import pytest
from mmpretrain.datasets import CustomDataset

from mmddl.datasets import DatasetFormatError
from mmddl.datasets.face import IQIYIVidFaceDataset
from mmddl.testing.synthetic_faces import write_image_folder, write_iqiyi


def test_iqiyi_items_match_generator(tmp_path, tiny_ids):
    gt = write_iqiyi(str(tmp_path), tiny_ids, videos_per_identity=2, seed=2)
    ds = IQIYIVidFaceDataset(data_root=str(tmp_path))
    assert len(ds) == len(gt['videos'])
    for i, (name, (label, paths)) in enumerate(gt['videos'].items()):  # list order kept
        info = ds.get_data_info(i)
        assert (info['group_name'], info['gt_label'], info['img_paths']) == (name, label, paths)
    assert ds.metainfo['protocol'] == dict(type='tpr_at_fpr_all_pairs', fpr=1e-4)
    assert 'pairs' not in ds.metainfo
    assert len(ds.metainfo['classes']) == len(tiny_ids)


@pytest.mark.parametrize('line,match', [
    ('IQIYI_VID_TEST_0000001\n', 'expected "videoname label"'),
    ('IQIYI_VID_TEST_0000001 -3\n', 'label must be >= 0'),
    ('IQIYI_VID_TEST_0000001 a\n', 'label must be an integer'),
])
def test_iqiyi_bad_lines(tmp_path, tiny_ids, line, match):
    gt = write_iqiyi(str(tmp_path), tiny_ids[:2], seed=0)
    lines = open(gt['list_file']).readlines()
    open(gt['list_file'], 'w').writelines(lines[:1] + [line] + lines[1:])
    with pytest.raises(DatasetFormatError, match=f'labels.txt:2: {match}'):
        IQIYIVidFaceDataset(data_root=str(tmp_path))


def test_iqiyi_duplicate_and_missing_video(tmp_path, tiny_ids):
    gt = write_iqiyi(str(tmp_path), tiny_ids[:2], seed=0)
    lines = open(gt['list_file']).readlines()
    open(gt['list_file'], 'w').writelines(lines + [lines[0]])
    with pytest.raises(DatasetFormatError, match='already listed at line 1'):
        IQIYIVidFaceDataset(data_root=str(tmp_path))
    open(gt['list_file'], 'w').writelines(lines + ['GHOST 0\n'])
    with pytest.raises(FileNotFoundError, match=r'GHOST .*labels.txt:5\) does not exist'):
        IQIYIVidFaceDataset(data_root=str(tmp_path))


def test_image_folder_is_read_by_mmpretrain_custom_dataset(tmp_path, tiny_ids):
    gt = write_image_folder(str(tmp_path / 'train'), tiny_ids[:3])
    ds = CustomDataset(data_root=str(tmp_path), data_prefix='train', with_label=True)
    assert list(ds.metainfo['classes']) == gt['classes']
    got = sorted((ds.get_data_info(i)['img_path'], ds.get_data_info(i)['gt_label'])
                 for i in range(len(ds)))
    assert got == sorted(gt['samples'])
    assert np.bincount(ds.get_gt_labels()).tolist() == [len(x) for x in tiny_ids[:3]]
    assert os.path.isfile(gt['samples'][0][0])
