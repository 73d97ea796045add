"""Two-stage group reading: reduced JPEG decodes, stage-1 geometry at the
DDNet's size, GroupImageSource bit-identical to one-stage reading."""
import pickle

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmddl.datasets.face import arcface_template, crop_bbox
from mmddl.datasets.image_io import ImageDecodeError
from mmddl.datasets.transforms import (GroupImageSource, LoadGroupImages,
                                       PackGroupInputs, read_image_reduced)
from mmddl.datasets.transforms.two_stage_read import jpeg_size
from mmddl.testing.synthetic_persons import make_persons


@pytest.fixture(scope='module')
def mars_jpegs(tmp_path_factory):
    """A MARS-size tracklet: 8 JPEG crops of 256x128 (h, w)."""
    root = tmp_path_factory.mktemp('mars')
    imgs = make_persons(1, 8, size=(256, 128), seed=3, degradation_prob=0.5)[0]
    paths = []
    for j, img in enumerate(imgs):
        paths.append(str(root / f'0001C1T0001F{j + 1:03d}.jpg'))
        cv2.imwrite(paths[-1], img)
    return paths


def _pack(imgs):
    return torch.from_numpy(np.ascontiguousarray(imgs)).permute(0, 3, 1, 2)


def test_jpeg_size_and_reduced_read(tmp_path):
    img = np.random.default_rng(0).integers(0, 256, (257, 131, 3), np.uint8)
    cv2.imwrite(str(tmp_path / 'a.jpg'), img)
    cv2.imwrite(str(tmp_path / 'a.png'), img)
    data = (tmp_path / 'a.jpg').read_bytes()
    assert jpeg_size(data) == (257, 131)
    assert jpeg_size((tmp_path / 'a.png').read_bytes()) is None
    assert jpeg_size(data[:20]) is None  # header cut before the frame
    path = str(tmp_path / 'a.jpg')
    # largest DCT reduction whose decode still covers min_size: ceil(257/4)
    # = 65 >= 60 but ceil(257/8) = 33 < 60
    out, ratio, how = read_image_reduced(path, 'a', min_size=(60, 30))
    ref = cv2.imread(path, cv2.IMREAD_REDUCED_COLOR_4)
    assert how == 'reduced' and np.array_equal(out, ref)
    assert ratio == (65 / 257, 33 / 131)
    out, ratio, how = read_image_reduced(path, 'a', max_reduction=3.9)
    assert how == 'reduced' and out.shape[:2] == (129, 66)
    out, ratio, how = read_image_reduced(path, 'a', max_reduction=1.5)
    assert how == 'full' and ratio == (1.0, 1.0)
    assert np.array_equal(out, cv2.imread(path))
    out, _, how = read_image_reduced(str(tmp_path / 'a.png'), 'a', 8)
    assert how == 'full_not_jpeg' and np.array_equal(out, img)


def _mars_loaders():
    """One-stage and two-stage loaders of 256x128 crops (DDNet 128x64)."""
    kw = dict(size=(256, 128), align=False, crop_bbox=False)
    return (LoadGroupImages(**kw),
            LoadGroupImages(**kw, two_stage=True, ddnet_size=(128, 64)))


def test_stage2_is_bit_identical_to_one_stage(mars_jpegs):
    one, two = _mars_loaders()
    ref = one(dict(img_paths=mars_jpegs))['imgs']
    res = two(dict(img_paths=mars_jpegs, group_name='0001C1T0001'))
    assert res['imgs'].shape == (8, 128, 64, 3) and res['img_shape'] == (128,
                                                                         64)
    # 256x128 JPEGs: the DCT decode at 1/2 is already the DDNet size
    assert two.read_counts == dict(reduced=8, full=0, full_not_jpeg=0)
    for p, img in zip(mars_jpegs, res['imgs']):
        assert np.array_equal(img, cv2.imread(p, cv2.IMREAD_REDUCED_COLOR_2))
    src = res['ddl_group_source']
    sel = [5, 0, 3]
    assert torch.equal(src.load(sel), _pack(ref[sel]))
    assert torch.equal(src.load(torch.tensor(sel)), _pack(ref[sel]))
    assert src.load([]).shape == (0, 3, 256, 128)
    # picklable (data loader workers) and packed into the data sample
    src2 = pickle.loads(pickle.dumps(src))
    assert torch.equal(src2.load([7]), _pack(ref[[7]]))
    packed = PackGroupInputs()(res)
    packed_src = packed['data_samples'].ddl_group_source  # a deep copy
    assert torch.equal(packed_src.load(sel), _pack(ref[sel]))
    assert packed['inputs'].shape == (8, 3, 128, 64)
    with pytest.raises(IndexError, match=r"'0001C1T0001'.*\[8\]"):
        src.load([8])


