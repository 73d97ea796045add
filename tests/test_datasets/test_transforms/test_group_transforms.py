"""Alignment helpers, LoadGroupImages / PackGroupInputs and group collation."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from mmddl.datasets.face import (YTFDataset, align_face, arcface_template,
                                 crop_bbox, similarity_transform)
from mmddl.datasets.transforms import LoadGroupImages, PackGroupInputs
from mmddl.testing.synthetic_faces import write_ijb, write_ytf


def test_similarity_transform_recovers_known_transform():
    src = arcface_template(112)
    ang, scale, shift = np.deg2rad(20), 1.7, np.array([5.0, -3.0])
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    dst = src @ (scale * rot).T + shift
    m = similarity_transform(src, dst)
    np.testing.assert_allclose(m, np.hstack([scale * rot, shift[:, None]]), atol=1e-4)
    ref, _ = cv2.estimateAffinePartial2D(src, dst.astype(np.float32), method=cv2.LMEDS)
    np.testing.assert_allclose(m, ref, atol=1e-3)  # independent OpenCV estimate
    with pytest.raises(ValueError, match='Degenerate'):
        similarity_transform(np.ones((5, 2)), dst)


def test_align_face_puts_landmarks_on_template():
    img = np.zeros((80, 90, 3), np.uint8)
    lmk = np.array([[30, 30], [55, 28], [43, 42], [33, 55], [53, 54]], np.float32)
    for x, y in lmk.astype(int):
        cv2.circle(img, (int(x), int(y)), 2, (255, 255, 255), -1)
    out = align_face(img, lmk, 56)
    m = similarity_transform(lmk, arcface_template(56))
    for x, y in (lmk @ m[:, :2].T + m[:, 2]).round().astype(int):
        assert out[y, x].max() > 100
    assert out.shape == (56, 56, 3)


def test_crop_bbox_pads_outside_image():
    img = np.arange(5 * 6 * 3, dtype=np.uint8).reshape(5, 6, 3)
    out = crop_bbox(img, [-2, 1, 4, 3])
    assert out.shape == (3, 4, 3)
    assert (out[:, :2] == 0).all() and np.array_equal(out[:, 2:], img[1:4, 0:2])
    np.testing.assert_array_equal(crop_bbox(img, [1, 1, 2, 2], scale=2.0), img[0:4, 0:4])
    with pytest.raises(ValueError, match='Invalid bbox'):
        crop_bbox(img, [0, 0, 0, 3])


def test_load_group_images_modes_and_errors(tmp_path, tiny_ids):
    gt = write_ijb(str(tmp_path), tiny_ids[:2], templates_per_identity=1, seed=0)
    paths = [str(tmp_path / 'loose_crop' / n) for n in gt['image_names'][:6]]
    lmk = np.stack([arcface_template(16)] * 6)
    res = LoadGroupImages(size=16, align=True)(dict(img_paths=paths, landmarks=lmk))
    plain = np.stack([cv2.imread(p) for p in paths])
    # landmarks == template of a 16 px image -> alignment is the identity warp
    assert res['imgs'].shape == (6, 16, 16, 3)
    assert np.abs(res['imgs'].astype(int) - plain).mean() < 1.0
    res = LoadGroupImages(size=(8, 12), align=False)(dict(img_paths=paths, landmarks=lmk))
    assert res['imgs'].shape == (6, 8, 12, 3) and res['img_shape'] == (8, 12)
    res = LoadGroupImages(size=16, max_images=3)(dict(img_paths=paths))
    assert res['kept_indices'].tolist() == [0, 2, 5] and len(res['imgs']) == 3
    with pytest.raises(IOError, match=r"nope.jpg of group 'g1'"):
        LoadGroupImages(size=16)(dict(img_paths=[str(tmp_path / 'nope.jpg')], group_name='g1'))


def test_pack_group_inputs():
    imgs = np.random.default_rng(0).integers(0, 255, (3, 4, 5, 3)).astype(np.uint8)
    out = PackGroupInputs()(dict(imgs=imgs, gt_label=2, group_id=7, pid=4, foo='x',
                                 img_paths=['a', 'b', 'c']))
    assert out['inputs'].dtype == torch.uint8 and out['inputs'].shape == (3, 3, 4, 5)
    assert torch.equal(out['inputs'][1], torch.from_numpy(imgs[1]).permute(2, 0, 1))
    s = out['data_samples']
    assert s.gt_label.tolist() == [2] and s.group_id == 7 and s.pid == 4
    assert 'foo' not in s.metainfo


def test_ytf_pipeline_and_collate(tmp_path, tiny_ids):
    write_ytf(str(tmp_path), tiny_ids[:3], videos_per_identity=2, num_splits=2, seed=0)
    ds = YTFDataset(data_root=str(tmp_path), pipeline=[
        dict(type='LoadGroupImages', size=16), dict(type='PackGroupInputs')])
    loader = torch.utils.data.DataLoader(ds, batch_size=3, collate_fn=pseudo_collate)
    batch = next(iter(loader))
    assert isinstance(batch['inputs'], list) and len(batch['inputs']) == 3
    for x, s in zip(batch['inputs'], batch['data_samples']):
        assert x.shape == (s.num_images, 3, 16, 16)
        assert s.group_id == ds.get_data_info(s.sample_idx)['group_id']


def test_load_group_images_corrupt_file(tmp_path):
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(b'not an image')
    with pytest.raises(IOError, match=r"bad.jpg of group 'g2': undecodable"):
        LoadGroupImages(size=16)(dict(img_paths=[str(bad)], group_name='g2'))
