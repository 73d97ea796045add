"""Resume determinism (EpochSeedHook) and re-runnable demos.

Rows of the reliability matrix (docs/reliability.md):

* kill DDNet training in epoch 3, ``resume=True`` -> the final weights are
  bit-identical to an uninterrupted run (and, as a control, differ without
  the hook);
* every demo (video, face, re-ID) run twice in one work dir: the second run
  reuses what is valid, recomputes what is stale and says which.
"""
import random

import numpy as np
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.logging import MMLogger
from mmengine.runner import Runner
from torch.utils.data import Dataset

import mmddl  # noqa: F401
from mmddl.engine.hooks.epoch_seed_hook import EpochSeedHook, epoch_seed


class RandomAugmentedImages(Dataset):
    """Images with a D-score target, augmented with all three RNGs."""

    def __init__(self, n: int = 12, size: int = 16):
        rng = np.random.default_rng(0)
        self.imgs = rng.integers(0, 256, size=(n, 3, size, size),
                                 dtype=np.uint8)
        self.targets = self.imgs.reshape(n, -1).mean(1) / 255.0

    def __len__(self) -> int:
        return len(self.imgs)

    def __getitem__(self, i: int) -> dict:
        from mmpretrain.structures import DataSample
        img = torch.from_numpy(self.imgs[i]).float()
        if np.random.rand() < 0.5:  # numpy: flip
            img = img.flip(-1)
        img = img * (0.8 + 0.4 * random.random())  # python: brightness
        img = img + 8 * torch.randn(img.shape)  # torch: noise
        ds = DataSample()
        ds.set_field(torch.tensor(float(self.targets[i])), 'gt_dscore')
        return dict(inputs=img.clamp(0, 255), data_samples=ds)


class Killed(RuntimeError):
    """Stands for the SIGKILL of the training process."""


