"""After ``import mmddl``: upstream configs load (package::_base_) and build."""
import pytest
import torch

import mmddl  # noqa: F401  (must precede mmaction.models)

# isort: split
from mmengine.config import Config

SLOWFAST = ('mmaction::recognition/slowfast/'
            'slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb.py')
RESNET18 = 'mmpretrain::resnet/resnet18_8xb32_in1k.py'


def _config_with_base(tmp_path, base: str) -> Config:
    path = tmp_path / 'cfg.py'
    path.write_text(f'_base_ = [{base!r}]\n')
    return Config.fromfile(str(path))


def test_slowfast_from_mmaction_config(tmp_path, one_thread):
    import mmaction.models  # noqa: F401
    from mmaction.registry import MODELS

    cfg = _config_with_base(tmp_path, SLOWFAST)
    assert cfg.model.backbone.type == 'ResNet3dSlowFast'
    model = MODELS.build(cfg.model).eval()
    assert type(model).__name__ == 'Recognizer3D'
    with torch.no_grad():
        feats = model(torch.randn(1, 1, 3, 8, 32, 32), mode='tensor')
        scores = model.cls_head(feats)
    slow, fast = feats
    assert slow.shape == (1, 2048, 1, 1, 1)  # 8 frames / tau 8, 32 px / 32
    assert fast.shape == (1, 256, 8, 1, 1)  # fast: all 8 frames, beta=1/8
    assert scores.shape == (1, cfg.model.cls_head.num_classes) == (1, 400)


def test_resnet18_from_mmpretrain_config(tmp_path, one_thread):
    import mmpretrain.models  # noqa: F401
    from mmpretrain.registry import MODELS

    cfg = _config_with_base(tmp_path, RESNET18)
    model = MODELS.build(cfg.model).eval()
    assert type(model).__name__ == 'ImageClassifier'
    assert model.backbone.depth == 18
    with torch.no_grad():
        feats = model(torch.randn(2, 3, 32, 32), mode='tensor')
    assert feats.shape == (2, 1000)
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == pytest.approx(11.69e6, rel=0.01)  # ResNet-18 + fc
