"""tools/train.py and tools/test.py: argparse before heavy imports, mmaction2's flags."""
import importlib.util
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

TOOLS = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools')


def _load(name):
    spec = importlib.util.spec_from_file_location(
        f'_tool_{name}', osp.join(TOOLS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _parse(module, monkeypatch, argv):
    monkeypatch.setattr(sys, 'argv', argv)
    return module.parse_args()


@pytest.mark.parametrize('tool,flags', [
    ('train', [
        '--work-dir', '--resume', '--amp', '--no-validate', '--auto-scale-lr',
        '--seed', '--diff-rank-seed', '--deterministic', '--cfg-options',
        '--launcher'
    ]),
    ('test', [
        '--work-dir', '--dump', '--cfg-options', '--show-dir', '--show',
        '--interval', '--wait-time', '--launcher', '--ddnet-checkpoint'
    ]),
])
def test_help_lists_flags_without_importing_torch(tool, flags):
    code = ('import runpy, sys\n'
            f'sys.argv = [{tool!r}, "--help"]\n'
            'try:\n'
            f'    runpy.run_path({osp.join(TOOLS, tool + ".py")!r}, '
            'run_name="__main__")\n'
            'except SystemExit as e:\n'
            '    assert e.code in (0, None), e.code\n'
            'heavy = [m for m in ("torch", "mmddl", "mmaction", "mmpretrain")'
            ' if m in sys.modules]\n'
            'print("HEAVY", heavy)\n')
    out = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True,
                         check=True).stdout
    for flag in flags:
        assert flag in out, (tool, flag)
    assert 'HEAVY []' in out


def test_test_tool_cfg_options_then_dump(monkeypatch, tmp_path):
    tool = _load('test')
    args = _parse(tool, monkeypatch, [
        'test.py', 'cfg.py', 'base.pth', '--dump', 'pred.pkl', '--cfg-options',
        'test_evaluator.ranks=[1,5]', '--work-dir',
        str(tmp_path)
    ])
    cfg = Config(
        dict(
            model=dict(type='Recognizer3D'),
            test_evaluator=dict(type='AccMetric', ranks=[1])))
    cfg = tool.merge_args(cfg, args)
    # the override reaches the config's evaluator; the dump is appended
    assert cfg.test_evaluator == [
        dict(type='AccMetric', ranks=[1, 5]),
        dict(type='DumpResults', out_file_path='pred.pkl')
    ]
    assert cfg.load_from == 'base.pth'
    assert cfg.work_dir == str(tmp_path)


def test_test_tool_ddl_checkpoints(monkeypatch):
    tool = _load('test')
    cfg = Config(
        dict(
            model=dict(type='DDLRecognizer', aggregator=dict(mode='ddl')),
            test_evaluator=dict(type='DDLMetric')))
    args = _parse(tool, monkeypatch, ['test.py', 'c.py', 'base.pth'])
    with pytest.raises(SystemExit, match='--ddnet-checkpoint'):
        tool.merge_args(cfg.copy(), args)
    args = _parse(
        tool, monkeypatch,
        ['test.py', 'c.py', 'base.pth', '--ddnet-checkpoint', 'd.pth'])
    out = tool.merge_args(cfg.copy(), args)
    assert out.model.base_checkpoint == 'base.pth'
    assert out.model.ddnet_checkpoint == 'd.pth'
    assert out.get('load_from') is None
    # dense needs no DDNet
    args = _parse(tool, monkeypatch, [
        'test.py', 'c.py', 'base.pth', '--cfg-options',
        'model.aggregator.mode=dense'
    ])
    assert tool.merge_args(cfg.copy(), args).model.aggregator.mode == 'dense'


def test_test_tool_show_needs_visualization_hook(monkeypatch):
    tool = _load('test')
    args = _parse(tool, monkeypatch,
                  ['test.py', 'c.py', 'w.pth', '--show-dir', 'vis'])
    with pytest.raises(SystemExit, match='VisualizationHook'):
        tool.merge_args(Config(dict(model=dict(type='X'))), args)
    cfg = Config(
        dict(
            model=dict(type='X'),
            default_hooks=dict(
                visualization=dict(type='VisualizationHook', enable=False))))
    vis = tool.merge_args(cfg, args).default_hooks.visualization
    assert vis.enable and vis.out_dir == 'vis' and vis.interval == 1


def test_train_tool_merge(monkeypatch):
    tool = _load('train')
    cfg = Config(
        dict(
            model=dict(type='X'),
            optim_wrapper=dict(optimizer=dict(type='SGD')),
            val_cfg=dict(),
            val_dataloader=dict(),
            val_evaluator=dict(),
            auto_scale_lr=dict(enable=False, base_batch_size=64)))
    args = _parse(tool, monkeypatch, [
        'train.py', 'cfg.py', '--no-validate', '--auto-scale-lr', '--amp',
        '--seed', '3', '--deterministic', '--resume'
    ])
    out = tool.merge_args(cfg, args)
    assert out.val_cfg is None and out.val_dataloader is None
    assert out.auto_scale_lr.enable is True
    assert out.optim_wrapper.type == 'AmpOptimWrapper'
    assert out.randomness == dict(seed=3, deterministic=True)
    assert out.resume is True and out.load_from is None
    args = _parse(tool, monkeypatch, ['train.py', 'cfg.py', '--auto-scale-lr'])
    with pytest.raises(SystemExit, match='auto_scale_lr'):
        tool.merge_args(Config(dict(model=dict(type='X'))), args)


def test_train_refuses_a_work_dir_in_use(tmp_path):
    work = tmp_path / 'work'
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(
        f"model = dict(type='NotBuilt')\nwork_dir = {str(work)!r}\n")
    holder = subprocess.Popen([
        sys.executable, '-c', 'import sys, time; import mmddl.engine as e\n'
        f'lock = e.WorkDirLock({str(work / "train.lock")!r}); lock.acquire()\n'
        'print("held", flush=True); time.sleep(120)'
    ],
                              stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == 'held'
        run = subprocess.run(
            [sys.executable,
             osp.join(TOOLS, 'train.py'),
             str(cfg)],
            capture_output=True,
            text=True)
        assert run.returncode != 0
        assert 'LockHeldError' in run.stderr
        assert f'pid {holder.pid}' in run.stderr
    finally:
        holder.kill()
        holder.wait()
