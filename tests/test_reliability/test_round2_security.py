"""Issue 22, code from data: configs stored in checkpoints, sweep dumps and
prediction dumps are read as data; a hostile file is refused, never run."""
import json
import os
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmddl.models.utils.stored_config import (StoredConfigError,
                                              parse_stored_config)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tests', 'test_tools'))
from ddl_tool_testutils import DEMO_DDL_CONFIG, save_checkpoint  # noqa: E402


class _Payload:
    """Pickles as ``os.system(command)``."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command, )


def _hostile_texts(marker: str):
    """(config text, line of the offending statement) pairs."""
    plain = "a = dict(type='X')\n"
    return {
        'import': (plain + f"import os\nos.system('touch {marker}')\n", 2),
        'call in a value': (
            plain + f"model = dict(type=__import__('os').system("
            f"'touch {marker}'))\n", 2),
        'exec': (plain + f"exec(\"open('{marker}', 'w')\")\n", 2),
        'lambda': (plain + 'f = (lambda: 0)\n', 2),
        'attribute': (plain + 'p = os.path\n', 2),
        'unknown name': (plain + 'p = inf\n', 2),
        'operator': (plain + 'n = 2 ** 10\n', 2),
        'f-string': (plain + "s = f'{open(1)}'\n", 2),
        'function': (plain + 'def g():\n    return 1\n', 2),
        'syntax error': (plain + 'model = dict(\n', 2),
    }


@pytest.mark.parametrize('case', sorted(_hostile_texts('m')))
def test_stored_config_with_code_is_refused_naming_the_line(tmp_path, case):
    marker = str(tmp_path / 'pwned')
    text, line = _hostile_texts(marker)[case]
    with pytest.raises(StoredConfigError, match=f'ckpt.pth, line {line}'):
        parse_stored_config(text, 'ckpt.pth')
    assert not osp.exists(marker)


def test_stored_config_reads_what_mmengine_saves(tmp_path):
    """The Runner saves ``cfg.pretty_text``: parsed as data it equals what
    mmengine's executing parser gives, for the shipped video, face and re-ID
    DDL configs."""
    from mmengine.config import Config

    import mmddl  # noqa: F401
    for rel in ('recognition/ddl_slowfast-r50_top5-of-30_kinetics700-rgb.py',
                'face/ddl_arcface-r101-ms1m_thr0.15_ijbc.py',
                'reid/ddl_reid-r50_thr0.15_mars.py'):
        text = Config.fromfile(osp.join(REPO, 'configs', rel)).pretty_text
        assert parse_stored_config(text) == Config.fromstring(
            text, '.py').to_dict(), rel
    # negative numbers, tuples, nested containers, None / True
    got = parse_stored_config('x = dict(a=(-1, 2.5), b=[None, True], '
                              "c={'k': {1, 2}}, d=dict())\n")
    assert got == dict(x=dict(a=(-1, 2.5), b=[None, True], c={'k': {1, 2}},
                              d={}))


def test_tools_test_never_runs_the_config_in_a_base_checkpoint(tmp_path):
    """``tools/test.py`` with ``model.base=None`` takes the base config from
    the checkpoint's ``meta['cfg']``: a config holding code stops the run
    with the checkpoint and line named; the code does not run."""
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import mmddl  # noqa: F401
    cfg = Config.fromfile(DEMO_DDL_CONFIG)
    base_cfg = Config.fromfile(cfg.model.base)
    with DefaultScope.overwrite_default_scope('mmaction'):
        base = MODELS.build(base_cfg.model)
    marker = tmp_path / 'pwned'
    text = base_cfg.pretty_text + f"\nimport os\nos.system('touch {marker}')\n"
    line = text[:text.index('import os')].count('\n') + 1
    ckpt = save_checkpoint(base, str(tmp_path / 'base.pth'), text)
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'test.py'), DEMO_DDL_CONFIG,
         ckpt, '--ddnet-checkpoint', ckpt, '--work-dir',
         str(tmp_path / 'work'), '--cfg-options', 'model.base=None'],
        cwd=str(tmp_path), env=env, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"{ckpt} meta['cfg'], line {line}: a Import statement" in out
    assert 'never executes it' in out and 'Pass the model config' in out
    assert not marker.exists()


def _write_dump(root: str) -> None:
    ptr = np.array([0, 2, 5], np.int64)
    np.savez(osp.join(root, 'sweep_dump.npz'), group_ptr=ptr,
             scores=np.linspace(0.1, 0.9, 5, dtype=np.float32),
             outputs=np.zeros((5, 2), np.float32), gflops_base=np.ones(5),
             gflops_ddnet=np.full(5, 0.1))
    groups = [dict(id=f'g{i}', gt_label=[i], elements=['a'] * n)
              for i, n in enumerate((2, 3))]
    with open(osp.join(root, 'sweep_groups.json'), 'w') as f:
        json.dump(dict(task='face', config='x.py', groups=groups), f)


def test_sweep_dump_pickle_is_refused_through_show_dscores(tmp_path):
    """A dump folder holding a pickle payload (the old
    ``sweep_samples.pkl``): the reader and ``tools/analysis/show_dscores.py``
    refuse it by name; the payload never runs."""
    sys.path.insert(0, osp.join(REPO, 'tools', 'analysis'))
    import show_dscores

    from mmddl.analysis import load_sweep_dump
    root = str(tmp_path)
    _write_dump(root)
    assert load_sweep_dump(root).num_groups == 2  # a clean dump reads
    marker = tmp_path / 'pwned'
    with open(tmp_path / 'sweep_samples.pkl', 'wb') as f:
        pickle.dump([_Payload(f'touch {marker}')], f)
    with pytest.raises(ValueError, match='sweep_samples.pkl: a pickle file '
                       'in a sweep dump folder is refused'):
        load_sweep_dump(root)
    with pytest.raises(ValueError, match='is refused'):
        show_dscores.main(['--dump', root, '--out', str(tmp_path / 'o')])
    assert not marker.exists()
    # a pickled object array inside the npz is refused too
    os.remove(tmp_path / 'sweep_samples.pkl')
    arrays = dict(np.load(tmp_path / 'sweep_dump.npz'))
    arrays['scores'] = np.array([_Payload(f'touch {marker}')] * 5, object)
    np.savez(tmp_path / 'sweep_dump.npz', **arrays)
    with pytest.raises(ValueError, match='not a readable sweep dump'):
        load_sweep_dump(root)
    assert not marker.exists()


def test_saved_sweep_dump_is_arrays_and_json_only(tmp_path):
    from mmddl.analysis.sweep import SweepDump, save_sweep_dump
    dump = SweepDump(
        group_ptr=np.array([0, 1]), scores=np.ones(1), outputs=np.ones((1, 2)),
        gflops_base=np.ones(1), gflops_ddnet=np.ones(1),
        groups=dict(groups=[dict(id='g')]), samples=[object()])
    save_sweep_dump(dump, str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ['sweep_dump.npz',
                                            'sweep_groups.json']


def test_prediction_dump_reader_refuses_code_and_reads_dump_results(
        tmp_path):
    """``tools/test.py --dump`` files (mmengine ``DumpResults``) are read by
    an allow-list unpickler: tensors, arrays and containers load, a payload
    is refused by name (also through the demos' Fig. 3 picture)."""
    from mmengine.evaluator import DumpResults
    from mmengine.structures import BaseDataElement

    from demo.figures import plot_group_dscores
    from mmddl.evaluation.prediction_dump import load_prediction_dump
    good = str(tmp_path / 'pred.pkl')
    sample = BaseDataElement(
        metainfo=dict(img_paths=['a.png', 'b.png']),
        ddl_scores=torch.tensor([0.2, 0.7]), ddl_selected=torch.tensor([1]),
        feat=np.arange(3.0))
    metric = DumpResults(out_file_path=good)
    metric.process(None, [sample.to_dict()])
    metric.evaluate(1)
    got = load_prediction_dump(good)
    assert got[0]['img_paths'] == ['a.png', 'b.png']
    assert torch.equal(got[0]['ddl_scores'], torch.tensor([0.2, 0.7]))
    assert np.array_equal(got[0]['feat'], np.arange(3.0))

    marker = tmp_path / 'pwned'
    evil = str(tmp_path / 'evil.pkl')
    with open(evil, 'wb') as f:
        pickle.dump([dict(ddl_scores=_Payload(f'touch {marker}'))], f)
    with pytest.raises(pickle.UnpicklingError,
                       match=f'{evil}: refused posix.system'):
        load_prediction_dump(evil)
    with pytest.raises(pickle.UnpicklingError, match='refused'):
        plot_group_dscores(evil, str(tmp_path / 'fig.png'))
    assert not marker.exists()
    with open(evil, 'wb') as f:
        f.write(open(good, 'rb').read()[:20])
    with pytest.raises(ValueError, match='not a readable prediction dump'):
        load_prediction_dump(evil)
