"""Every video config loads through its `_base_` chain and builds."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmddl  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
VIDEO = sorted(
    glob.glob(osp.join(ROOT, 'configs', '*.py')) +
    glob.glob(osp.join(ROOT, 'configs', 'recognition', '*.py')) +
    glob.glob(osp.join(ROOT, 'configs', 'demo', '*.py')))


def build(cfg):
    from mmaction.registry import MODELS
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope',
                                                      'mmaction')):
        return MODELS.build(cfg.model)


def test_design_card_config_exists():
    assert osp.isfile(osp.join(ROOT, 'configs', 'ddnet_slowfast_k700.py'))
    assert len(VIDEO) >= 20


@pytest.mark.parametrize('path', VIDEO, ids=lambda p: osp.relpath(p, ROOT))
def test_config_loads(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports['imports'] == ['mmddl']
    assert cfg.default_scope == 'mmaction'
    name = osp.basename(path)
    if name.startswith('ddnet_'):
        hook = cfg.custom_hooks[0]
        assert hook.type == 'DiscriminabilityHook'
        assert osp.isfile(hook.base_config) or not osp.isabs(
            hook.base_config), hook.base_config
        assert cfg.model.backbone.type == 'DDNetResNet3d'
        steps = [t.type for t in cfg.train_dataloader.dataset.pipeline]
        assert 'SampleScoredClips' in steps and 'SampleFrames' not in steps
        assert cfg.train_dataloader.dataset.pipeline[-1].algorithm_keys == (
            'gt_dscore', )
    if name.startswith('ddl_'):
        assert cfg.model.type == 'DDLRecognizer'
        assert cfg.test_evaluator.type == 'DDLMetric'
        n = [t for t in cfg.test_dataloader.dataset.pipeline
             if t.type == 'SampleFrames'][0].num_clips
        k = cfg.model.aggregator.topk
        assert (k, n) in ((5, 30), (9, 60)), (k, n)


@pytest.mark.parametrize(
    'path', [p for p in VIDEO if osp.basename(p).startswith('ddnet_')],
    ids=lambda p: osp.relpath(p, ROOT))
def test_ddnet_models_build_and_run(path):
    model = build(Config.fromfile(path)).eval()
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        scores = model.cls_head(model.extract_feat(x[:, None])[0])
    assert scores.shape == (2, ) and ((scores > 0) & (scores < 1)).all()


@pytest.mark.parametrize(
    'name', ['ddl_slowfast-r50_top5-of-30_kinetics700.py',
             'ddl_r2plus1d-r50_top9-of-60_anet12.py',
             'ddl_i3d-r50_top5-of-30_kinetics700.py'])
def test_ddl_models_build(name):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    model = build(cfg)
    assert type(model).__name__ == 'DDLRecognizer'
    classes = 100 if 'anet12' in name else 700
    assert model.base.cls_head.num_classes == classes
