"""Fix 3: weights_only-safe loading of mmengine Runner checkpoints."""
import io
import os
import pickle
import uuid

import numpy as np
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import Runner, load_checkpoint
from mmengine.runner.checkpoint import (CheckpointLoader, _load_checkpoint,
                                        load_from_local)

import mmddl  # noqa: F401  (hooks mmengine's checkpoint loader)
from mmddl.compat import safe_checkpoint as sc
from toy_runner import ToyData, ToyModel

pytestmark = pytest.mark.skipif(
    not sc.weights_only_is_default(),
    reason='torch < 2.6 does not default to weights_only=True')




class _IterRecorder(Hook):

    def __init__(self) -> None:
        self.iters = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.iters.append(runner.iter)


def _runner(work_dir, max_iters, **kwargs) -> Runner:
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        experiment_name=f'h1_compat_{uuid.uuid4().hex[:8]}',
        train_dataloader=dict(dataset=ToyData(8),
                              sampler=dict(type='DefaultSampler',
                                           shuffle=False),
                              collate_fn=dict(type='default_collate'),
                              batch_size=4,
                              num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR',
                             milestones=[1],
                             by_epoch=False),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1),
                           checkpoint=dict(type='CheckpointHook',
                                           interval=2,
                                           by_epoch=False)),
        randomness=dict(seed=0),
        **kwargs)


@pytest.fixture(scope='module')
def saved(tmp_path_factory):
    """A checkpoint written by mmengine's own Runner after 2 iterations."""
    work_dir = tmp_path_factory.mktemp('runner')
    runner = _runner(work_dir, max_iters=2)
    runner.train()
    ckpt = os.path.join(str(work_dir), 'iter_2.pth')
    assert os.path.isfile(ckpt)
    state = {k: v.clone() for k, v in runner.model.state_dict().items()}
    return ckpt, state


def test_plain_loading_fails_without_fix(saved):
    ckpt, _ = saved
    with pytest.raises(pickle.UnpicklingError, match='Weights only load'):
        torch.load(ckpt)
    # mmengine's own local loader (not wrapped by the fix) fails the same way.
    with pytest.raises(pickle.UnpicklingError, match='Weights only load'):
        load_from_local(ckpt, 'cpu')


def test_allow_list_covers_what_mmengine_writes(saved):
    ckpt, _ = saved
    unsafe = set(torch.serialization.get_unsafe_globals_in_checkpoint(ckpt))
    assert 'builtins.getattr' in unsafe  # the reason for restricted_getattr
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in unsafe
    names = set()
    for entry in sc.mmengine_safe_globals():
        if isinstance(entry, tuple):
            names.add(entry[1])
        else:
            names.add(f'{entry.__module__}.{entry.__qualname__}')
    assert unsafe <= names
    # getattr itself is never allowed, only the restricted stand-in.
    allowed = [
        e[0] if isinstance(e, tuple) else e
        for e in sc.mmengine_safe_globals()
    ]
    assert getattr not in allowed
    assert sc.restricted_getattr in allowed


def test_load_checkpoint_restores_weights_and_history(saved):
    ckpt, state = saved
    model = ToyModel()
    assert not torch.equal(model.fc.weight, state['fc.weight'])
    checkpoint = load_checkpoint(model, ckpt, map_location='cpu')
    for key, value in state.items():
        assert torch.equal(model.state_dict()[key], value)
    hub = checkpoint['message_hub']
    loss = hub['log_scalars']['train/loss']
    assert isinstance(loss, HistoryBuffer)
    assert loss.data[0].shape == (2, ) and loss.data[0].dtype == np.float64
    assert loss.statistics('mean') == pytest.approx(loss.data[0].mean())
    assert isinstance(hub['runtime_info']['eta'], np.floating)
    assert 'statistics_methods' not in vars(loss)
    # Also through the private entry point used by Runner.load_checkpoint.
    assert set(_load_checkpoint(ckpt, 'cpu')) == set(checkpoint)


