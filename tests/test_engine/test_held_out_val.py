"""DDNet validation on held-out training videos: GroupSplitSampler,
HeldOutValLoop, DScoreMetric and the hook's visualizer output."""
import glob
import json
import os.path as osp
import shutil
import tempfile

import numpy as np
import pytest
import torch

import mmddl  # noqa: F401
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from mmengine.testing import RunnerTestCase

from ddl_engine_testutils import (candidate_pipeline, make_videos,
                                  tiny_r3d_cfg, write_corrupt)
from mmddl.datasets.samplers.group_split import (GroupSplitSampler,
                                                 held_out_groups)
from mmddl.engine.held_out_val_loop import HeldOutValLoop
from mmddl.structures import ScoreTable

PACK = dict(type='PackActionInputs', algorithm_keys=('gt_dscore', ),
            meta_keys=('filename', 'dscore_position'))
TRAIN_PIPELINE = [
    dict(type='SampleScoredClips'),
    dict(type='CheckedDecordDecode'),
    dict(type='FormatShape', input_format='NCTHW'), PACK
]
VAL_PIPELINE = [
    dict(type='SampleScoredClips', sampling='all'),
    dict(type='CheckedDecordDecode'),
    dict(type='FormatShape', input_format='NCTHW'), PACK
]


class _Infos:
    """A minimal data set: infos only."""

    def __init__(self, infos):
        self.infos = infos

    def __len__(self):
        return len(self.infos)

    def get_data_info(self, i):
        return self.infos[i]


def test_held_out_groups_are_deterministic_and_data_root_free():
    names = [f'vid{i}.mp4' for i in range(40)]
    a = held_out_groups([f'/data/a/{n}' for n in names], 0.1)
    b = held_out_groups([f'/mnt/other/{n}' for n in reversed(names)], 0.1)
    assert len(a) == 4
    assert {osp.basename(g) for g in a} == {osp.basename(g) for g in b}
    # adding groups keeps or extends the held-out order, never reshuffles it
    assert len(held_out_groups(['x', 'y'], 0.01)) == 1  # at least one
    assert len(held_out_groups(['x', 'y'], 0.99)) == 1  # one stays to train
    with pytest.raises(ValueError, match='at least 2'):
        held_out_groups(['x', 'x'], 0.1)
    with pytest.raises(ValueError, match='val_fraction'):
        held_out_groups(['x', 'y'], 0.0)


def test_sampler_splits_groups_never_elements():
    infos = [dict(img_path=f'{i}.jpg', gt_label=i % 7) for i in range(70)]
    ds = _Infos(infos)
    tr = GroupSplitSampler(ds, 'train', 0.3, 'gt_label', seed=0)
    va = GroupSplitSampler(ds, 'val', 0.3, 'gt_label', shuffle=False,
                           round_up=False)
    assert sorted(list(tr) + list(va)) == list(range(70))
    tr_ids = {infos[i]['gt_label'] for i in tr}
    va_ids = {infos[i]['gt_label'] for i in va}
    assert not tr_ids & va_ids and len(va_ids) == 2
    assert len(tr) == 50 and len(va) == 20
    tr.set_epoch(1)
    assert sorted(tr) == sorted(list(tr)) and list(tr) != sorted(tr)
    assert va.exclude([next(iter(va))], 'test') == 1 and len(va) == 19
    with pytest.raises(KeyError, match="no field 'track'"):
        GroupSplitSampler(ds, group_by='track')
    with pytest.raises(ValueError, match='split'):
        GroupSplitSampler(ds, split='test')


def _ddnet_cfg():
    return dict(
        type='Recognizer3D',
        backbone=dict(type='DDNetResNet3d', stage_widths=(4, 4, 8, 8)),
        cls_head=dict(type='DDNetHead', in_channels=8),
        data_preprocessor=dict(type='ActionDataPreprocessor',
                               mean=[10., 20., 30.], std=[60., 50., 40.],
                               format_shape='NCTHW'))


