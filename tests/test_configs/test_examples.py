"""The plugin guide's configs (configs/examples/) build and run one
iteration on tiny generated data (tiny overrides: input size, clips)."""
import glob
import os.path as osp
import sys

import mmddl  # noqa: F401  (compat fixes, registration)
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(__file__)),
                            'test_tools'))
from ddl_tool_testutils import REPO, save_checkpoint, write_videos  # noqa

EXAMPLES = osp.join(REPO, 'configs', 'examples')
VIDEO = ('slowfast-r50', 'r2plus1d-r34', 'i3d-r50')
CLIPS, TOPK, SIDE = 3, 2, 32


def _tiny_views(pipeline):
    """SampleFrames 8 frames x CLIPS clips, short side / crops SIDE px."""
    for t in pipeline:
        if t['type'] == 'SampleFrames':
            t.update(clip_len=8, frame_interval=1, num_clips=CLIPS)
        elif t['type'] == 'Resize':
            t['scale'] = (-1, SIDE)
        elif 'crop_size' in t:
            t['crop_size'] = SIDE
    return pipeline


def _runner(cfg, work_dir):
    import mmengine.runner.runner as runner_module
    from mmengine.runner import Runner
    runner_module.collect_env = dict  # the environment probe costs seconds
    cfg.work_dir = str(work_dir)
    cfg.default_hooks.pop('sync_buffers', None)
    return Runner.from_cfg(cfg)


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('examples'))
    return write_videos(osp.join(root, 'data'), labels=[0, 1, 0, 1])


def test_examples_are_short_and_listed():
    files = sorted(glob.glob(osp.join(EXAMPLES, '*.py')))
    names = [osp.basename(f) for f in files]
    guide = open(osp.join(REPO, 'docs', 'plugin_guide.md')).read()
    assert len(files) == 10
    from mmddl.models.utils import resolve_model_config
    for f, name in zip(files, names):
        assert len(open(f).read().splitlines()) <= 25, name
        assert f'configs/examples/{name}' in guide, name
    for name in VIDEO:
        (hook, ) = Config.fromfile(
            osp.join(EXAMPLES, f'ddnet_{name}_k400.py')).custom_hooks
        cfg, scope = resolve_model_config(hook.base.config)
        assert cfg['type'] == 'Recognizer3D' and scope == 'mmaction'


@pytest.mark.parametrize('name', VIDEO)
def test_video_ddl_example_runs(name, videos, tmp_path):
    cfg = Config.fromfile(
        osp.join(EXAMPLES, f'ddl_{name}_top5-of-30_k400.py'))
    assert cfg.model.type == 'DDLRecognizer' and cfg.model.num_crops == 3
    assert cfg.model.base.type == 'Recognizer3D'
    loader = cfg.test_dataloader
    loader.dataset.update(ann_file=videos,
                          data_prefix=dict(video=osp.dirname(videos)))
    loader.dataset.pipeline = _tiny_views(loader.dataset.pipeline)
    loader.update(num_workers=0, persistent_workers=False)
    cfg.model.update(ddnet_input=dict(num_frames=4, size=16),
                     allow_random_weights=True)
    cfg.model.aggregator.topk = TOPK
    metrics = _runner(cfg, tmp_path).test()
    assert metrics['ddl/base_clips'] == TOPK
    assert metrics['ddl/ddnet_clips'] == CLIPS
    assert 0 <= metrics['ddl/top1'] <= 1


@pytest.mark.parametrize('name', VIDEO[:1])
def test_video_ddnet_example_trains(name, videos, tmp_path):
    """One family trained (the three differ only in the base, whose
    config is resolved for all in the test above)."""
    from mmaction.registry import MODELS
    from mmddl.models.utils import resolve_model_config
    cfg = Config.fromfile(osp.join(EXAMPLES, f'ddnet_{name}_k400.py'))
    (hook, ) = cfg.custom_hooks
    base_cfg, scope = resolve_model_config(hook.base.config)
    assert scope == 'mmaction'
    with DefaultScope.overwrite_default_scope('mmaction'):
        base = MODELS.build(base_cfg)
    hook.base.checkpoint = save_checkpoint(base, str(tmp_path / 'base.pth'))
    hook.candidates.update(num_workers=0,
                           pipeline=_tiny_views(hook.candidates.pipeline))
    hook.compute.progress = False
    loader = cfg.train_dataloader
    loader.dataset.update(ann_file=videos,
                          data_prefix=dict(video=osp.dirname(videos)))
    loader.update(batch_size=4, num_workers=0, persistent_workers=False)
    cfg.val_dataloader.update(num_workers=0)
    for t in loader.dataset.pipeline + cfg.val_dataloader.dataset.pipeline:
        if t['type'] == 'SampleScoredClips':
            t.update(clip_len=4, frame_interval=1)
        elif t['type'] == 'Resize' and t['scale'][0] == -1:
            t['scale'] = (-1, SIDE)
        elif t['type'] == 'CenterCrop':
            t['crop_size'] = SIDE
        elif t['type'] == 'Resize':
            t['scale'] = (16, 16)
    cfg.train_cfg.max_epochs = 1
    runner = _runner(cfg, tmp_path)
    before = [p.clone() for p in runner.model.parameters()]
    runner.train()
    assert osp.isfile(tmp_path / 'dscore_table.npz')
    # validated on the held-out video(s) of the training list
    assert -1 <= runner.message_hub.get_scalar(
        'val/dscore/spearman').current() <= 1
    assert runner.val_loop.dataloader.dataset.ann_file == videos
    assert any(not torch.equal(a, b)
               for a, b in zip(before, runner.model.parameters()))


def test_image_examples_build(tmp_path):
    """(b) mmpretrain's stock ResNet-50 and the re-ID base: the DDL
    wrappers build from a package path and from a checkpoint's saved
    config; the hooks' base configs resolve."""
    from mmengine.registry import MODELS
    from mmddl.models.utils import resolve_model_config
    for name in ('resnet50-in1k', 'reid-r50'):
        (hook, ) = Config.fromfile(
            osp.join(EXAMPLES, f'ddnet_{name}_mars.py')).custom_hooks
        cfg, scope = resolve_model_config(hook.base.config)
        assert cfg['type'] == 'ImageClassifier' and hook.base.stage == \
            'pre_logits'
    stock = Config.fromfile(
        osp.join(EXAMPLES, 'ddl_resnet50-in1k_thr0.15_mars.py'))
    model = MODELS.build(dict(stock.model, allow_random_weights=True))
    assert model.base.backbone.depth == 50
    assert type(model.base.head).__name__ == 'LinearClsHead'
    # the re-ID base from its checkpoint's config (made small by the
    # demo's overrides, as if trained with --cfg-options)
    reid = Config.fromfile(
        osp.join(EXAMPLES, 'ddl_reid-r50_thr0.15_mars.py'))
    assert reid.model.base is None
    trained = Config.fromfile(osp.join(
        REPO, 'configs', 'reid', 'demo',
        'reid_r18-tiny_1xb64-ce-triplet-10e_synth-mars.py'))
    trained.merge_from_dict({'model.head.num_classes': 7})
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        base = MODELS.build(trained.model)
    ckpt = save_checkpoint(base, str(tmp_path / 'reid.pth'),
                           trained.pretty_text)
    model = MODELS.build(dict(reid.model, base_checkpoint=ckpt,
                              allow_random_weights=True))
    assert model.base.head.num_classes == 7
    assert model._weights_loaded['base']
    for k, v in base.state_dict().items():
        assert torch.equal(model.base.state_dict()[k], v), k