class KillInEpoch(Hook):
    """Raise in the given (1-based) epoch, after its first iteration."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.epoch + 1 == self.epoch and batch_idx == 1:
            raise Killed(f'killed in epoch {self.epoch}')


def ddnet_runner(work_dir, num_workers, seed_hook=True, kill_epoch=None,
                 resume=False):
    hooks = [dict(type='EpochSeedHook')] if seed_hook else []
    if kill_epoch:
        hooks.append(KillInEpoch(kill_epoch))
    return Runner(
        model=dict(
            type='ImageClassifier',
            backbone=dict(type='DDNetResNet'),
            head=dict(type='DDNetHead', in_channels=48, dropout_ratio=0.5),
            data_preprocessor=dict(type='ClsDataPreprocessor',
                                   mean=[127.5] * 3, std=[64.0] * 3)),
        work_dir=str(work_dir),
        default_scope='mmpretrain',
        train_dataloader=dict(
            dataset=RandomAugmentedImages(), batch_size=4,
            num_workers=num_workers, persistent_workers=False,
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=4),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01,
                                          momentum=0.9)),
        param_scheduler=dict(type='CosineAnnealingLR', T_max=4,
                             by_epoch=True),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=1)),
        custom_hooks=hooks,
        randomness=dict(seed=0),
        resume=resume,
        log_level='WARNING',
        experiment_name=f'resume_{work_dir.name}')


def train_weights(work_dir, num_workers, seed_hook=True):
    """Final weights of an uninterrupted run and of a run killed in epoch
    3 and resumed from its epoch-2 checkpoint."""
    full = ddnet_runner(work_dir / 'full', num_workers, seed_hook)
    full.train()
    killed = ddnet_runner(work_dir / 'killed', num_workers, seed_hook,
                          kill_epoch=3)
    with pytest.raises(Killed):
        killed.train()
    assert (work_dir / 'killed' / 'epoch_2.pth').is_file()
    assert not (work_dir / 'killed' / 'epoch_3.pth').exists()
    resumed = ddnet_runner(work_dir / 'killed', num_workers, seed_hook,
                           resume=True)
    resumed.train()
    assert resumed.epoch == full.epoch == 4
    return full.model.state_dict(), resumed.model.state_dict()


def max_abs_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item()
               for k in a if a[k].numel())


@pytest.mark.parametrize('num_workers', [0, 2])
def test_resume_is_bit_identical(tmp_path, num_workers):
    full, resumed = train_weights(tmp_path, num_workers)
    for name, value in full.items():
        assert torch.equal(value, resumed[name]), name


def test_resume_without_hook_differs(tmp_path):
    """Control: without the hook the resumed run drifts (mmengine restores
    no RNG state), so the test above can fail."""
    full, resumed = train_weights(tmp_path, 0, seed_hook=False)
    assert max_abs_diff(full, resumed) > 0


def test_epoch_seed_values():
    seeds = [epoch_seed(0, e) for e in range(50)] + \
        [epoch_seed(1, e) for e in range(50)]
    assert len(set(seeds)) == 100
    assert all(0 <= s < 2**31 for s in seeds)
    # none of the data-loader worker seeds (seed + worker id)
    assert not set(seeds) & set(range(64))
    assert epoch_seed(7, 3) == epoch_seed(7, 3)
    with pytest.raises(ValueError, match='epoch'):
        epoch_seed(0, -1)


def test_settings_a_resume_cannot_repeat_are_warned():
    class Loader:
        persistent_workers, num_workers = True, 2

    class FakeRunner:
        train_loop = object()
        train_dataloader = Loader()
        cfg = dict(randomness=dict(seed=None))

    MMLogger.get_instance('mmengine')
    hook = EpochSeedHook()
    hook.before_train(FakeRunner())
    assert len(hook.warnings) == 2
    assert 'randomness.seed is not set' in hook.warnings[0]
    assert 'persistent_workers=True' in hook.warnings[1]
    Loader.num_workers = 0  # no workers: nothing persists
    FakeRunner.cfg = dict(randomness=dict(seed=3))
    hook = EpochSeedHook()
    hook.before_train(FakeRunner())
    assert hook.warnings == []


def test_stage_reused_only_with_same_inputs_and_output(tmp_path, capsys):
    from demo.common import record_stage, reusable_stage
    stage = str(tmp_path / 'stage')
    out = tmp_path / 'stage' / 'epoch_1.pth'
    inputs = dict(config='a', base='0' * 64)
    assert reusable_stage('DDNet', stage, inputs) is None
    assert 'recomputing (no record of an earlier run' in \
        capsys.readouterr().out
    out.parent.mkdir()
    out.write_bytes(b'weights')
    record_stage(stage, inputs, output=str(out))
    assert reusable_stage('DDNet', stage, dict(inputs))['output'] == \
        str(out)
    assert f'DDNet: reusing {out}' in capsys.readouterr().out
    # each way of going stale, with the reason printed
    cases = [
        (dict(inputs, base='1' * 64), None, 'inputs changed: base'),
        (dict(inputs, extra=1), None, 'inputs changed: extra'),
        (inputs, b'other weights', 'was modified after it was written'),
        (inputs, None, 'is missing'),
    ]
    for new_inputs, content, why in cases:
        record_stage(stage, inputs, output=str(out))
        if why == 'is missing':
            out.unlink()
        elif content:
            out.write_bytes(content)
        assert reusable_stage('DDNet', stage, new_inputs) is None
        log = capsys.readouterr().out
        assert 'DDNet: recomputing (' in log and why in log
        # the record is gone: a killed recompute is never reused
        assert not (tmp_path / 'stage' / 'demo_stage.json').exists()
        out.write_bytes(b'weights')
    record_stage(stage, inputs, output=str(out))
    assert reusable_stage('DDNet', stage, inputs, force=True) is None
    assert 'recomputing (--force)' in capsys.readouterr().out
    (tmp_path / 'stage' / 'demo_stage.json').write_text('{not json')
    assert reusable_stage('DDNet', stage, inputs) is None
    assert 'unreadable record' in capsys.readouterr().out


def test_data_stage_regenerates_into_an_empty_folder(tmp_path, capsys):
    from demo.common import data_stage
    data = tmp_path / 'data'
    calls = []

    def make():
        calls.append(sorted(p.name for p in data.iterdir()))
        (data / f'list{len(calls)}.txt').write_text('x')
        return dict(videos=len(calls))

    assert data_stage('data', str(data), dict(seed=0), make) == \
        dict(videos=1)
    assert data_stage('data', str(data), dict(seed=0), make) == \
        dict(videos=1)  # reused: make() not called
    assert len(calls) == 1
    assert data_stage('data', str(data), dict(seed=1), make) == \
        dict(videos=2)
    log = capsys.readouterr().out
    assert '[demo] data: reusing' in log
    assert 'recomputing (inputs changed: params)' in log
    assert 'removing the stale data' in log
    # regenerated into an empty folder: the old list file is gone
    assert calls == [[], []]
    assert sorted(p.name for p in data.iterdir()) == [
        'demo_stage.json', 'list2.txt']
