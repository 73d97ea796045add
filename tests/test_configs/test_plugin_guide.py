"""docs/plugin_guide.md: every code block runs. Its own-folder configs
inherit mmddl's parts (``mmddl::``) from the installed package and run
through mmaction2's own tools/test.py from a temporary folder."""
import argparse
import json
import os
import os.path as osp
import pickle
import re
import shlex
import subprocess
import sys

import mmddl  # noqa: F401  (compat fixes, registration)
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from doc_snippets import REPO, check_option, code_blocks, commands

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(__file__)), 'test_tools'))
from ddl_tool_testutils import STOCK_TOOLS, save_checkpoint  # noqa: E402
from ddl_tool_testutils import write_videos  # noqa: E402

GUIDE = 'plugin_guide.md'
OWN = 'my_project/'
DDL_TEST = OWN + 'ddl_slowfast_k400.py'
CLIPS, TOPK = 3, 2
# the guide's DDL test made tiny (8 frames, 3 clips, 32 px, DDNet 4 x 16)
TINY = [
    'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False',
    'test_dataloader.dataset.pipeline.1.clip_len=8',
    'test_dataloader.dataset.pipeline.1.frame_interval=1',
    f'test_dataloader.dataset.pipeline.1.num_clips={CLIPS}',
    'test_dataloader.dataset.pipeline.2.ddnet_frames=4',
    'test_dataloader.dataset.pipeline.2.pipeline.0.scale=(-1,32)',
    'test_dataloader.dataset.pipeline.2.pipeline.1.crop_size=32',
    'model.ddnet_input.num_frames=4', 'model.ddnet_input.size=16',
    f'model.aggregator.topk={TOPK}'
]


def python_blocks() -> dict:
    """``{path: file text}``: each block starts with ``# <path>.py``."""
    out = {}
    for block in code_blocks(GUIDE, 'python'):
        first, _, rest = block.partition('\n')
        found = re.match(r'# ([\w./-]+\.py)', first)
        assert found, f'python block without "# <path>.py": {first!r}'
        path = found.group(1)
        out[path] = block if path.startswith(OWN) else rest
    return out


def clean_env() -> dict:
    """The user's environment: the installed packages only."""
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    env.pop('PYTHONPATH', None)
    return env


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    """The guide's own configs written into a temporary folder."""
    root = tmp_path_factory.mktemp('user')
    for path, text in python_blocks().items():
        if path.startswith(OWN):
            (root / path).parent.mkdir(exist_ok=True)
            (root / path).write_text(text)
    return root


def test_example_blocks_are_the_files():
    blocks = python_blocks()
    assert {OWN + 'ddl_slowfast_k400.py',
            OWN + 'ddnet_slowfast_k400.py'} <= set(blocks)
    for path, text in blocks.items():
        if not path.startswith(OWN):
            with open(osp.join(REPO, path)) as f:
                assert f.read() == text, f'{path} differs from the guide'


def test_mmddl_paths_named_in_the_guide_exist():
    from mmddl.compat.config_scope import resolve
    with open(osp.join(REPO, 'docs', GUIDE)) as f:
        names = set(re.findall(r'mmddl::[\w./-]+\.py', f.read()))
    names.discard('mmddl::rel/path.py')  # the syntax, not a file
    assert len(names) >= 8
    for name in names:
        assert osp.isfile(resolve(name)), name


def test_own_configs_resolve_before_mmddl_is_imported(project):
    """A fresh interpreter, as mmaction2's tools start: the mmddl:: bases
    resolve before anything imports mmddl, to the shipped part files."""
    code = (
        'import json, sys\n'
        'from mmengine.config import Config\n'
        'out = {}\n'
        f'for name in {sorted(python_blocks())!r}:\n'
        f'    if name.startswith({OWN!r}):\n'
        '        cfg = Config.fromfile(name, import_custom_modules=False)\n'
        '        out[name] = cfg.to_dict()\n'
        'print(json.dumps(dict(mmddl="mmddl" in sys.modules, '
        'out=out), default=repr))\n')
    proc = subprocess.run([sys.executable, '-c', code],
                          cwd=str(project),
                          env=clean_env(),
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res['mmddl'] is False
    ddl, ddnet = res['out'][DDL_TEST], res['out'][OWN +
                                                  'ddnet_slowfast_k400.py']
    part = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'ddl', 'ddl_recognizer.py'))
    for key, value in part.ddl_recognizer.to_dict().items():
        assert json.loads(json.dumps(value, default=repr)) == \
            ddl['model'][key], key
    assert ddl['model']['base']['backbone']['type'] == 'ResNet3dSlowFast'
    assert ddl['model']['aggregator']['topk'] == 5
    assert [t['type']
            for t in ddl['test_dataloader']['dataset']['pipeline']] == [
                'DecordInit', 'SampleFrames', 'DDLTwoStageDecode',
                'PackActionInputs'
            ]
    (hook, ) = ddnet['custom_hooks']
    assert hook['type'] == 'DiscriminabilityHook'
    assert ddnet['model']['backbone']['type'] == 'DDNetResNet3d'
    assert ddnet['custom_imports']['imports'] == ['mmddl']


