"""DiscriminabilityHook inside a real (tiny, CPU) mmaction Runner."""
import os
import os.path as osp
import uuid

import numpy as np
import pytest
import torch

import mmddl  # noqa: F401
import mmddl.datasets.transforms  # noqa: F401  (registers SampleScoredClips)
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner import Runner

from ddl_engine_testutils import candidate_pipeline, make_videos, tiny_r3d_cfg
from mmddl.engine import DiscriminabilityHook
from mmddl.structures import ScoreTable, StaleScoreTableError

TRAIN_PIPELINE = [
    dict(type='DecordInit'),
    dict(type='SampleScoredClips'),
    dict(type='DecordDecode'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', algorithm_keys=('gt_dscore', ),
         meta_keys=('filename', 'dscore_position')),
]


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('hookvideos'))
    lists = make_videos(root)
    ckpt = osp.join(root, 'base.pth')
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmaction'):
        base = MODELS.build(tiny_r3d_cfg())
    torch.save(dict(state_dict=base.state_dict()), ckpt)
    base_cfg_file = osp.join(root, 'base_config.py')
    Config(dict(default_scope='mmaction',
                model=tiny_r3d_cfg())).dump(base_cfg_file)
    return dict(lists, ckpt=ckpt, base_cfg_file=base_cfg_file)


def _cfg(data, work_dir, iter_based=False, **hook_kw):
    dataset = dict(type='VideoDataset', ann_file=data['clean'],
                   data_prefix=dict(video=data['prefix']),
                   pipeline=TRAIN_PIPELINE,
                   serialize_data=False)  # skips a slow gc.collect()
    hook = dict(type='DiscriminabilityHook',
                base_config=dict(default_scope='mmaction',
                                 model=tiny_r3d_cfg()),
                base_checkpoint=data['ckpt'],
                candidate_pipeline=candidate_pipeline(), batch_size=2,
                progress=False)
    hook.update(hook_kw)
    if iter_based:
        loader = dict(batch_size=2, num_workers=1, persistent_workers=True,
                      sampler=dict(type='InfiniteSampler', shuffle=True),
                      dataset=dict(type='RepeatDataset', times=2,
                                   dataset=dataset))
        train_cfg = dict(type='IterBasedTrainLoop', max_iters=2)
    else:
        loader = dict(batch_size=2, num_workers=0,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dataset)
        train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)
    return Config(dict(
        default_scope='mmaction', work_dir=work_dir, model=tiny_r3d_cfg(),
        train_dataloader=loader, train_cfg=train_cfg,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        custom_hooks=[hook],
        default_hooks=dict(checkpoint=None,
                           logger=dict(type='LoggerHook', interval=1)),
        log_level='WARNING', experiment_name=f'h4_{uuid.uuid4().hex}'))


def _train(cfg):
    runner = Runner.from_cfg(cfg)
    hook = next(h for h in runner.hooks
                if isinstance(h, DiscriminabilityHook))
    assert hook.priority == 'VERY_HIGH'
    runner.train()
    return runner, hook


