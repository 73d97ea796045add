"""extract_features: mmaction recognizers, mmpretrain classifiers, others."""
import pytest
import torch
from torch import nn

import mmddl  # noqa: F401
from mmengine.model import BaseModel
from mmengine.registry import MODELS, DefaultScope

from ddl_engine_testutils import tiny_r3d_cfg
from mmddl.engine import extract_features

B, V = 2, 3


def _build(cfg, scope):
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(scope):
        return MODELS.build(cfg)


def _video_batch(t=4):
    from mmaction.structures import ActionDataSample
    g = torch.Generator().manual_seed(1)
    inputs = [torch.randint(0, 256, (V, 3, t, 16, 16), generator=g).float()
              for _ in range(B)]
    samples = [ActionDataSample().set_gt_label(0) for _ in range(B)]
    return dict(inputs=inputs, data_samples=samples), torch.stack(inputs)


def test_recognizer3d_one_feature_per_view_in_order():
    model = _build(tiny_r3d_cfg(), 'mmaction')
    model.train()
    batch, x = _video_batch()
    feats = extract_features(model, batch)
    assert model.training  # flag restored
    assert not feats.requires_grad
    mean = torch.tensor([10., 20., 30.]).view(1, 1, 3, 1, 1, 1)
    std = torch.tensor([60., 50., 40.]).view(1, 1, 3, 1, 1, 1)
    xn = ((x - mean) / std).flatten(0, 1)  # row b * V + v
    model.eval()
    with torch.no_grad():
        ref = torch.stack([model.backbone(v[None]).mean((2, 3, 4))[0]
                           for v in xn])
    assert feats.shape == (B * V, 16)
    torch.testing.assert_close(feats, ref, rtol=1e-4, atol=1e-5)


def test_slowfast_pools_each_pathway_and_concatenates_fast_slow():
    cfg = tiny_r3d_cfg()
    cfg['backbone'] = dict(
        type='ResNet3dSlowFast', pretrained=None, resample_rate=4,
        speed_ratio=2, channel_ratio=4,
        slow_pathway=dict(type='resnet3d', depth=18, pretrained=None,
                          lateral=True, base_channels=8, num_stages=2,
                          out_indices=(1, ), spatial_strides=(1, 2),
                          temporal_strides=(1, 1), dilations=(1, 1),
                          conv1_kernel=(1, 3, 3), conv1_stride_t=1,
                          pool1_stride_t=1, inflate=(0, 1), fusion_kernel=3),
        fast_pathway=dict(type='resnet3d', depth=18, pretrained=None,
                          lateral=False, base_channels=2, num_stages=2,
                          out_indices=(1, ), spatial_strides=(1, 2),
                          temporal_strides=(1, 1), dilations=(1, 1),
                          conv1_kernel=(3, 3, 3), conv1_stride_t=1,
                          pool1_stride_t=1))
    cfg['cls_head'] = dict(type='SlowFastHead', in_channels=20, num_classes=3)
    model = _build(cfg, 'mmaction').eval()
    batch, x = _video_batch(t=8)
    feats = extract_features(model, batch)
    mean = torch.tensor([10., 20., 30.]).view(1, 1, 3, 1, 1, 1)
    std = torch.tensor([60., 50., 40.]).view(1, 1, 3, 1, 1, 1)
    with torch.no_grad():
        slow, fast = model.backbone(((x - mean) / std).flatten(0, 1))
    ref = torch.cat([fast.mean((2, 3, 4)), slow.mean((2, 3, 4))], 1)
    assert feats.shape == (B * V, 16 + 4)
    torch.testing.assert_close(feats, ref, rtol=1e-4, atol=1e-5)


def test_mmpretrain_image_classifier_uses_last_neck_output():
    from mmpretrain.structures import DataSample
    cfg = dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet', depth=18, stem_channels=8,
                      base_channels=8, num_stages=2, strides=(1, 2),
                      dilations=(1, 1), out_indices=(0, 1)),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=2, in_channels=16),
        data_preprocessor=dict(type='ClsDataPreprocessor', mean=[0, 0, 0],
                               std=[255., 255., 255.]))
    model = _build(cfg, 'mmpretrain').eval()
    g = torch.Generator().manual_seed(2)
    imgs = [torch.randint(0, 256, (3, 24, 24), generator=g).to(torch.uint8)
            for _ in range(3)]
    feats = extract_features(model, dict(
        inputs=imgs, data_samples=[DataSample() for _ in imgs]))
    with torch.no_grad():
        outs = model.backbone(torch.stack(imgs).float() / 255.)
    assert feats.shape == (3, 16)
    torch.testing.assert_close(feats, outs[-1].mean((2, 3)), rtol=1e-4,
                               atol=1e-5)


class _StandIn(BaseModel):
    """A non-OpenMMLab model with extract_feat returning (feats, kwargs)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 5, 1)

    def extract_feat(self, inputs):
        return self.conv(inputs), dict()

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.extract_feat(inputs)[0]


def test_generic_model_and_view_count_check(monkeypatch):
    m = _StandIn()
    x = torch.rand(4, 3, 6, 6)
    feats = extract_features(m, dict(inputs=x))
    torch.testing.assert_close(feats, m.conv(x).mean((2, 3)).detach())

    model = _build(tiny_r3d_cfg(), 'mmaction')
    batch, _ = _video_batch()
    monkeypatch.setattr(model, 'extract_feat',
                        lambda inputs, **kw: (torch.zeros(B, 16), {}))
    with pytest.raises(ValueError, match="stage='backbone'"):
        extract_features(model, batch)