def test_num_crops_is_set_in_the_same_dict(project):
    text = (project / DDL_TEST).read_text()
    wrap = ('model = dict(\n    _base_.ddl_recognizer,\n    _delete_=True,\n'
            '    base=_base_.model,\n')
    assert wrap in text
    ok = project / OWN / 'centre.py'
    ok.write_text(text.replace(wrap, wrap + '    num_crops=1,\n'))
    assert Config.fromfile(str(ok)).model.num_crops == 1
    bad = project / OWN / 'twice.py'
    bad.write_text(
        text.replace(
            wrap, 'model = dict(\n    _delete_=True,\n    num_crops=1,\n'
            '    **_base_.ddl_recognizer,\n    base=_base_.model,\n'))
    with pytest.raises(TypeError, match='multiple values.*num_crops'):
        Config.fromfile(str(bad))


def test_commands_name_existing_tools_configs_and_options(project):
    name, _, value = commands(GUIDE)[0].partition('=')
    assert name == 'MMACTION'
    mmaction = subprocess.run([
        'bash', '-c',
        value.strip('$()').replace('python', sys.executable, 1)
    ],
                              env=clean_env(),
                              capture_output=True,
                              text=True).stdout.strip()
    assert osp.isdir(osp.join(mmaction, '.mim', 'tools')), mmaction
    runs = [shlex.split(c) for c in commands(GUIDE) if c.startswith('python ')]
    assert len(runs) == 5
    for args in runs:
        tool = args[1].replace('$MMACTION', mmaction)
        tool = tool if osp.isabs(tool) else osp.join(REPO, tool)
        assert osp.isfile(tool), tool
        root = str(project) if args[2].startswith(OWN) else REPO
        cfg = Config.fromfile(osp.join(root, args[2]))
        options = args[args.index('--cfg-options') + 1:] \
            if '--cfg-options' in args else []
        for option in options:
            check_option(cfg, option)


def _checkpoints(root: str):
    """Saved weights of the guide's DDL test's base (bare keys, stock) and
    DDNet."""
    from mmaction.registry import MODELS
    cfg = Config.fromfile(osp.join(root, DDL_TEST))
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmaction'):
        base = MODELS.build(cfg.model.base)
        ddnet = MODELS.build(cfg.model.ddnet)
    return (save_checkpoint(base, osp.join(root, 'base.pth'), seed=1),
            save_checkpoint(ddnet, osp.join(root, 'ddnet.pth'), seed=2))


def test_own_ddl_config_runs_through_mmaction_tools_test(project):
    """The guide's command, in the user's folder, with tiny overrides; the
    dumped predictions are those of the model built here from the same
    config and the same checkpoints."""
    root = str(project)
    ann = write_videos(osp.join(root, 'data'), labels=[0, 1])
    base, ddnet = _checkpoints(root)
    data = [
        f'test_dataloader.dataset.ann_file={ann}',
        f'test_dataloader.dataset.data_prefix.video={osp.dirname(ann)}'
    ]
    (cmd, ) = [
        c for c in commands(GUIDE)
        if c.startswith('python $MMACTION') and 'test.py' in c
    ]
    args = shlex.split(cmd)[2:]
    assert args[:2] == [DDL_TEST, 'PATH/TO/slowfast_r50_k400.pth']
    args[1] = base
    args = [a.replace('PATH/TO/ddnet.pth', ddnet) for a in args]
    proc = subprocess.run(
        [sys.executable, STOCK_TOOLS['mmaction']] + args + TINY + data +
        ['--work-dir', 'work', '--dump', 'stock.pkl'],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert 'MultiScaleDeformableAttention' not in out
    assert 'missing keys' not in out and 'unexpected key' not in out
    with open(osp.join(root, 'stock.pkl'), 'rb') as f:
        rows = pickle.load(f)
    assert len(rows) == 2

    from mmaction.registry import DATASETS, MODELS
    from mmengine.config import DictAction
    from mmengine.dataset import pseudo_collate
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    cfg = Config.fromfile(osp.join(root, DDL_TEST))
    cfg.merge_from_dict(
        parser.parse_args(['--cfg-options'] + TINY + data).cfg_options)
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(
            dict(cfg.model, base_checkpoint=base,
                 ddnet_checkpoint=ddnet)).eval()
        dataset = DATASETS.build(cfg.test_dataloader.dataset)
        for i, row in enumerate(rows):
            (sample, ) = model.test_step(pseudo_collate([dataset[i]]))
            assert len(row['ddl_selected']) == TOPK
            assert np.array_equal(row['ddl_selected'], sample.ddl_selected)
            np.testing.assert_allclose(
                np.asarray(row['pred_score']),
                sample.pred_score.numpy(),
                rtol=1e-5,
                atol=1e-6)
