"""IJBADataset (NIST IJB-A_11_sets CSVs) vs. the generator's ground truth."""
import csv
import os.path as osp

import cv2
import numpy as np
import pytest

from mmddl.datasets import DatasetFormatError
from mmddl.datasets.face import IJBADataset
from mmddl.testing.synthetic_faces import IJBA_HEADER, write_ijba


@pytest.fixture
def ijba(tmp_path, tiny_ids):
    return write_ijba(str(tmp_path), tiny_ids[:4], num_splits=2, templates_per_identity=2, seed=5)


def _csv(tmp_path, split, kind):
    return osp.join(str(tmp_path), 'IJB-A_11_sets', f'split{split}', f'verify_{kind}_{split}.csv')


def test_generated_header_is_the_real_one():
    assert IJBA_HEADER[:10] == ['TEMPLATE_ID', 'SUBJECT_ID', 'FILE', 'MEDIA_ID', 'SIGHTING_ID',
                                'FRAME', 'FACE_X', 'FACE_Y', 'FACE_WIDTH', 'FACE_HEIGHT']
    assert len(IJBA_HEADER) == 25 and IJBA_HEADER[-1] == 'FACIAL_HAIR'


def test_ijba_templates_pairs_folds(ijba, tmp_path):
    ds = IJBADataset(data_root=str(tmp_path), splits=(1, 2))
    expected = [(k, tid) for k in (1, 2) for tid in ijba['splits'][k]['templates']]
    got = [(ds.get_data_info(i)['split'], ds.get_data_info(i)['template_id'])
           for i in range(len(ds))]
    assert got == expected
    for i, (k, tid) in enumerate(expected):
        info, ref = ds.get_data_info(i), ijba['splits'][k]['templates'][tid]
        assert [p.split('images/')[1] for p in info['img_paths']] == ref['files']
        assert info['media_ids'] == ref['medias']
        np.testing.assert_allclose(info['bboxes'], np.asarray(ref['bboxes']))
        assert ds.metainfo['classes'][info['gt_label']] == str(ref['subject'])
    meta = ds.metainfo
    gid = {key: i for i, key in enumerate(expected)}
    exp_pairs, exp_folds = [], []
    for k in (1, 2):
        t = ijba['splits'][k]['templates']
        for a, b in ijba['splits'][k]['comparisons']:
            exp_pairs.append([gid[(k, a)], gid[(k, b)], int(t[a]['subject'] == t[b]['subject'])])
            exp_folds.append(k)
    assert meta['pairs'].tolist() == exp_pairs
    assert meta['pair_folds'].tolist() == exp_folds
    assert meta['protocol'] == dict(type='tar_at_far_per_fold', fars=[1e-3, 1e-2, 1e-1])
    assert meta['pairs'][:, 2].min() == 0 and meta['pairs'][:, 2].max() == 1


def test_ijba_single_split_and_bbox_crop_pipeline(ijba, tmp_path, tiny_ids):
    ds = IJBADataset(data_root=str(tmp_path), splits=[2], pipeline=[
        dict(type='LoadGroupImages', size=16, crop_bbox=True), dict(type='PackGroupInputs')])
    assert {ds.get_data_info(i)['split'] for i in range(len(ds))} == {2}
    for i in range(len(ds)):
        info, out = ds.get_data_info(i), ds[i]
        assert out['inputs'].shape == (info['num_images'], 3, 16, 16)
        for img, path, (x, y, w, h) in zip(out['inputs'], info['img_paths'], info['bboxes']):
            got = img.permute(1, 2, 0).numpy()
            x, y, w, h = int(x), int(y), int(w), int(h)
            assert np.array_equal(got, cv2.imread(path)[y:y + h, x:x + w])  # plain slicing
            if path.endswith('.png'):  # lossless: the crop is exactly the pasted face
                ident, k = ijba['sources'][path.split('images/')[1]]
                assert np.array_equal(got, tiny_ids[ident][k])


def test_ijba_bad_files(ijba, tmp_path):
    meta = _csv(tmp_path, 1, 'metadata')
    rows = list(csv.reader(open(meta)))
    bad = [r[:] for r in rows]
    r = next(r for r in range(2, len(rows)) if rows[r][0] == rows[r - 1][0])
    bad[r][1] = str(int(bad[r][1]) + 1)  # second image of a template: other subject
    csv.writer(open(meta, 'w', newline='')).writerows(bad)
    with pytest.raises(DatasetFormatError, match=f'metadata_1.csv:{r + 1}: template .* mixes'):
        IJBADataset(data_root=str(tmp_path), splits=[1])
    bad = [r[:] for r in rows]
    bad[2][8] = '0'
    csv.writer(open(meta, 'w', newline='')).writerows(bad)
    with pytest.raises(DatasetFormatError, match='metadata_1.csv:3: non-positive face size'):
        IJBADataset(data_root=str(tmp_path), splits=[1])
    bad = [r[:] for r in rows]
    bad[0] = [c for c in bad[0] if c != 'FACE_X']
    csv.writer(open(meta, 'w', newline='')).writerows(bad)
    with pytest.raises(DatasetFormatError,
                       match=r"metadata_1.csv:1: header lacks columns \['FACE_X'\]"):
        IJBADataset(data_root=str(tmp_path), splits=[1])
    csv.writer(open(meta, 'w', newline='')).writerows(rows[:2] + [rows[2][:-3]] + rows[3:])
    with pytest.raises(DatasetFormatError, match='metadata_1.csv:3: number of fields'):
        IJBADataset(data_root=str(tmp_path), splits=[1])
    csv.writer(open(meta, 'w', newline='')).writerows(rows)
    comp = _csv(tmp_path, 1, 'comparisons')
    lines = open(comp).readlines()
    open(comp, 'w').writelines(lines[:1] + ['1,99999\n'] + lines[1:])
    with pytest.raises(DatasetFormatError, match='comparisons_1.csv:2: template 1 is not'):
        IJBADataset(data_root=str(tmp_path), splits=[1])
    with pytest.raises(FileNotFoundError, match='verify_metadata_7.csv'):
        IJBADataset(data_root=str(tmp_path), splits=[7])
