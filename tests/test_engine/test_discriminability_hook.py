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
from scale_testutils import hook_settings
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


def _cfg(data, work_dir, iter_based=False, **groups):
    dataset = dict(type='VideoDataset', ann_file=data['clean'],
                   data_prefix=dict(video=data['prefix']),
                   pipeline=TRAIN_PIPELINE,
                   serialize_data=False)  # skips a slow gc.collect()
    hook = dict(
        type='DiscriminabilityHook',
        **hook_settings(
            dict(base=dict(config=dict(default_scope='mmaction',
                                       model=tiny_r3d_cfg()),
                           checkpoint=data['ckpt']),
                 candidates=dict(pipeline=candidate_pipeline(), batch_size=2),
                 compute=dict(progress=False)), **groups))
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
    def hook_run(**groups):
        cfg = _cfg(data, work, **groups).custom_hooks[0]
        cfg.pop('type')
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
        hook_run(candidates=dict(ann_file=changed))
    # another metric -> refused
    with pytest.raises(StaleScoreTableError, match='metric'):
        hook_run(dscore=dict(metric='euclidean'))
    # another target normalization -> refused; computed, it is Eq. 4
    # within each class
    with pytest.raises(StaleScoreTableError, match='normalization'):
        hook_run(dscore=dict(normalization='class'))
    class_file = str(tmp_path / 'class_table.npz')
    hook_run(dscore=dict(normalization='class'),
             table=dict(file=class_file))
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
    hook = hook_run(candidates=dict(ann_file=changed),
                    table=dict(reuse=False))
    assert hook.num_computed == 1 and os.stat(path).st_mtime_ns != mtime
    np.testing.assert_allclose(
        np.sort(ScoreTable.load(path).dscores), np.sort(table.dscores),
        atol=1e-6)  # same videos, same model: same scores


def test_iter_based_workers_wrapped_dataset_and_corrupt_video(data,
                                                              tmp_path):
    out = str(tmp_path / 'tables' / 'euclid.npz')
    runner, hook = _train(
        _cfg(data, str(tmp_path / 'work'), iter_based=True,
             base=dict(config=data['base_cfg_file']),
             candidates=dict(ann_file=data['full']),
             dscore=dict(metric='euclidean'), table=dict(file=out)))
    # workers were forked (and prefetching) before the table existed; the
    # two iterations ran, so the hook restarted them with the table
    assert runner.iter == 2
    table = ScoreTable.load(out)
    assert table.metric == 'euclidean' and len(table) == 15
    assert [osp.basename(s['key']) for s in table.skipped] == ['broken.mp4']
    assert runner.message_hub.get_info('dscore/num_skipped') == 1
    inner = runner.train_dataloader.dataset.dataset  # RepeatDataset inside
    assert inner.pipeline.transforms[1].table_file == out


BASE = dict(config=dict(type='M'), checkpoint='x.pth')
CANDIDATES = dict(pipeline=[dict(type='X')])


def test_bad_arguments():
    with pytest.raises(ValueError, match=r'dscore\.metric.*dot'):
        DiscriminabilityHook(BASE, CANDIDATES, dscore=dict(metric='dot'))
    with pytest.raises(ValueError, match=r'candidates\.pipeline'):
        DiscriminabilityHook(BASE, dict(pipeline=[]))
    with pytest.raises(ValueError, match=r'table\.on_stale.*never'):
        DiscriminabilityHook(BASE, CANDIDATES, table=dict(on_stale='never'))
    with pytest.raises(ValueError, match=r'compute\.shard_size.*0'):
        DiscriminabilityHook(BASE, CANDIDATES, compute=dict(shard_size=0))