def test_computes_reuses_and_refuses_stale(data, tmp_path):
    work = str(tmp_path / 'work')
    runner, hook = _train(_cfg(data, work))
    path = osp.join(work, 'dscore_table.npz')
    assert hook.num_computed == 1 and hook.table_file == path
    table = ScoreTable.load(path)
    assert len(table) == 15 and table.num_samples == 5 and not table.skipped
    hub = runner.message_hub
    assert hub.get_info('dscore/num_elements') == 15
    assert hub.get_info('dscore/reused') is False
    assert set(table.fingerprint) >= {'ann_file_sha256', 'checkpoint_sha256',
                                      'metric', 'candidate_pipeline'}
    # the train pipeline's SampleScoredClips got the table: each batch's
    # gt_dscore is the table's D-score of the sampled clip
    seen = 0
    for batch in runner.train_dataloader:
        for s in batch['data_samples']:
            assert s.gt_dscore == pytest.approx(
                table.dscore_for(s.filename, s.dscore_position))
            seen += 1
    assert seen == 5
    mtime = os.stat(path).st_mtime_ns

    # second run: reused, not recomputed
    runner, hook = _train(_cfg(data, work))
    assert hook.num_computed == 0
    assert os.stat(path).st_mtime_ns == mtime
    assert runner.message_hub.get_info('dscore/reused') is True

    # stale tables are refused; checked with fresh hooks on this runner
    def hook_run(**kw):
        cfg = _cfg(data, work).custom_hooks[0]
        cfg.pop('type')
        cfg.update(kw)
        h = DiscriminabilityHook(**cfg)
        h.before_train(runner)
        return h

    # another base checkpoint -> refused, naming the checkpoint
    good = open(data['ckpt'], 'rb').read()
    state = torch.load(data['ckpt'])['state_dict']
    state = {k: v + 1 if v.is_floating_point() else v
             for k, v in state.items()}
    torch.save(dict(state_dict=state), data['ckpt'])
    try:
        with pytest.raises(StaleScoreTableError, match='base checkpoint'):
            hook_run()
    finally:
        with open(data['ckpt'], 'wb') as f:
            f.write(good)
    # another data list -> refused, naming the data list
    lines = open(data['clean']).read().splitlines()
    changed = str(tmp_path / 'changed.txt')
    with open(changed, 'w') as f:
        f.write('\n'.join(lines[::-1]) + '\n')
    with pytest.raises(StaleScoreTableError, match='data list'):
        hook_run(ann_file=changed)
    # another metric -> refused
    with pytest.raises(StaleScoreTableError, match='metric'):
        hook_run(metric='euclidean')
    # another target normalization -> refused; computed, it is Eq. 4
    # within each class
    with pytest.raises(StaleScoreTableError, match='normalization'):
        hook_run(normalization='class')
    class_file = str(tmp_path / 'class_table.npz')
    hook_run(normalization='class', out_file=class_file)
    per_class = ScoreTable.load(class_file)
    assert per_class.info['normalization'] == 'class'
    assert table.info['normalization'] == 'global'
    np.testing.assert_allclose(per_class.raw, table.raw, rtol=1e-12)
    want = np.empty_like(per_class.raw)
    for c in np.unique(per_class.labels):
        m = per_class.labels == c
        raw = per_class.raw[m]
        want[m] = 1 / (1 + np.exp(-(raw - raw.mean()) / raw.std()))
    np.testing.assert_allclose(per_class.dscores, want, rtol=1e-10)
    assert os.stat(path).st_mtime_ns == mtime
    # ... unless reuse=False: recomputed
    hook = hook_run(ann_file=changed, reuse=False)
    assert hook.num_computed == 1 and os.stat(path).st_mtime_ns != mtime
    np.testing.assert_allclose(
        np.sort(ScoreTable.load(path).dscores), np.sort(table.dscores),
        atol=1e-6)  # same videos, same model: same scores


def test_iter_based_workers_wrapped_dataset_and_corrupt_video(data,
                                                              tmp_path):
    out = str(tmp_path / 'tables' / 'euclid.npz')
    runner, hook = _train(_cfg(data, str(tmp_path / 'work'), iter_based=True,
                               ann_file=data['full'], out_file=out,
                               metric='euclidean',
                               base_config=data['base_cfg_file']))
    # workers were forked (and prefetching) before the table existed; the
    # two iterations ran, so the hook restarted them with the table
    assert runner.iter == 2
    table = ScoreTable.load(out)
    assert table.metric == 'euclidean' and len(table) == 15
    assert [osp.basename(s['key']) for s in table.skipped] == ['broken.mp4']
    assert runner.message_hub.get_info('dscore/num_skipped') == 1
    inner = runner.train_dataloader.dataset.dataset  # RepeatDataset inside
    assert inner.pipeline.transforms[1].table_file == out


def test_bad_arguments():
    with pytest.raises(ValueError, match='metric'):
        DiscriminabilityHook(dict(type='M'), 'x.pth', [dict(type='X')],
                             metric='dot')
    with pytest.raises(ValueError, match='candidate_pipeline'):
        DiscriminabilityHook(dict(type='M'), 'x.pth', [])


def test_missing_base_config_fails_when_the_hook_is_built(tmp_path):
    missing = str(tmp_path / 'nope.py')
    with pytest.raises(FileNotFoundError, match='nope.py'):
        DiscriminabilityHook(missing, 'x.pth', [dict(type='X')])
