"""DDL wrappers on the user's paths: every loader, base references, the
view layout check."""
import os.path as osp

import mmddl  # noqa: F401  (compat fixes, registration)
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner import load_checkpoint

import test_ddl_group_encoder as face
import test_ddl_recognizer as video
from mmddl.models.utils import resolve_model_config

I3D = ('mmaction::recognition/i3d/'
       'i3d_imagenet-pretrained-r50_8xb8-32x2x1-100e_kinetics400-rgb.py')


def reid_base_cfg():
    return dict(type='ImageClassifier',
                backbone=dict(type='ResNet_CIFAR', depth=18,
                              stem_channels=4, base_channels=4,
                              out_indices=(3, )),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='ReIDHead', num_classes=5, in_channels=32),
                data_preprocessor=dict(type='ClsDataPreprocessor',
                                       mean=[127.5] * 3, std=[64.] * 3))


def perturbed(model, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen))
    return model


def save(path, model, cfg_text=None):
    ckpt = dict(state_dict=model.state_dict(), meta={})
    if cfg_text:
        ckpt['meta']['cfg'] = cfg_text
    torch.save(ckpt, str(path))
    return str(path)


def assert_same(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_bare_checkpoints_through_every_loader(tmp_path):
    # the perturbed DDNet saturates (every D-score equal): counted, not
    # stopped, here (this test is about loading)
    agg = dict(type='DDLAggregator', mode='ddl', topk=2,
               on_constant_scores='uniform')
    with DefaultScope.overwrite_default_scope('mmaction'):
        src = perturbed(
            video.build(aggregator=agg, count_flops=False, spread=False), 1)
        base_ckpt = save(tmp_path / 'base.pth', src.base)
        ddnet_ckpt = save(tmp_path / 'ddnet.pth', src.ddnet)
        x = src.data_preprocessor(video.video_batch(num_crops=1))['inputs']
        model = video.build(aggregator=agg, ddnet_checkpoint=ddnet_ckpt,
                            spread=False, allow_random_weights=False,
                            count_flops=False)
        with pytest.raises(RuntimeError, match='the base has no trained'):
            model(x, mode='tensor')
        # mmengine's load_checkpoint: the Runner's load_from, stock tools
        load_checkpoint(model, base_ckpt, map_location='cpu')
        assert_same(model, src)
        torch.testing.assert_close(model(x, mode='tensor'),
                                   src(x, mode='tensor'))
        # torch's strict load_state_dict of a bare DDNet: the base stays
        fresh = video.build(base_checkpoint=base_ckpt, spread=False)
        fresh.load_state_dict(src.ddnet.state_dict(), strict=True)
        assert_same(fresh, src)
        assert fresh._weights_loaded == dict(base=True, ddnet=True)
        # mmaction.apis.init_recognizer with a config file
        from mmaction.apis import init_recognizer
        cfg_file = str(tmp_path / 'ddl.py')
        Config(dict(model=dict(
            type='DDLRecognizer', base=video.r3d_cfg(),
            ddnet=video.ddnet_cfg(), ddnet_checkpoint=ddnet_ckpt,
            aggregator=dict(type='DDLAggregator', mode='ddl', topk=2)),
            default_scope='mmaction')).dump(cfg_file)
        inited = init_recognizer(cfg_file, base_ckpt, device='cpu')
        assert_same(inited, src)


def test_init_model_mmpretrain_group_encoder(tmp_path):
    from mmpretrain.apis import init_model
    torch.manual_seed(0)
    src = perturbed(face.make_encoder(
        dict(type='DDLAggregator', mode='dense'), with_ddnet=False), 3)
    cfg = Config(dict(model=dict(
        type='DDLGroupEncoder', base=face.base_cfg(),
        aggregator=dict(type='DDLAggregator', mode='dense')),
        default_scope='mmpretrain'))
    model = init_model(cfg, save(tmp_path / 'b.pth', src.base), 'cpu')
    assert_same(model.base, src.base)
    assert model._weights_loaded['base']


@pytest.mark.parametrize('task', ['video', 'face', 'reid'])
def test_mismatched_base_checkpoint_raises(task, tmp_path):
    """A base checkpoint of another model: no silent random weights, by
    base_checkpoint nor by load_checkpoint."""
    with DefaultScope.overwrite_default_scope('mmaction'):
        if task == 'video':
            other = video.build(base=video.slowfast_cfg(), spread=False)
            path = save(tmp_path / 'other.pth', other.base)
            with pytest.raises(RuntimeError, match='other.pth.*the base'):
                video.build(base_checkpoint=path)
            model = video.build(spread=False)
        else:
            good = face.base_cfg() if task == 'face' else reid_base_cfg()
            bad = reid_base_cfg() if task == 'face' else face.base_cfg()
            other = MODELS.build(dict(bad, _scope_='mmpretrain'))
            path = save(tmp_path / 'other.pth', other)
            kwargs = dict(type='DDLGroupEncoder', base=good,
                          aggregator=dict(type='DDLAggregator',
                                          mode='dense'))
            with pytest.raises(RuntimeError, match='other.pth.*the base'):
                MODELS.build(dict(kwargs, base_checkpoint=path))
            model = MODELS.build(kwargs)
    with pytest.raises(RuntimeError, match='does not match the base'):
        load_checkpoint(model, path, map_location='cpu')
    assert not model._weights_loaded['base']


def no_base(**kwargs):
    return MODELS.build(dict(
        type='DDLRecognizer', base=None, ddnet=video.ddnet_cfg(),
        aggregator=dict(type='DDLAggregator', mode='ddl', topk=2), **kwargs))


def test_base_references(tmp_path):
    # a package path, with its scope
    cfg, scope = resolve_model_config(I3D)
    assert cfg['type'] == 'Recognizer3D' and scope == 'mmaction'
    assert cfg['backbone']['type'] == 'ResNet3d'
    # a missing file fails when the model is built, naming the path
    missing = str(tmp_path / 'nowhere' / 'base.py')
    with DefaultScope.overwrite_default_scope('mmaction'):
        with pytest.raises(FileNotFoundError, match='nowhere/base.py'):
            video.build(base=missing)
        with pytest.raises(FileNotFoundError, match='fileDirname'):
            video.build(base='nowhere/base.py')
        with pytest.raises(FileNotFoundError, match='mmaction::nope/x.py'):
            video.build(base='mmaction::nope/x.py')
        # nothing: the config saved in the checkpoint, with the overrides
        # it was trained with (here num_classes 7 -> 4)
        trained = Config(dict(model=video.r3d_cfg(),
                              default_scope='mmaction'))
        trained.merge_from_dict({'model.cls_head.num_classes': 4})
        base = MODELS.build(trained.model)
        ckpt = save(tmp_path / 'b.pth', perturbed(base, 4),
                    trained.pretty_text)
        model = no_base(base_checkpoint=ckpt)
        assert model.base.cls_head.num_classes == 4
        assert_same(model.base, base)
        bare = save(tmp_path / 'bare.pth', base)
        with pytest.raises(ValueError, match=r"bare.pth holds no saved"):
            no_base(base_checkpoint=bare)
        with pytest.raises(ValueError, match='give a model config'):
            no_base()
    # a file path, the same in any form
    path = str(tmp_path / 'base.py')
    trained.dump(path)
    assert resolve_model_config(path)[0] == resolve_model_config(
        trained)[0] == resolve_model_config(trained.model)[0]
    assert osp.isabs(path)


def test_view_layout_check(caplog):
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = video.build(num_crops=1, count_flops=False)
        data = video.video_batch(num_crops=3)  # 5 clips x 3 crops
        (sample, ) = data['data_samples']
        x = model.data_preprocessor(data)['inputs']
        assert x.shape[1] == 15
        with pytest.raises(ValueError, match=r'15 views, but num_clips=5 x '
                           r'num_crops=1 = 5'):
            model(x, data['data_samples'], mode='tensor')
        # no num_clips in the metainfo: clips and crops cannot be told
        # apart, so the video stops ...
        sample = sample.__class__(metainfo={
            k: v
            for k, v in sample.metainfo.items() if k != 'num_clips'
        })
        with pytest.raises(ValueError, match=r"video 'vid0': no num_clips "
                           r'.* 15 views .*allow_unchecked_layout'):
            model(x, [sample], mode='tensor')
        assert model.unchecked_layouts == 0
        # ... unless allowed: 15 % 1 passes, counted, flagged + warned
        model.allow_unchecked_layout = True
        model(x, [sample], mode='tensor')
        assert model.unchecked_layouts == 1
        assert sample.ddl_unchecked_layout
        # bare inputs (no data sample): split by num_crops, counted
        model.allow_unchecked_layout = False
        model(x, mode='tensor')
        assert model.unchecked_layouts == 2
        model.num_crops = 3
        model(x, data['data_samples'], mode='tensor')
        assert model.unchecked_layouts == 2