def test_settings_groups_fill_defaults_and_name_bad_keys():
    from mmddl.engine.hooks.discriminability_settings import SETTING_GROUPS
    hook = DiscriminabilityHook(
        dict(BASE, stage='pre_logits'), dict(CANDIDATES, batch_size=8),
        table=dict(reuse=False))
    # each key left out gets its default; the given ones are kept
    assert hook.settings['base'] == dict(BASE, scope=None, stage='pre_logits')
    assert hook.settings['candidates'] == dict(
        CANDIDATES, ann_file=None, data_prefix=None, dataset_type=None,
        dataset_kwargs={}, batch_size=8, num_workers=0)
    assert hook.settings['dscore'] == dict(metric='cosine',
                                           normalization='global',
                                           num_classes=None,
                                           identities='base')
    assert hook.settings['table'] == dict(file=None, reuse=False,
                                          on_stale='error')
    assert hook.settings['compute'] == dict(
        device=None, progress=True, chunk_size=4096, sim_dtype='float32',
        feature_dir=None, shard_size=1000, keep_features=False,
        verify='sha256')
    assert set(hook.settings) == set(SETTING_GROUPS)
    # an unknown key names itself, its group and the group's keys
    with pytest.raises(ValueError) as e:
        DiscriminabilityHook(BASE, CANDIDATES, table=dict(on_stail='error'))
    msg = str(e.value)
    assert "unknown key 'on_stail' in table" in msg
    assert "did you mean 'on_stale'" in msg
    assert 'allowed keys of table: file, reuse, on_stale' in msg
    # a key of another group (or an old name) says where it belongs
    with pytest.raises(ValueError, match=r"'shard_size' in candidates "
                       r'\(shard_size is compute\.shard_size\)'):
        DiscriminabilityHook(BASE, dict(CANDIDATES, shard_size=4))
    with pytest.raises(ValueError, match=r'out_file is table\.file'):
        DiscriminabilityHook(BASE, CANDIDATES, table=dict(out_file='t.npz'))
    # a required key or group left out, a group that is not a dict
    with pytest.raises(ValueError, match=r'base needs checkpoint=\.\.\.'):
        DiscriminabilityHook(dict(config=None), CANDIDATES)
    with pytest.raises(TypeError, match=r'needs candidates=dict\(pipeline'):
        DiscriminabilityHook(BASE)
    with pytest.raises(TypeError, match='compute must be a dict.*list'):
        DiscriminabilityHook(BASE, CANDIDATES, compute=[1])
    # the flat arguments of earlier versions say where they went
    with pytest.raises(TypeError) as e:
        DiscriminabilityHook(base_config='b.py', base_checkpoint='x.pth',
                             candidate_pipeline=[dict(type='X')],
                             on_stale='recompute')
    msg = str(e.value)
    for old, new in (('base_config', 'base.config'),
                     ('base_checkpoint', 'base.checkpoint'),
                     ('candidate_pipeline', 'candidates.pipeline'),
                     ('on_stale', 'table.on_stale')):
        assert f'{old} (now {new})' in msg


def test_one_key_of_a_group_from_the_command_line(tmp_path):
    """``--cfg-options custom_hooks.0.<group>.<key>=...`` on a shipped
    DDNet config changes that key only; the hook built from the config
    has it, the group's other keys as the config gave them."""
    from mmengine.registry import HOOKS
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(
        osp.join(repo, 'configs', 'recognition', 'demo',
                 'ddnet_r18cd3d-tiny_slowfast-tiny-dscore-20e_synthetic-rgb.py'))
    given = cfg.custom_hooks[0].to_dict()
    cfg.merge_from_dict({
        'custom_hooks.0.base.checkpoint': 'other.pth',
        'custom_hooks.0.candidates.pipeline.1.num_clips': 2,
        'custom_hooks.0.table.on_stale': 'recompute',
        'custom_hooks.0.compute.progress': False
    })
    hook = HOOKS.build(cfg.custom_hooks[0])
    s = hook.settings
    assert s['base'] == dict(given['base'], checkpoint='other.pth',
                             scope=None, stage='neck')
    assert s['candidates']['pipeline'][1]['num_clips'] == 2
    assert given['candidates']['pipeline'][1]['num_clips'] == 30
    assert s['candidates']['batch_size'] == given['candidates']['batch_size']
    assert s['table'] == dict(file=None, reuse=True, on_stale='recompute')
    assert s['compute']['progress'] is False
    assert s['compute']['verify'] == given['compute']['verify'] == 'sha256'


def test_missing_base_config_fails_when_the_hook_is_built(tmp_path):
    missing = str(tmp_path / 'nope.py')
    with pytest.raises(FileNotFoundError, match='base.config.*nope.py'):
        DiscriminabilityHook(dict(config=missing, checkpoint='x.pth'),
                             CANDIDATES)