class TestHeldOutValidation(RunnerTestCase):

    @classmethod
    def setUpClass(cls):
        cls.data_dir = tempfile.mkdtemp()
        cls.lists = make_videos(cls.data_dir)
        cls.ckpt = osp.join(cls.data_dir, 'base.pth')
        torch.manual_seed(0)
        with DefaultScope.overwrite_default_scope('mmaction'):
            base = MODELS.build(tiny_r3d_cfg())
        torch.save(dict(state_dict=base.state_dict()), cls.ckpt)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.data_dir, ignore_errors=True)

    def _cfg(self, ann_file, val_fraction=0.4, epochs=2):
        dataset = dict(type='VideoDataset', ann_file=ann_file,
                       data_prefix=dict(video=self.lists['prefix']),
                       pipeline=TRAIN_PIPELINE, serialize_data=False)
        hook = dict(type='DiscriminabilityHook',
                    base=dict(config=dict(default_scope='mmaction',
                                          model=tiny_r3d_cfg()),
                              checkpoint=self.ckpt),
                    candidates=dict(pipeline=candidate_pipeline(),
                                    batch_size=2))
        return Config(dict(
            default_scope='mmaction', work_dir=self.temp_dir.name,
            model=_ddnet_cfg(),
            train_dataloader=dict(
                batch_size=2, num_workers=0, dataset=dataset,
                sampler=dict(type='GroupSplitSampler', split='train',
                             val_fraction=val_fraction, group_by='filename',
                             shuffle=True, seed=0)),
            val_dataloader=dict(batch_size=1, num_workers=0,
                                dataset=dict(pipeline=VAL_PIPELINE)),
            val_evaluator=dict(type='DScoreMetric'),
            val_cfg=dict(type='HeldOutValLoop'),
            train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=epochs,
                           val_interval=1),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
            custom_hooks=[hook],
            visualizer=dict(type='Visualizer',
                            vis_backends=[dict(type='LocalVisBackend')]),
            default_hooks=dict(checkpoint=None,
                               logger=dict(type='LoggerHook', interval=1)),
            log_level='INFO'))

    def test_validates_held_out_videos_against_the_whole_table(self):
        runner = self.build_runner(self._cfg(self.lists['clean']))
        runner.train()
        table = ScoreTable.load(osp.join(self.temp_dir.name,
                                         'dscore_table.npz'))
        assert table.num_samples == 5  # Eq. 4 over every training video
        loop = runner.val_loop
        assert isinstance(loop, HeldOutValLoop)
        held = loop.dataloader.sampler.val_groups
        assert len(held) == 2
        seen = set()
        for batch in loop.dataloader:
            for s, x in zip(batch['data_samples'], batch['inputs']):
                pos, dsc = table.entries_for(s.filename)
                assert x.shape[0] == len(pos)  # one view per scored clip
                np.testing.assert_array_equal(s.dscore_position, pos)
                np.testing.assert_allclose(s.gt_dscore, dsc, rtol=1e-6)
                seen.add(s.filename)
        assert seen == held
        for batch in runner.train_dataloader:
            assert not {s.filename for s in batch['data_samples']} & held
        vis = glob.glob(osp.join(self.temp_dir.name, '*', 'vis_data'))[0]
        rows = [json.loads(line)
                for line in open(osp.join(vis, 'scalars.json'))]
        keys = set().union(*rows)
        assert {'dscore/raw_mean', 'dscore/raw_std', 'dscore/q50',
                'dscore/num_skipped'} <= keys
        spearman = [r['dscore/spearman'] for r in rows
                    if 'dscore/spearman' in r]
        assert len(spearman) == 2  # one per epoch
        assert all(-1 <= v <= 1 for v in spearman)
        raw = next(r for r in rows if 'dscore/raw_mean' in r)
        assert raw['dscore/raw_mean'] == pytest.approx(table.mean)
        assert osp.isfile(osp.join(vis, 'vis_image',
                                   'dscore_histogram_0.png'))
        log = open(glob.glob(osp.join(self.temp_dir.name, '*',
                                      '*.log'))[0]).read()
        assert 'Epoch(val) [2]' in log and 'dscore/spearman' in log

    def test_held_out_video_the_pass_skipped_is_left_out(self):
        # a corrupt video whose name the split holds out
        names = [f'broken{i}.mp4' for i in range(50)]
        clean = open(self.lists['clean']).read().split('\n')
        clean = [line for line in clean if line]
        for name in names:
            ids = [osp.join(self.lists['prefix'], line.split()[0])
                   for line in clean] + [osp.join(self.lists['prefix'], name)]
            if osp.join(self.lists['prefix'], name) in held_out_groups(
                    ids, 0.4):
                break
        write_corrupt(osp.join(self.lists['prefix'], name))
        ann = osp.join(self.temp_dir.name, 'list.txt')
        with open(ann, 'w') as f:
            f.write('\n'.join(clean + [f'{name} 1']) + '\n')
        runner = self.build_runner(self._cfg(ann, epochs=1))
        runner.train()
        sampler = runner.val_loop.dataloader.sampler
        assert [r for _, r in sampler.excluded] == [
            'skipped by the D-score pass']
        assert len(sampler) == len(sampler.val_groups) - 1
