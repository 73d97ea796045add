"""Every face / re-ID config loads after ``import mmddl`` and its model builds.

Identity heads are shrunk to a few classes before building (fast on a CPU).
"""
import glob
import os.path as osp

import mmddl  # noqa: F401  (compat fixes + registration)
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

from demo.common import METHODS, method_options

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    p for sub in ('face', 'reid')
    for p in glob.glob(osp.join(ROOT, 'configs', sub, '**', '*.py'),
                       recursive=True) if '_base_' not in p)
REL = [osp.relpath(p, ROOT) for p in CONFIGS]
EVAL = [p for p in REL if osp.basename(p).startswith('ddl_')]
DDNET = [p for p in REL if osp.basename(p).startswith('ddnet_')]
BASES = [p for p in REL if p not in EVAL and p not in DDNET]



def load(rel: str) -> Config:
    return Config.fromfile(osp.join(ROOT, rel))


def shrink_heads(model_cfg: dict) -> None:
    """Few classes in every identity head (recursing into nested models)."""
    for key, value in model_cfg.items():
        if isinstance(value, dict):
            if 'num_classes' in value and value['num_classes'] > 16:
                value['num_classes'] = 16
            shrink_heads(value)


def build(cfg: Config) -> torch.nn.Module:
    model_cfg = cfg.model.copy()
    shrink_heads(model_cfg)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(model_cfg)


def test_config_set_is_complete():
    names = {osp.basename(p) for p in REL}
    expected = {
        'arcface_r101_4xb128-24e_ms1m-recordio.py',
        'cosface_r101_4xb128-24e_ms1m-recordio.py',
        'sphereface_r101_4xb128-24e_ms1m-recordio.py',
        'ddnet_r18cd_arcface-r101-dscore-10e_ms1m-recordio.py',
        'ddl_arcface-r101-ms1m_thr0.15_ytf.py',
        'ddl_arcface-r101-ms1m_thr0.15_ijbc.py',
        'ddl_arcface-r101-ms1m_thr0.15_ijba.py',
        'ddl_arcface-r101-ms1m_thr0.15_iqiyi.py',
        'reid_r50_1xb64-ce-triplet-120e_mars.py',
        'ddnet_r18cd_reid-r50-dscore-10e_mars.py',
        'ddl_reid-r50_thr0.15_mars.py'
    }
    assert expected <= names, sorted(expected - names)
    assert any(p.startswith('configs/face/demo/') for p in REL)
    assert any(p.startswith('configs/reid/demo/') for p in REL)


@pytest.mark.parametrize('rel', REL)
def test_config_loads_and_builds(rel):
    cfg = load(rel)
    assert cfg.custom_imports == dict(imports=['mmddl'],
                                      allow_failed_imports=False)
    assert cfg.default_scope == 'mmpretrain'
    model = build(cfg)
    expected = 'DDLGroupEncoder' if rel in EVAL else 'ImageClassifier'
    assert type(model).__name__ == expected


@pytest.mark.parametrize('rel,head', [
    ('configs/face/arcface_r101_4xb128-24e_ms1m-recordio.py',
     'ArcFaceClsHead'),
    ('configs/face/cosface_r101_4xb128-24e_ms1m-recordio.py',
     'CosFaceClsHead'),
    ('configs/face/sphereface_r101_4xb128-24e_ms1m-recordio.py',
     'SphereFaceClsHead'),
])
def test_face_base_models(rel, head):
    cfg = load(rel)
    assert cfg.model.backbone.depth == 101
    assert cfg.model.head.type == head
    assert cfg.model.head.num_classes == 93431
    assert cfg.train_dataloader.dataset.type == 'MXFaceDataset'
    model = build(cfg)
    x = torch.rand(2, 3, 112, 112) * 255
    with torch.no_grad():
        model.eval()
        feats = model.extract_feat(model.data_preprocessor(
            dict(inputs=list(x.to(torch.uint8))), False)['inputs'],
                                   stage='pre_logits')
    assert feats.shape == (2, 512)


