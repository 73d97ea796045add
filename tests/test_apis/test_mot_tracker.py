"""The mmdet detector + tracker runner: class and checkpoint checks before any
frame is read, and tracks equal to mmdet's own ``inference_mot`` loop."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from track_testutils import (DET_CONFIG, FACE_DET_CONFIG, few_boxes_options,
                             mmdet_missing)

from mmddl.apis import config_classes, target_labels

needs_mmdet = pytest.mark.skipif(bool(mmdet_missing()), reason=mmdet_missing())


def test_config_classes_and_target_labels():
    classes, where = config_classes(Config.fromfile(DET_CONFIG), DET_CONFIG)
    assert classes == ('pedestrian', )
    assert where == 'train_dataloader.dataset.metainfo.classes'
    assert target_labels(classes, 'person', DET_CONFIG) == [0]
    face, _ = config_classes(Config.fromfile(FACE_DET_CONFIG), 'f.py')
    assert target_labels(face, 'face', 'f.py') == [0]
    with pytest.raises(ValueError) as info:
        target_labels(face, 'person', FACE_DET_CONFIG)
    assert FACE_DET_CONFIG in str(info.value)
    assert "['face'] include no person class" in str(info.value)
    coco = Config(
        dict(
            model=dict(detector=dict(bbox_head=dict(num_classes=3))),
            train_dataloader=dict(
                dataset=dict(
                    type='MultiImageMixDataset',
                    dataset=dict(
                        metainfo=dict(classes=('car', 'Person', 'dog')))))))
    names, _ = config_classes(coco, 'c.py')
    assert target_labels(names, 'person', 'c.py') == [1]
    coco.model.detector.bbox_head.num_classes = 80
    with pytest.raises(ValueError, match='c.py: the detector has 80 classes'):
        config_classes(coco, 'c.py')


@pytest.fixture(scope='module')
def clip(tmp_path_factory):
    """One camera x 12 frames (mp4 too) and a random-weight ByteTrack
    checkpoint of the person config."""
    if mmdet_missing():
        pytest.skip(mmdet_missing())
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope

    from mmddl.testing.synthetic_footage import (FootageSettings,
                                                 generate_footage)
    root = str(tmp_path_factory.mktemp('mot_tracker'))
    generate_footage(
        osp.join(root, 'footage'),
        seed=0,
        settings=FootageSettings(num_cameras=1, num_frames=12),
        write_videos=True)
    cfg = Config.fromfile(DET_CONFIG)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    ckpt = osp.join(root, 'bytetrack.pth')
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(classes=('pedestrian', )))), ckpt)
    seq = osp.join(root, 'footage', 'SYNTH-01')
    return dict(
        root=root,
        seq=seq,
        low=few_boxes_options(DET_CONFIG, ckpt, seq),
        video=osp.join(root, 'footage', 'SYNTH-01.mp4'),
        ckpt=ckpt,
        state=model.state_dict())


@needs_mmdet
def test_class_check_stops_before_the_checkpoint(tmp_path):
    from mmddl.apis import init_tracker
    missing = str(tmp_path / 'never_read.pth')
    with pytest.raises(ValueError) as info:
        init_tracker(FACE_DET_CONFIG, missing, target='person')
    assert FACE_DET_CONFIG in str(info.value) and "['face']" in str(info.value)
    plain = osp.join(
        osp.dirname(__import__('mmdet').__file__), '.mim', 'configs', 'yolox',
        'yolox_nano_8xb8-300e_coco.py')
    with pytest.raises(ValueError, match='not an mmdet detector \\+ tracker'):
        init_tracker(plain, missing)


@needs_mmdet
def test_checkpoint_that_does_not_fit_names_file_and_keys(clip, tmp_path):
    from mmddl.apis import init_tracker
    state = dict(clip['state'])
    dropped = 'detector.bbox_head.multi_level_conv_obj.0.bias'
    assert dropped in state
    del state[dropped]
    state['detector.extra.weight'] = torch.zeros(1)
    bad = str(tmp_path / 'bad.pth')
    torch.save(dict(state_dict=state), bad)
    with pytest.raises(RuntimeError) as info:
        init_tracker(DET_CONFIG, bad)
    msg = str(info.value)
    assert bad in msg and dropped[len('detector.'):] in msg
    assert 'extra.weight' in msg
    # a bare detector checkpoint (the keys without detector.) loads
    bare = str(tmp_path / 'bare.pth')
    torch.save(
        dict(state_dict={
            k[len('detector.'):]: v
            for k, v in clip['state'].items()
        }), bare)
    tracker = init_tracker(DET_CONFIG, bare)
    w = dict(tracker.model.state_dict())
    for k, v in clip['state'].items():
        assert torch.equal(w[k], v), k
    # classes saved with the checkpoint must be the config's
    other = str(tmp_path / 'other.pth')
    torch.save(
        dict(
            state_dict=clip['state'],
            meta=dict(dataset_meta=dict(classes=('car', )))), other)
    with pytest.raises(
            ValueError, match="trained for the classes \\['car'\\]"):
        init_tracker(DET_CONFIG, other)


@needs_mmdet
@pytest.mark.parametrize('which', ['seq', 'video'])
def test_tracks_equal_mmdet_inference_mot(clip, tmp_path, which):
    """``track_footage`` writes what mmdet's ``init_track_model`` +
    ``inference_mot`` give frame by frame (ids + 1, boxes as x, y, w, h)."""
    from mmdet.apis import inference_mot, init_track_model
    from mmengine.registry import DefaultScope

    from mmddl.apis import init_tracker, track_footage
    from mmddl.datasets.tracks import FrameSource, read_mot
    tracker = init_tracker(DET_CONFIG, clip['ckpt'], cfg_options=clip['low'])
    out = str(tmp_path / 'tracks.txt')
    res = track_footage(tracker, clip[which], out)
    assert res.num_frames == 12 and res.num_boxes > 0
    assert res.times['detect'] > 0 and res.times['track'] > 0
    got = read_mot(out, 'results')
    ref_model = init_track_model(
        DET_CONFIG, clip['ckpt'], device='cpu', cfg_options=dict(clip['low']))
    src = FrameSource.open(clip[which])
    rows = []
    for k, img in enumerate(src.read(range(1, 13))):
        with DefaultScope.overwrite_default_scope('mmdet'):
            inst = inference_mot(ref_model, img, k, 12)[0].pred_track_instances
        for b, i, s in zip(inst.bboxes.numpy(), inst.instances_id.numpy(),
                           inst.scores.numpy()):
            rows.append(
                (k + 1, int(i) + 1, b[0], b[1], b[2] - b[0], b[3] - b[1], s))
    rows = sorted(rows)
    assert len(rows) == len(got) == res.num_boxes
    order = np.lexsort((got.ids, got.frames))
    np.testing.assert_array_equal(got.frames[order], [r[0] for r in rows])
    np.testing.assert_array_equal(got.ids[order], [r[1] for r in rows])
    np.testing.assert_allclose(
        got.boxes[order], [r[2:6] for r in rows], atol=2e-3)
    assert res.num_tracks == len({r[1] for r in rows})