def test_runner_resume_continues_training(saved, tmp_path):
    ckpt, _ = saved
    recorder = _IterRecorder()
    runner = _runner(tmp_path,
                     max_iters=4,
                     resume=True,
                     load_from=ckpt,
                     custom_hooks=[recorder])
    runner.train()
    assert recorder.iters == [2, 3]  # resumed at iteration 2, not 0
    assert runner.iter == 4
    assert os.path.isfile(os.path.join(str(tmp_path), 'iter_4.pth'))
    # History of the first run (2 losses) + 2 new ones.
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert losses.shape == (4, )
    # MultiStepLR stepped at milestone 1: lr 0.001 was restored and kept.
    lrs = runner.message_hub.get_scalar('train/lr').data[0]
    assert lrs[-1] == pytest.approx(0.001)


class _Evil:
    """Pickles as a call of an arbitrary global."""

    def __init__(self, func, args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@pytest.mark.parametrize(
    'payload, message',
    [
        (os.system, 'system'),  # a dangerous global: refused by torch
        (_Evil(os.system, ('echo pwned', )), 'system'),
        (_Evil(getattr, (HistoryBuffer, 'update')), 'refused getattr'),
        (_Evil(getattr, (HistoryBuffer, '__init__')), 'refused getattr'),
        (_Evil(getattr, (np.ndarray, 'tofile')), 'refused getattr'),
    ])
def test_untrusted_globals_still_refused(tmp_path, payload, message):
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': ToyModel().state_dict(), 'x': payload}, path)
    with pytest.raises(pickle.UnpicklingError, match=message):
        load_checkpoint(ToyModel(), path, map_location='cpu')
    with pytest.raises(pickle.UnpicklingError, match=message):
        CheckpointLoader.load_checkpoint(path, 'cpu')


def test_numpy_1x_module_names_load():
    """Files written under numpy 1.x name ``numpy.core.multiarray``."""
    buf = io.BytesIO()
    obj = {
        'a': np.arange(3.0),
        'f32': np.float32(2.5),
        'i64': np.int64(7),
        'u8': np.zeros((2, 2), np.uint8)
    }
    torch.save(obj, buf, _use_new_zipfile_serialization=False)
    data = buf.getvalue()
    assert b'numpy._core.multiarray' in data
    old = data.replace(b'numpy._core.multiarray', b'numpy.core.multiarray')
    with pytest.raises(pickle.UnpicklingError, match='numpy.core.multiarray'):
        torch.load(io.BytesIO(old))
    with sc.mmengine_checkpoint_globals():
        loaded = torch.load(io.BytesIO(old))
    assert set(loaded) == set(obj)
    for key, value in obj.items():
        assert loaded[key].dtype == value.dtype
        np.testing.assert_array_equal(loaded[key], value)


def test_restricted_getattr():
    assert sc.restricted_getattr(HistoryBuffer,
                                 'mean') is vars(HistoryBuffer)['mean']
    for obj, name in [(HistoryBuffer, 'update'), (HistoryBuffer, '__class__'),
                      (HistoryBuffer(), 'min'), (os, 'system'),
                      (HistoryBuffer, 1)]:
        with pytest.raises(pickle.UnpicklingError):
            sc.restricted_getattr(obj, name)


def test_context_only_adds_and_removes_its_own_entries():
    marker = (ToyModel, 'h1.marker.ToyModel')
    hb = HistoryBuffer
    original = torch.serialization.get_safe_globals()
    torch.serialization.add_safe_globals([marker, hb])
    try:
        before = set(torch.serialization.get_safe_globals())
        with sc.mmengine_checkpoint_globals():
            inside = set(torch.serialization.get_safe_globals())
            assert (sc.restricted_getattr, 'builtins.getattr') in inside
            with sc.mmengine_checkpoint_globals():  # nesting is harmless
                pass
            assert set(torch.serialization.get_safe_globals()) == inside
        assert set(torch.serialization.get_safe_globals()) == before
        assert marker in before and hb in before  # user entries kept
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(original)


def test_patch_is_idempotent():
    import mmengine.runner.checkpoint as ck
    wrapped = ck.CheckpointLoader.__dict__['load_checkpoint']
    sc._patch(ck)
    assert ck.CheckpointLoader.__dict__['load_checkpoint'] is wrapped
    assert wrapped.__func__.__mmddl_compat__ is True