def test_reid_base_model():
    cfg = load('configs/reid/reid_r50_1xb64-ce-triplet-120e_mars.py')
    assert cfg.model.backbone.depth == 50
    assert cfg.model.backbone.strides == (1, 2, 2, 1)
    head = cfg.model.head
    assert head.type == 'ReIDHead'
    assert head.loss_cls.type == 'LabelSmoothLoss'
    assert head.loss_triplet == dict(type='BatchHardTripletLoss', margin=0.3,
                                     loss_weight=1.0)
    sampler = cfg.train_dataloader.sampler
    assert sampler.type == 'PKSampler'
    assert sampler.batch_size == cfg.train_dataloader.batch_size
    ds = cfg.train_dataloader.dataset
    assert (ds.type, ds.split, ds.item) == ('MARSDataset', 'train', 'image')


@pytest.mark.parametrize('rel', DDNET)
def test_ddnet_training_configs(rel):
    cfg = load(rel)
    assert cfg.model.backbone.type == 'DDNetResNet'
    assert cfg.model.head.type == 'DDNetHead'
    hook = cfg.custom_hooks[0]
    assert hook.type == 'DiscriminabilityHook'
    assert hook.base.stage == 'pre_logits'
    pipeline = cfg.train_dataloader.dataset.pipeline
    types = [t['type'] for t in pipeline]
    assert 'LoadDScore' in types
    assert pipeline[-1] == dict(type='PackInputs',
                                algorithm_keys=('gt_dscore', ))
    # the hook's base config sits beside the config; the real ones train on
    # the base's training set (the demos pass the data on the command line)
    assert osp.isfile(hook.base.config), hook.base.config
    if not rel.split('/')[2] == 'demo':
        base = Config.fromfile(hook.base.config)
        assert base.train_dataloader.dataset.type == \
            cfg.train_dataloader.dataset.type
        assert base.train_dataloader.dataset.data_root == \
            cfg.train_dataloader.dataset.data_root


@pytest.mark.parametrize('rel', EVAL)
def test_group_eval_configs(rel):
    cfg = load(rel)
    m = cfg.model
    assert m.aggregator == dict(type='DDLAggregator', mode='ddl',
                                threshold=0.15)
    assert m.ddnet.backbone.type == 'DDNetResNet'
    assert m.base.type == 'ImageClassifier'
    assert cfg.train_dataloader is None and cfg.optim_wrapper is None
    assert cfg.test_dataloader.collate_fn == dict(type='group_collate')
    pipeline = cfg.test_dataloader.dataset.pipeline
    assert [t['type'] for t in pipeline] == ['LoadGroupImages',
                                             'PackGroupInputs']
    metric = cfg.test_evaluator.type
    assert metric == ('GroupReIDMetric' if 'reid' in rel else
                      'GroupVerificationMetric')


@pytest.mark.parametrize('method', list(METHODS))
def test_baselines_are_config_switches(method):
    """Average pooling / top-1 / DDL w/o re-scaling: --cfg-options only."""
    cfg = load('configs/face/demo/ddl_arcface-r18-tiny_thr0.15_synth-ijbc.py')
    cfg.merge_from_dict(method_options(method))
    model = build(cfg)
    assert model.aggregator.mode == METHODS[method]['mode']
    assert model.aggregator.threshold == METHODS[method]['threshold']


def test_demo_configs_inherit_the_real_ones():
    pairs = [
        ('configs/face/demo/ddl_arcface-r18-tiny_thr0.15_synth-ytf.py',
         'configs/face/ddl_arcface-r101-ms1m_thr0.15_ytf.py'),
        ('configs/face/demo/ddl_arcface-r18-tiny_thr0.15_synth-ijbc.py',
         'configs/face/ddl_arcface-r101-ms1m_thr0.15_ijbc.py'),
        ('configs/reid/demo/ddl_reid-r18-tiny_thr0.15_synth-mars.py',
         'configs/reid/ddl_reid-r50_thr0.15_mars.py'),
    ]
    for demo, real in pairs:
        d, r = load(demo), load(real)
        assert d.model.aggregator == r.model.aggregator
        assert d.test_evaluator.type == r.test_evaluator.type
        assert d.test_dataloader.dataset.type == \
            r.test_dataloader.dataset.type
        assert d.model.base.head.type == r.model.base.head.type
        assert d.model.base.backbone.type == 'ResNet_CIFAR'


