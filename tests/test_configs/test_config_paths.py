"""Every config loads from any working directory; config paths resolve."""
import glob
import os
import os.path as osp

import mmddl  # noqa: F401  (compat fixes: mmaction:: / mmpretrain:: bases)
import pytest
from mmengine.config import Config

from mmddl.models.utils import config_file

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ALL = sorted(glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                       recursive=True))
# config-path keys; 'base.config' is DiscriminabilityHook's base group
CONFIG_KEYS = ('base_config', 'base', '_base_', 'base.config')


def config_paths(node, key=None, parent=None):
    """(key, value) of every string under a config-path key, recursively."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from config_paths(v, k, key)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from config_paths(v, key, parent)
    elif isinstance(node, str):
        name = f'{parent}.{key}' if key == 'config' else key
        if name in CONFIG_KEYS:
            yield name, node


def test_every_config_is_found():
    assert len(ALL) >= 50
    assert osp.join(ROOT, 'configs', 'ddnet_slowfast_k700.py') in ALL


def test_config_path_finder_sees_nested_keys():
    found = list(
        config_paths(
            dict(model=dict(base='a.py', ddnet=dict()),
                 custom_hooks=[dict(base=dict(config='b.py'))],
                 config='d.py', data_root='c')))
    assert found == [('base', 'a.py'), ('base.config', 'b.py')]


@pytest.mark.parametrize('path', ALL, ids=lambda p: osp.relpath(p, ROOT))
def test_loads_from_another_directory(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(path)
    assert os.getcwd() == str(tmp_path)
    for key, value in config_paths(cfg.to_dict()):
        if '::' in value:  # a package config (mmaction::, mmpretrain::)
            assert osp.isfile(config_file(value, key)[0]), (key, value)
            continue
        assert osp.isabs(value), f'{key}={value!r} depends on the cwd'
        assert osp.isfile(value), f'{key}={value!r} does not exist'
    # `_base_` entries are relative to the file (or package::)
    with open(path) as f:
        text = f.read()
    if '_base_ = [' in text:
        block = text.split('_base_ = [', 1)[1].split(']', 1)[0]
        for entry in block.replace('\n', ' ').split(','):
            entry = entry.strip().strip("'")
            if entry and '::' not in entry:
                assert osp.isfile(osp.join(osp.dirname(path), entry)), entry


def test_model_with_a_config_path_builds_from_another_directory(
        tmp_path, monkeypatch):
    """DDLRecognizer reads `base` from a file: it must not need the cwd."""
    from mmengine.registry import MODELS, DefaultScope
    path = osp.join(ROOT, 'configs', 'recognition', 'demo',
                    'ddl_slowfast-tiny_top5-of-30_synthetic-rgb.py')
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(path)
    assert isinstance(cfg.model.base, str)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    assert model.base.cls_head.num_classes == 6
