"""Base model config and strict checkpoint loading."""
import pytest
import torch
from torch import nn

from mmddl.engine import base_model_cfg, load_weights_strict
from scale_testutils import save_toy_checkpoint, toy_hook, toy_runner


def test_strict_loading_names_file_and_keys(tmp_path):
    path = str(tmp_path / 'w.pth')
    state = nn.Linear(2, 3).state_dict()
    torch.save(dict(state_dict={'module.' + k: v for k, v in state.items()}),
               path)
    model = load_weights_strict(nn.Linear(2, 3), path)
    assert torch.equal(model.weight, state['weight'])
    torch.save(dict(state_dict=dict(state, extra=torch.zeros(1))), path)
    with pytest.raises(RuntimeError, match=r"w\.pth.*unexpected keys extra"):
        load_weights_strict(nn.Linear(2, 3), path)
    torch.save(dict(state_dict={'weight': state['weight']}), path)
    with pytest.raises(RuntimeError, match=r"missing keys bias"):
        load_weights_strict(nn.Linear(2, 3), path)


def test_base_model_cfg_scope():
    cfg, scope = base_model_cfg(dict(default_scope='a', model=dict(type='M')),
                                'b')
    assert (cfg, scope) == (dict(type='M'), 'a')
    assert base_model_cfg(dict(type='M'), 'b') == (dict(type='M'), 'b')
    with pytest.raises(ValueError, match='no model type'):
        base_model_cfg(dict(model=dict(depth=3)))


def test_hook_refuses_a_mismatching_checkpoint(tmp_path):
    ann, ckpt = str(tmp_path / 'ann.txt'), str(tmp_path / 'bad.pth')
    with open(ann, 'w') as f:
        f.write('toy\n')
    save_toy_checkpoint(ckpt)
    state = torch.load(ckpt)['state_dict']
    state.pop('proj.bias')
    torch.save(dict(state_dict=state), ckpt)
    with pytest.raises(RuntimeError, match=r"bad\.pth.*missing keys proj\.bias"):
        toy_hook(ckpt).before_train(toy_runner(str(tmp_path / 'w'), ann, 5))
