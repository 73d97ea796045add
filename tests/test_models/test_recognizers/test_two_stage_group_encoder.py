"""DDLGroupEncoder with two-stage reading (LoadGroupImages(two_stage=True))
vs one-stage reading on generated MARS-size JPEG tracklets."""
import numpy as np
import pytest
import torch
from mmengine.registry import MODELS

import mmddl  # noqa: F401  (compat fixes, registration)
from mmddl.datasets import group_collate
from mmddl.datasets.image_io import ImageDecodeError
from mmddl.datasets.reid import MARSDataset
from mmddl.testing.synthetic_faces import write_mars
from mmddl.testing.synthetic_persons import make_persons

BASE_SIZE, DDNET_SIZE = (256, 128), (128, 64)  # MARS (h, w)


@pytest.fixture(scope='module')
def mars_root(tmp_path_factory):
    """4 test identities x 2 tracklets of 7 MARS-size JPEG frames."""
    root = tmp_path_factory.mktemp('mars2')
    ids = make_persons(5, 14, size=BASE_SIZE, seed=5, degradation_prob=0.6)
    write_mars(
        str(root),
        ids,
        num_train=1,
        tracklets_per_identity=2,
        num_junk=0,
        num_distractors=0,
        seed=2)
    return str(root)


def make_encoder(aggregator):
    torch.manual_seed(0)
    enc = MODELS.build(
        dict(
            type='DDLGroupEncoder',
            base=dict(
                type='ImageClassifier',
                backbone=dict(
                    type='ResNet',
                    depth=18,
                    stem_channels=4,
                    base_channels=4,
                    out_indices=(3, )),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(
                    type='ArcFaceClsHead', num_classes=3, in_channels=32),
                data_preprocessor=dict(
                    type='ClsDataPreprocessor',
                    mean=[123.675, 116.28, 103.53],
                    std=[58.395, 57.12, 57.375],
                    to_rgb=True)),
            ddnet=dict(
                type='ImageClassifier',
                backbone=dict(type='DDNetResNet', stage_widths=(4, 4, 8, 8)),
                head=dict(type='DDNetHead', in_channels=8),
                data_preprocessor=dict(
                    type='ClsDataPreprocessor',
                    mean=[123.675, 116.28, 103.53],
                    std=[58.395, 57.12, 57.375],
                    to_rgb=True)),
            aggregator=aggregator,
            ddnet_input_size=DDNET_SIZE,
            allow_random_weights=True))
    enc.init_weights()
    return enc.eval()


def batch(root, two_stage, ddnet_size=DDNET_SIZE):
    ds = MARSDataset(
        data_root=root,
        split='test',
        pipeline=[
            dict(
                type='LoadGroupImages',
                size=BASE_SIZE,
                align=False,
                crop_bbox=False,
                two_stage=two_stage,
                ddnet_size=ddnet_size),
            dict(type='PackGroupInputs')
        ])
    return group_collate([ds[i] for i in range(len(ds))])


class Inputs:
    """Records what a module gets (forward pre-hook)."""

    def __init__(self, module):
        self.seen = []
        module.register_forward_pre_hook(
            lambda m, args: self.seen.append(args[0].clone()))


def run(enc, data):
    base, ddnet = Inputs(enc.base.backbone), Inputs(enc.ddnet.backbone)
    out = enc.test_step(data)
    return out, torch.cat(base.seen), ddnet.seen


