"""IJBDataset (IJB-B/C, insightface meta files) vs. the generator's ground truth."""
import os.path as osp

import numpy as np
import pytest

from mmddl.datasets import DatasetFormatError
from mmddl.datasets.face import IJBDataset
from mmddl.testing.synthetic_faces import make_identities, write_ijb


@pytest.fixture
def ijbc(tmp_path, tiny_ids):
    return write_ijb(str(tmp_path), tiny_ids, prefix='ijbc', templates_per_identity=2,
                     images_per_media=2, seed=4)


def _meta(tmp_path, name):
    return osp.join(str(tmp_path), 'meta', name)


def test_ijbc_templates_and_pairs(ijbc, tmp_path):
    ds = IJBDataset(data_root=str(tmp_path))
    tids = sorted(ijbc['templates'])
    assert len(ds) == len(tids)
    for i, tid in enumerate(tids):
        info, ref = ds.get_data_info(i), ijbc['templates'][tid]
        assert info['template_id'] == tid and info['group_id'] == i
        assert [osp.basename(p) for p in info['img_paths']] == ref['images']
        assert info['media_ids'] == ref['medias']
        np.testing.assert_allclose(info['landmarks'], np.stack(ref['landmarks']), atol=1e-4)
        np.testing.assert_allclose(info['det_scores'], ref['scores'], atol=1e-6)
    pairs = ds.metainfo['pairs']
    assert pairs.dtype == np.int32 and len(pairs) == len(ijbc['pairs'])
    for (a, b, y), (t1, t2, ref_y) in zip(pairs, ijbc['pairs']):
        assert (tids[a], tids[b], y) == (t1, t2, ref_y)
    assert ds.metainfo['protocol']['type'] == 'tar_at_far'
    assert ds.metainfo['protocol']['fars'][0] == 1e-6
    assert ds.metainfo['dataset_name'] == 'IJBC'


def test_ijbb_prefix_and_given_landmarks(tmp_path):
    ids, meta = make_identities(3, 4, size=16, seed=1, degradation_prob=1.0,
                                kinds=('pose',), return_meta=True)
    gt = write_ijb(str(tmp_path), ids, prefix='ijbb', landmarks=meta['landmarks'], seed=2)
    ds = IJBDataset(data_root=str(tmp_path), prefix='ijbb')
    first = ds.get_data_info(0)
    ref = gt['templates'][first['template_id']]
    np.testing.assert_allclose(first['landmarks'], np.stack(ref['landmarks']), atol=1e-4)
    assert ds.metainfo['dataset_name'] == 'IJBB'


def test_ijb_media_and_landmark_files_must_agree(ijbc, tmp_path):
    lmk = _meta(tmp_path, 'ijbc_name_5pts_score.txt')
    lines = open(lmk).readlines()
    swapped = [lines[1], lines[0]] + lines[2:]
    open(lmk, 'w').writelines(swapped)
    with pytest.raises(DatasetFormatError, match='5pts_score.txt:1: .*same order'):
        IJBDataset(data_root=str(tmp_path))
    open(lmk, 'w').writelines(lines[:-1])
    with pytest.raises(DatasetFormatError, match='images but the template/media file lists'):
        IJBDataset(data_root=str(tmp_path))
    open(lmk, 'w').writelines(lines[:2] + [lines[2].rsplit(' ', 1)[0] + '\n'] + lines[3:])
    with pytest.raises(DatasetFormatError, match='5pts_score.txt:3: .*12 fields'):
        IJBDataset(data_root=str(tmp_path))


def test_ijb_bad_media_and_pair_files(ijbc, tmp_path):
    media = _meta(tmp_path, 'ijbc_face_tid_mid.txt')
    lines = open(media).readlines()
    open(media, 'w').writelines(lines[:4] + ['5.jpg x 7\n'] + lines[5:])
    with pytest.raises(DatasetFormatError, match='tid_mid.txt:5: template id must be an integer'):
        IJBDataset(data_root=str(tmp_path))
    open(media, 'w').writelines(lines)
    pair = _meta(tmp_path, 'ijbc_template_pair_label.txt')
    plines = open(pair).readlines()
    open(pair, 'w').writelines(plines[:2] + ['999999 %s' % plines[2].split(' ', 1)[1]] + plines[3:])
    with pytest.raises(DatasetFormatError, match='row 3: template 999999 is not in'):
        IJBDataset(data_root=str(tmp_path))
    open(pair, 'w').writelines(plines[:1] + [plines[1].rsplit(' ', 1)[0] + ' 3\n'] + plines[2:])
    with pytest.raises(DatasetFormatError, match='row 2: label must be 0 or 1'):
        IJBDataset(data_root=str(tmp_path))
    open(pair, 'w').writelines(plines[:1] + ['1 2\n'] + plines[2:])
    with pytest.raises(DatasetFormatError, match='template_pair_label.txt: malformed'):
        IJBDataset(data_root=str(tmp_path))


def test_ijb_missing_images_listed(ijbc, tmp_path):
    import os
    os.remove(osp.join(str(tmp_path), 'loose_crop', '3.jpg'))
    with pytest.raises(FileNotFoundError, match=r"1 of 36 image files are missing, e.g. \[.*3.jpg"):
        IJBDataset(data_root=str(tmp_path))
    assert len(IJBDataset(data_root=str(tmp_path), check_files=False)) == 12