def test_stage1_close_to_resized_one_stage_input(mars_jpegs):
    """Deviation of the DCT-reduced decode from what the one-stage DDNet
    input is (the base-size image, bilinear antialiased to 128x64)."""
    one, two = _mars_loaders()
    ref = F.interpolate(
        _pack(one(dict(img_paths=mars_jpegs))['imgs']).float(),
        size=(128, 64),
        mode='bilinear',
        align_corners=False,
        antialias=True)
    s1 = _pack(two(dict(img_paths=mars_jpegs))['imgs']).float()
    diff = (s1 - ref).abs()
    # measured 2.4 grey levels mean (sharp synthetic edges: up to ~100)
    assert diff.mean() < 4.0
    assert (diff > 32).float().mean() < 0.02


def test_align_mode_scales_landmarks(tmp_path):
    """Dots drawn at the landmarks of a 192 px face land on the 24 px
    template after a 1/8 decode (warp scale 1/8: reduction 8)."""
    img = np.full((192, 192, 3), 40, np.uint8)
    lmk = arcface_template(160) + 16  # a 160 px face inside the image
    for x, y in lmk:
        cv2.circle(img, (int(round(x)), int(round(y))), 6, (255, 255, 255), -1)
    path = str(tmp_path / 'f.jpg')
    cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    lmks = lmk[None].astype(np.float32)
    two = LoadGroupImages(size=112, align=True, two_stage=True, ddnet_size=20)
    res = two(dict(img_paths=[path], landmarks=lmks))
    assert two.read_counts['reduced'] == 1
    out = res['imgs'][0]
    for x, y in arcface_template(20).round().astype(int):
        assert out[y, x].min() > 100, (x, y)  # background 40
    # stage 2: the one-stage alignment at 112
    ref = LoadGroupImages(
        size=112, align=True)(dict(img_paths=[path], landmarks=lmks))['imgs']
    assert torch.equal(res['ddl_group_source'].load([0]), _pack(ref))


def test_crop_mode_scales_boxes_and_png_fallback(tmp_path):
    rng = np.random.default_rng(1)
    img = cv2.resize(
        rng.integers(0, 256, (12, 16, 3), np.uint8), (400, 300),
        interpolation=cv2.INTER_LINEAR)
    cv2.imwrite(str(tmp_path / 'c.jpg'), img, [cv2.IMWRITE_JPEG_QUALITY, 98])
    cv2.imwrite(str(tmp_path / 'c.png'), img)
    box = np.array([[80., 40., 200., 200.]], np.float32)
    two = LoadGroupImages(
        size=64, align=False, crop_bbox=True, two_stage=True, ddnet_size=48)
    res = two(dict(img_paths=[str(tmp_path / 'c.jpg')], bboxes=box))
    # box 200 px -> 48 px: reduction 4 (50 px) is the largest >= 48
    assert two.read_counts['reduced'] == 1
    ref = cv2.resize(
        crop_bbox(img, box[0]), (48, 48), interpolation=cv2.INTER_AREA)
    # measured 0.7 (a box 2 px off: 5.2)
    assert np.abs(res['imgs'][0].astype(int) - ref).mean() < 2
    # a PNG is read in full (counted) with the same geometry
    res = two(dict(img_paths=[str(tmp_path / 'c.png')], bboxes=box))
    assert two.read_counts == dict(reduced=1, full=0, full_not_jpeg=1)
    assert np.array_equal(res['imgs'][0], ref)
    one = LoadGroupImages(
        size=64, align=False, crop_bbox=True)(
            dict(img_paths=[str(tmp_path / 'c.png')], bboxes=box))
    assert torch.equal(res['ddl_group_source'].load([0]), _pack(one['imgs']))


def test_max_images_and_errors(mars_jpegs, tmp_path):
    two = LoadGroupImages(
        size=(256, 128),
        align=False,
        two_stage=True,
        ddnet_size=(128, 64),
        max_images=3)
    res = two(dict(img_paths=mars_jpegs, group_name='t'))
    assert res['kept_indices'].tolist() == [0, 4, 7]
    one = LoadGroupImages(size=(256, 128), align=False)
    src = res['ddl_group_source']
    assert src.num_images == 3 and src.img_paths[1] == mars_jpegs[4]
    assert torch.equal(
        src.load([1]), _pack(one(dict(img_paths=[mars_jpegs[4]]))['imgs']))
    with pytest.raises(ValueError, match='ddnet_size'):
        LoadGroupImages(two_stage=True)
    # missing file: stage 1 and stage 2 name it and the group
    with pytest.raises(ImageDecodeError, match=r"nope.jpg of group 'g1'"):
        two(dict(img_paths=[str(tmp_path / 'nope.jpg')], group_name='g1'))
    path = tmp_path / 'gone.jpg'
    path.write_bytes(open(mars_jpegs[0], 'rb').read())
    src = two(dict(img_paths=[str(path)], group_name='g2'))['ddl_group_source']
    path.unlink()
    with pytest.raises(ImageDecodeError, match=r"gone.jpg of group 'g2'"):
        src.load([0])
    with pytest.raises(ValueError, match=r"'g3': 2 landmarks for 1 images"):
        GroupImageSource('g3', ['a.jpg'], one, landmarks=np.zeros((2, 5, 2)))
