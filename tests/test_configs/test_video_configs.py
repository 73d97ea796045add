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
    glob.glob(osp.join(ROOT, 'configs', 'recognition', 'demo', '*.py')))


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
        assert osp.isfile(hook.base.config), hook.base.config
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
    'name', ['ddl_slowfast-r50_top5-of-30_kinetics700-rgb.py',
             'ddl_r2plus1d-r50_top9-of-60_activitynet12-rgb.py',
             'ddl_i3d-r50_top5-of-30_kinetics700-rgb.py'])
def test_ddl_models_build(name):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'recognition', name))
    model = build(cfg)
    assert type(model).__name__ == 'DDLRecognizer'
    classes = 100 if 'activitynet12' in name else 700
    assert model.base.cls_head.num_classes == classes


@pytest.mark.parametrize(
    'path', [p for p in VIDEO if osp.basename(p).startswith('ddnet_r18cd3d_')],
    ids=lambda p: osp.relpath(p, ROOT))
def test_candidates_are_the_base_test_clips(path):
    """The hook scores the base config's test clips, one centre view each."""
    hook = Config.fromfile(path).custom_hooks[0]
    base = Config.fromfile(hook.base.config)
    test = {t.type: t for t in base.test_dataloader.dataset.pipeline}
    cand = {t.type: t for t in hook.candidates.pipeline}
    assert cand['SampleFrames'] == test['SampleFrames']
    assert cand['CenterCrop'].crop_size == test['ThreeCrop'].crop_size
    assert cand['Resize'] == test['Resize']
    expected_n = 60 if 'activitynet12' in path else 30
    assert cand['SampleFrames'].num_clips == expected_n


def test_ddl_topk_and_data_follow_the_data_set():
    rec = osp.join(ROOT, 'configs', 'recognition')
    for fam in ('slowfast', 'i3d', 'r2plus1d'):
        k700 = Config.fromfile(glob.glob(
            osp.join(rec, f'ddl_{fam}-r50_top5-of-30_kinetics700-rgb.py'))[0])
        anet = Config.fromfile(glob.glob(
            osp.join(rec, f'ddl_{fam}-r50_top9-of-60_activitynet12-rgb.py'))
                               [0])
        assert (k700.model.aggregator.topk, anet.model.aggregator.topk) == (
            5, 9)
        assert k700.test_dataloader.dataset.type == 'CheckedVideoDataset'
        assert anet.test_dataloader.dataset.type == 'ActivityNetVideoDataset'
        assert anet.test_dataloader.dataset.subset == 'validation'
        assert anet.model.base.cls_head.num_classes == 100
        # the same DDNet and wrapper settings for both data sets
        assert k700.model.ddnet == anet.model.ddnet