def _write_miniature(name: str, root: str):
    """A miniature of the config's data set; returns group -> identity."""
    from mmddl.testing import synthetic_faces as sf
    ids = sf.make_identities(14 if name == 'mars' else 4, 6, size=24,
                             seed=3)
    if name == 'ytf':
        sf.write_ytf(root, ids, pairs_per_split=2, seed=1)
        return lambda s: int(s['gt_label'])
    if name == 'ijbc':
        info = sf.write_ijb(root, ids, prefix='ijbc', seed=1)
        return lambda s: info['templates'][int(s['template_id'])]['identity']
    if name == 'ijba':
        sf.write_ijba(root, ids, num_splits=2, seed=1)
        return lambda s: int(s['gt_label'])
    if name == 'iqiyi':
        sf.write_iqiyi(root, ids, seed=1)
        return lambda s: int(s['gt_label'])
    sf.write_mars(root, ids, num_train=2, tracklets_per_identity=3, seed=1)
    return lambda s: int(s['pid'])


@pytest.mark.parametrize('rel', [p for p in EVAL if '/demo/' not in p])
def test_group_eval_data_and_metric_wiring(rel, tmp_path):
    """The config's test data set reads a miniature of its real format, its
    pipeline packs every group, and its metric scores identity-perfect
    features perfectly (pairs / queries refer to the right groups)."""
    from mmengine.registry import DATASETS, METRICS
    name = osp.basename(rel)[:-3].split('_')[-1]  # ytf, ijbc, ..., mars
    identity_of = _write_miniature(name, str(tmp_path))
    cfg = load(rel)
    ds_cfg = cfg.test_dataloader.dataset
    ds_cfg.data_root = str(tmp_path)
    if name == 'ijba':
        ds_cfg.splits = (1, 2)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        dataset = DATASETS.build(ds_cfg)
        metric = METRICS.build(cfg.test_evaluator)
    metric.dataset_meta = dataset.metainfo
    samples = []
    for i in range(len(dataset)):
        packed = dataset[i]
        assert packed['inputs'].shape[1:] == (3, ) + tuple(
            ds_cfg.pipeline[0]['size'] if isinstance(
                ds_cfg.pipeline[0]['size'], (tuple, list)) else
            (ds_cfg.pipeline[0]['size'], ) * 2)
        s = packed['data_samples'].to_dict()
        s['pred_feature'] = torch.nn.functional.one_hot(
            torch.tensor(identity_of(s)), 16).float()
        s['base_elements'] = packed['inputs'].shape[0]
        samples.append(s)
    metric.process({}, samples)
    res = metric.evaluate(len(samples))
    perfect = {
        'ytf': 'group_verif/kfold_acc',
        'ijbc': 'group_verif/tar@far=1e-06',
        'ijba': 'group_verif/tar@far=0.001',
        'iqiyi': 'group_verif/all_pairs_tpr@fpr=0.0001',
        'mars': 'group_reid/mAP'
    }[name]
    assert res[perfect] == pytest.approx(1.0)
    prefix = perfect.split('/')[0]
    assert res[f'{prefix}/base_images'] == pytest.approx(
        np.mean([s['base_elements'] for s in samples]))


def test_ijb_configs_read_tar_with_the_nearest_rule():
    """IJB-C follows insightface's protocol; IJB-A keeps 'le'."""
    ijbc = load('configs/face/ddl_arcface-r101-ms1m_thr0.15_ijbc.py')
    assert ijbc.test_evaluator.tar_mode == 'nearest'
    assert ijbc.model.media_pooling is True
    from mmddl.evaluation.group_metrics import DEFAULT_TAR_MODES
    assert DEFAULT_TAR_MODES['tar_at_far'] == 'nearest'
    ijba = load('configs/face/ddl_arcface-r101-ms1m_thr0.15_ijba.py')
    assert ijba.test_evaluator.tar_mode == 'le'
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        from mmengine.registry import METRICS
        assert METRICS.build(ijbc.test_evaluator).tar_mode == 'nearest'