def test_two_stage_prediction_matches_one_stage(mars_root):
    enc = make_encoder(dict(type='DDLAggregator', mode='ddl', topk=3))
    one = batch(mars_root, False)
    two = batch(mars_root, True)
    assert {tuple(x.shape[-2:]) for x in one['inputs']} == {BASE_SIZE}
    assert {tuple(x.shape[-2:]) for x in two['inputs']} == {DDNET_SIZE}
    out1, base1, _ = run(enc, one)
    out2, base2, ddnet2 = run(enc, two)
    # the DDNet sees the stage-1 images unresized, normalised
    ref = enc.ddnet.data_preprocessor(
        dict(inputs=torch.cat(two['inputs'])), False)['inputs']
    torch.testing.assert_close(torch.cat(ddnet2), ref, rtol=0, atol=0)
    scores1 = torch.cat([d.ddl_scores for d in out1])
    scores2 = torch.cat([d.ddl_scores for d in out2])
    # DCT 1/2 decode vs the full image bilinear-antialiased to 128x64, with
    # an untrained DDNet (scores 0.43-0.50): measured mean |diff| 0.0010,
    # max 0.012, correlation 0.992
    assert (scores2 - scores1).abs().mean() < 0.05 * (
        scores1.max() - scores1.min())
    assert np.corrcoef(scores1.numpy(), scores2.numpy())[0, 1] > 0.98
    kept = []
    for g, (d1, d2) in enumerate(zip(out1, out2)):
        # same kept images (near-equal scores may swap their order)
        assert sorted(d1.ddl_selected.tolist()) == sorted(
            d2.ddl_selected.tolist())
        assert d1.base_elements == d2.base_elements == 3
        assert d1.ddnet_elements == d2.ddnet_elements == len(one['inputs'][g])
        assert d1.time_decode_s == 0.0 and d2.time_decode_s > 0.0
        # measured cosine >= 0.99998
        assert torch.cosine_similarity(
            d1.pred_feature, d2.pred_feature, dim=0) > 0.9999
        kept.append(one['inputs'][g][d2.ddl_selected])
    # the base's inputs of the kept images are the one-stage images
    ref = enc.base.data_preprocessor(dict(inputs=torch.cat(kept)),
                                     False)['inputs']
    assert torch.equal(base2, ref)
    assert base1.shape == base2.shape


def test_dense_two_stage_equals_one_stage(mars_root):
    enc = make_encoder(dict(type='DDLAggregator', mode='dense'))
    out1, base1, ddnet1 = run(enc, batch(mars_root, False))
    out2, base2, ddnet2 = run(enc, batch(mars_root, True))
    assert not ddnet1 and not ddnet2
    assert torch.equal(base1, base2)
    for d1, d2 in zip(out1, out2):
        assert d2.ddnet_elements == 0 and d2.ddl_scores.numel() == 0
        assert d2.base_elements == d1.base_elements
        torch.testing.assert_close(
            d2.pred_feature, d1.pred_feature, rtol=0, atol=0)


def test_two_stage_errors(mars_root, tmp_path):
    enc = make_encoder(dict(type='DDLAggregator', mode='ddl', topk=2))
    two = batch(mars_root, True)
    # stage-1 size differs from the model's ddnet_input_size: named
    with pytest.raises(ValueError, match=r'ddnet_size'):
        enc.test_step(batch(mars_root, True, ddnet_size=(64, 32)))
    # one-stage and two-stage groups in one batch
    one = batch(mars_root, False)
    mixed = dict(
        inputs=one['inputs'][:1] + two['inputs'][1:],
        data_samples=one['data_samples'][:1] + two['data_samples'][1:])
    with pytest.raises(ValueError, match='cannot be mixed'):
        enc.test_step(mixed)
    # a handle of another length than the group's stage-1 images
    src = two['data_samples'][0].ddl_group_source
    paths = list(src.img_paths)
    src.img_paths = paths[:-1]
    with pytest.raises(
            ValueError,
            match=f"'{src.group}': the inputs have {len(paths)} images, its "
            f'ddl_group_source {len(paths) - 1}'):
        enc.test_step(two)
    src.img_paths = paths
    # a file gone between stage 1 and stage 2: the file and group named
    src.img_paths = [str(tmp_path / 'gone.jpg')] * src.num_images
    with pytest.raises(
            ImageDecodeError, match=f"gone.jpg of group '{src.group}'"):
        enc.test_step(two)


def test_mars_config_switch(mars_root):
    """``--cfg-options test_dataloader.dataset.pipeline.0.two_stage=True``
    on the MARS DDL config gives the DDNet-size inputs and the handle."""
    import os.path as osp

    from mmengine.config import Config
    from mmengine.registry import DATASETS, DefaultScope
    cfg = Config.fromfile(
        osp.join(
            osp.dirname(mmddl.__file__), '..', 'configs', 'reid',
            'ddl_reid-r50_thr0.15_mars.py'))
    assert cfg.test_dataloader.dataset.pipeline[0].two_stage is False
    cfg.merge_from_dict({
        'test_dataloader.dataset.pipeline.0.two_stage': True,
        'test_dataloader.dataset.data_root': mars_root
    })
    assert tuple(cfg.model.ddnet_input_size) == DDNET_SIZE
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        packed = DATASETS.build(cfg.test_dataloader.dataset)[0]
    n = packed['data_samples'].num_images
    assert packed['inputs'].shape == (n, 3) + DDNET_SIZE
    src = packed['data_samples'].ddl_group_source
    assert src.size == BASE_SIZE and src.num_images == n
