"""Every DDNet training config validates on held-out training groups with
DScoreMetric (HeldOutValLoop over GroupSplitSampler)."""
import glob
import os.path as osp
from types import SimpleNamespace

import pytest
from mmengine.config import Config

from mmddl.engine.held_out_val_loop import SOURCE_FIELDS, held_out_loader_cfg

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DDNET = sorted(
    osp.relpath(p, ROOT)
    for p in glob.glob(osp.join(ROOT, 'configs', '**', 'ddnet_*.py'),
                       recursive=True) if '_base_' not in p)
RANDOM = ('Flip', 'RandomFlip', 'RandomResizedCrop', 'RandomCrop',
          'MultiScaleCrop')


def test_all_ddnet_configs_found():
    assert len(DDNET) >= 17  # video (K700, ANet, demo, examples), face, re-ID


@pytest.mark.parametrize('rel', DDNET)
def test_ddnet_config_validates_on_held_out_groups(rel):
    cfg = Config.fromfile(osp.join(ROOT, rel))
    assert cfg.val_cfg.type == 'HeldOutValLoop'
    assert cfg.val_evaluator.type == 'DScoreMetric'
    sampler = cfg.train_dataloader.sampler
    assert sampler.type == 'GroupSplitSampler' and sampler.split == 'train'
    assert 0 < sampler.val_fraction < 1
    video = cfg.model.type == 'Recognizer3D'
    # videos are held out whole, images by identity
    assert sampler.group_by == ('filename' if video else 'gt_label')
    assert not set(SOURCE_FIELDS) & set(cfg.val_dataloader.dataset)
    pipeline = cfg.val_dataloader.dataset.pipeline
    types = [t['type'] for t in pipeline]
    assert not set(types) & set(RANDOM), types  # deterministic
    assert pipeline[-1]['algorithm_keys'] == ('gt_dscore', )
    if video:
        scored = pipeline[0]
        assert scored['type'] == 'SampleScoredClips'
        assert scored['sampling'] == 'all'
        train = cfg.train_dataloader.dataset.pipeline[0]
        # the DDNet's own clip length / stride, as in training
        assert (scored['clip_len'], scored['frame_interval']) == \
            (train['clip_len'], train['frame_interval'])
    else:
        assert 'LoadDScore' in types
    # the val data set is the train one with the val pipeline on top
    runner = SimpleNamespace(cfg=cfg, train_dataloader=None)
    loader = held_out_loader_cfg(runner, cfg.val_dataloader)
    train_ds = cfg.train_dataloader.dataset
    for k in SOURCE_FIELDS:
        if k in train_ds:
            assert loader['dataset'][k] == train_ds[k], k
    assert loader['dataset']['pipeline'] == pipeline
    assert loader['dataset']['test_mode'] is True
    assert loader['sampler'] == dict(
        type='GroupSplitSampler', split='val',
        val_fraction=sampler.val_fraction, group_by=sampler.group_by,
        shuffle=False, round_up=False)


def test_held_out_loop_refuses_a_plain_train_sampler():
    cfg = Config.fromfile(osp.join(ROOT, DDNET[0]))
    cfg.train_dataloader.sampler = dict(type='DefaultSampler', shuffle=True)
    with pytest.raises(ValueError, match='train on the held-out'):
        held_out_loader_cfg(SimpleNamespace(cfg=cfg), cfg.val_dataloader)
    cfg = Config.fromfile(osp.join(ROOT, DDNET[0]))
    cfg.val_dataloader.dataset.ann_file = 'other.txt'
    with pytest.raises(ValueError, match='ann_file'):
        held_out_loader_cfg(SimpleNamespace(cfg=cfg), cfg.val_dataloader)
