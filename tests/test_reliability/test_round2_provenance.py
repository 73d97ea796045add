"""A DDNet checkpoint records what it was trained for (base, score table,
input shape, D-score variant); the DDL wrappers and the sweep check it.

A tiny DDNet is trained by tools/train.py on the demo configs, then
tools/test.py (and the sweep) runs it with another base, another input
size and with the override.
"""
import hashlib
import importlib.util
import os
import os.path as osp
import subprocess
import sys
import uuid

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmddl  # noqa: F401
from mmddl.models.utils import PROVENANCE_KEY, ProvenanceError
from mmddl.structures import ScoreTable
from mmddl.testing.synthetic_video import (BenchmarkConfig,
                                           make_video_benchmark)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs', 'recognition', 'demo')
BASE_CFG = osp.join(DEMO, 'slowfast_r18-tiny_1xb8-16x1x1-15e_synthetic-rgb.py')
DDNET_CFG = osp.join(
    DEMO, 'ddnet_r18cd3d-tiny_slowfast-tiny-dscore-20e_synthetic-rgb.py')
DDL_CFG = osp.join(DEMO, 'ddl_slowfast-tiny_top5-of-30_synthetic-rgb.py')
#: what the demo DDNet config trains on: 4 frames of 32x32
TRAINED = [3, 4, 32, 32]


def _tool(name):
    spec = importlib.util.spec_from_file_location(
        f'_prov_tool_{name.replace("/", "_")}',
        osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def _load(path):
    """A checkpoint as the project loads one (``weights_only=True`` plus
    mmengine's message-hub classes): the provenance is plain data."""
    from mmengine.runner.checkpoint import CheckpointLoader
    return CheckpointLoader.load_checkpoint(path, map_location='cpu')


def _fresh_logger():
    """A new current MMLogger, writing to this test's (captured) stdout."""
    from mmengine.logging import MMLogger
    MMLogger.get_instance(f'prov_{uuid.uuid4().hex}', log_level='INFO')


def _run_tool(monkeypatch, name, argv):
    monkeypatch.setattr(sys, 'argv', [f'{name}.py'] + argv)
    return _tool(name).main()


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """Bases A and B (random weights), a DDNet trained for A by
    tools/train.py (1 epoch, 2 candidate clips per video)."""
    torch.set_num_threads(1)
    root = str(tmp_path_factory.mktemp('prov'))
    bench = osp.join(root, 'bench')
    make_video_benchmark(
        bench,
        cfg=BenchmarkConfig(
            num_classes=2, train_per_class=2, test_per_class=1, num_frames=60),
        trimmed=False,
        progress=False)
    from mmaction.registry import MODELS
    bases = {}
    for name, seed in (('a', 0), ('b', 1)):
        torch.manual_seed(seed)
        with DefaultScope.overwrite_default_scope('mmaction'):
            base = MODELS.build(Config.fromfile(BASE_CFG).model)
        bases[name] = osp.join(root, f'base_{name}.pth')
        torch.save(dict(state_dict=base.state_dict(), meta={}), bases[name])
    work = osp.join(root, 'ddnet')
    argv = [
        DDNET_CFG, '--work-dir', work, '--no-validate', '--cfg-options',
        f'train_dataloader.dataset.ann_file={bench}/train_list.txt',
        f'train_dataloader.dataset.data_prefix.video={bench}',
        'train_dataloader.num_workers=0', 'train_dataloader.batch_size=2',
        'train_dataloader.drop_last=True',
        f'custom_hooks.0.base.config={BASE_CFG}',
        f'custom_hooks.0.base.checkpoint={bases["a"]}',
        'custom_hooks.0.candidates.pipeline.1.num_clips=2',
        'custom_hooks.0.candidates.num_workers=0',
        'custom_hooks.0.compute.progress=False',
        'train_cfg.max_epochs=1', 'param_scheduler.0.T_max=1',
        'param_scheduler.0.end=1', 'default_hooks.checkpoint.interval=1',
        'log_level=WARNING', f'experiment_name=prov_{uuid.uuid4().hex}'
    ]
    mp = pytest.MonkeyPatch()
    try:
        _run_tool(mp, 'train', argv)
    finally:
        mp.undo()
    return dict(
        root=root,
        bench=bench,
        work=work,
        ddnet=osp.join(work, 'epoch_1.pth'),
        **bases)


def _test_argv(s, base, *options, work='test'):
    return [
        DDL_CFG, s[base], '--ddnet-checkpoint', s['ddnet'], '--work-dir',
        osp.join(s['root'], work,
                 uuid.uuid4().hex), '--cfg-options',
        f'test_dataloader.dataset.ann_file={s["bench"]}/val_list.txt',
        f'test_dataloader.dataset.data_prefix.video={s["bench"]}',
        'test_dataloader.num_workers=0',
        'test_dataloader.dataset.pipeline.1.num_clips=4',
        'model.aggregator.topk=2', f'experiment_name=p{uuid.uuid4().hex}'
    ] + list(options)


#: a run at 8 frames of 48x48 (the DDNet was trained at 4 of 32x32)
OTHER_INPUT = ('model.ddnet_input.num_frames=8', 'model.ddnet_input.size=48',
               'test_dataloader.dataset.pipeline.2.ddnet_frames=8')


def test_checkpoint_records_provenance(trained):
    """(a) base hash, table hash and fingerprint, input, D-score variant
    (plain data: the checkpoint loads with weights_only=True)."""
    ckpt = _load(trained['ddnet'])
    prov = ckpt['meta'][PROVENANCE_KEY]
    assert prov['version'] == 1
    assert prov['base_checkpoint'] == dict(
        path=trained['a'], sha256=_sha256(trained['a']))
    table_file = osp.join(trained['work'], 'dscore_table.npz')
    table = ScoreTable.load(table_file)
    assert prov['score_table']['sha256'] == _sha256(table_file)
    assert prov['score_table']['fingerprint'] == table.fingerprint
    assert prov['score_table']['fingerprint']['checkpoint_sha256'] == \
        _sha256(trained['a'])
    assert prov['score_table']['num_elements'] == len(table) == 4 * 2
    assert prov['score_table']['info'] == dict(
        clip_len=16, frame_interval=1, num_classes=2)
    assert prov['ddnet_input'] == dict(
        shapes=[TRAINED], complete=True, min=TRAINED, max=TRAINED)
    assert prov['dscore'] == dict(
        metric='cosine', normalization='global', algorithm='ddl-dscore-v2')


def test_matching_run_passes_and_says_so(trained, monkeypatch, capsys):
    _run_tool(monkeypatch, 'test', _test_argv(trained, 'a'))
    out = capsys.readouterr().out
    assert 'ddl/top1: ' in out
    assert 'provenance checked (base sha256 ' + _sha256(trained['a']) in out
    assert '4 frames x 32x32 px' in out and 'ProvenanceError' not in out


def test_other_base_stops_naming_both_hashes(trained):
    """(b) tools/test.py (a subprocess: the exit status) with base B."""
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'test.py')] +
        _test_argv(trained, 'b'),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(
            os.environ,
            OMP_NUM_THREADS='1',
            PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', '')))
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0, log[-3000:]
    assert 'ProvenanceError: DDLRecognizer: the DDNet checkpoint' in log
    assert f'trained with base sha256 {_sha256(trained["a"])}' in log
    assert f"this run's base is sha256 {_sha256(trained['b'])}" in log
    assert "model.provenance_check=['base']" in log
    assert 'ddl/top1' not in log


def test_other_input_stops_naming_both_shapes(trained, monkeypatch):
    """(c) 8 frames of 48x48 into a DDNet trained on 4 of 32x32."""
    with pytest.raises(ProvenanceError) as err:
        _run_tool(monkeypatch, 'test', _test_argv(trained, 'a', *OTHER_INPUT))
    msg = str(err.value)
    assert ('trained on inputs of 4 frames x 32x32 px (C x T x H x W = '
            '3x4x32x32); this run feeds it 8 frames x 48x48 px (C x T x H '
            'x W = 3x8x48x48)') in msg, msg
    assert "model.provenance_check=['input']" in msg
    # only the frame count differs: still refused
    with pytest.raises(ProvenanceError, match='feeds it 8 frames x 32x32'):
        _run_tool(monkeypatch, 'test',
                  _test_argv(trained, 'a', *OTHER_INPUT[::2]))


def test_override_runs_and_logs(trained, monkeypatch, capsys):
    """(d) provenance_check=['input'] / 'warn': the run goes on, the
    mismatch is logged with both values; another base still stops when
    only the input is allowed."""
    _run_tool(
        monkeypatch, 'test',
        _test_argv(trained, 'a', *OTHER_INPUT,
                   'model.provenance_check=[input]'))
    out = capsys.readouterr().out
    assert 'ddl/top1: ' in out
    assert "provenance_check=['input']: a different input than" in out
    assert ('this run feeds it 8 frames x 48x48 px' in out
            and 'Running anyway as' in out), out[-3000:]
    with pytest.raises(ProvenanceError, match='another base model'):
        _run_tool(monkeypatch, 'test',
                  _test_argv(trained, 'b', 'model.provenance_check=[input]'))
    capsys.readouterr()
    _run_tool(monkeypatch, 'test',
              _test_argv(trained, 'b', 'model.provenance_check=warn'))
    out = capsys.readouterr().out
    assert 'ddl/top1: ' in out
    assert f"this run's base is sha256 {_sha256(trained['b'])}" in out
    assert 'Running anyway as' in out


def test_sweep_checks_the_same(trained, tmp_path):
    """The sweep builds the same wrapper: another base stops it; a dense
    config (no D-score selection) still checks at the DDNet's first
    forward in the dense pass."""
    from mmddl.analysis.sweep import dense_run
    opts = {
        'test_dataloader.dataset.ann_file': f'{trained["bench"]}/val_list.txt',
        'test_dataloader.dataset.data_prefix.video': trained['bench'],
        'test_dataloader.num_workers': 0,
        'test_dataloader.dataset.pipeline.1.num_clips': 4,
        'experiment_name': f's{uuid.uuid4().hex}'
    }
    with pytest.raises(ProvenanceError, match='another base model'):
        dense_run(DDL_CFG, trained['b'], str(tmp_path / 's1'),
                  trained['ddnet'], opts)
    opts.update({
        'model.aggregator.mode': 'dense',
        'model.ddnet_input.num_frames': 8,
        'test_dataloader.dataset.pipeline.2.ddnet_frames': 8,
        'experiment_name': f's{uuid.uuid4().hex}'
    })
    with pytest.raises(ProvenanceError, match='feeds it 8 frames x 32x32'):
        dense_run(DDL_CFG, trained['a'], str(tmp_path / 's2'),
                  trained['ddnet'], opts)


def test_old_checkpoint_warns_once_and_can_be_stamped(trained, tmp_path,
                                                      monkeypatch, capsys):
    """A checkpoint without provenance runs with one warning saying how to
    add it; tools/analysis/ddnet_provenance.py adds it, then it is
    checked."""
    ckpt = _load(trained['ddnet'])
    del ckpt['meta'][PROVENANCE_KEY]
    old = str(tmp_path / 'old.pth')
    torch.save(ckpt, old)
    s = dict(trained, ddnet=old)
    _run_tool(monkeypatch, 'test', _test_argv(s, 'b'))
    monkeypatch.setattr(sys, 'argv', ['test.py'] + _test_argv(s, 'b'))
    tool = _tool('test')
    cfg = tool.merge_args(Config.fromfile(DDL_CFG), tool.parse_args())
    from mmaction.registry import MODELS
    MODELS.build(cfg.model)  # a second wrapper: no second warning
    out = capsys.readouterr().out
    assert 'ddl/top1: ' in out
    assert out.count(f"the DDNet checkpoint '{old}' has no provenance") == 1
    assert 'tools/analysis/ddnet_provenance.py' in out
    _run_tool(monkeypatch, 'analysis/ddnet_provenance', [
        old, '--base-checkpoint', trained['a'], '--input-shape', '3,4,32,32',
        '--score-table',
        osp.join(trained['work'], 'dscore_table.npz')
    ])
    stamped = _load(old)['meta'][PROVENANCE_KEY]
    assert stamped == _load(trained['ddnet'])['meta'][PROVENANCE_KEY]
    with pytest.raises(ProvenanceError, match='another base model'):
        _run_tool(monkeypatch, 'test', _test_argv(s, 'b'))
    # a table of another base is refused by the tool
    with pytest.raises(SystemExit, match='was computed with base sha256'):
        _run_tool(monkeypatch, 'analysis/ddnet_provenance', [
            old, '--force', '--base-checkpoint', trained['b'], '--input-shape',
            '3,4,32,32', '--score-table',
            osp.join(trained['work'], 'dscore_table.npz')
        ])


@pytest.fixture
def face_parts(tmp_path):
    """A face base checkpoint and a DDNet checkpoint whose provenance says
    it was trained for that base on 32x32 images; ``build(size, check,
    base_checkpoint)`` makes their DDLGroupEncoder."""
    from mmengine.registry import MODELS
    sys.path.insert(0,
                    osp.join(ROOT, 'tests', 'test_models', 'test_recognizers'))
    import test_ddl_group_encoder as face
    from mmddl.models.utils import InputShapes, make_provenance
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        base = MODELS.build(face.base_cfg())
        ddnet = MODELS.build(face.ddnet_cfg())
    base_ckpt = str(tmp_path / 'base.pth')
    torch.save(dict(state_dict=base.state_dict(), meta={}), base_ckpt)
    shapes = InputShapes()
    shapes.add((3, 32, 32))
    prov = make_provenance(base_ckpt, None, None, None, shapes)
    ddnet_ckpt = str(tmp_path / 'ddnet.pth')
    torch.save(
        dict(state_dict=ddnet.state_dict(), meta={PROVENANCE_KEY: prov}),
        ddnet_ckpt)

    def build(size, check='error', base_checkpoint=base_ckpt):
        return MODELS.build(
            dict(
                type='DDLGroupEncoder',
                base=face.base_cfg(),
                ddnet=face.ddnet_cfg(),
                base_checkpoint=base_checkpoint,
                ddnet_checkpoint=ddnet_ckpt,
                ddnet_input_size=size,
                aggregator=dict(type='DDLAggregator', mode='ddl', topk=2),
                provenance_check=check,
                _scope_='mmpretrain')).eval()

    return dict(
        build=build,
        base=base_ckpt,
        ddnet=ddnet_ckpt,
        groups=face.make_groups(sizes=(4, 3), hw=24))


@pytest.mark.parametrize('policy', ['error', ['input'], 'warn'])
def test_group_encoder_checks_image_size(face_parts, policy, capsys):
    """DDLGroupEncoder (face / re-ID): a DDNet trained on 32x32 images run
    at 16x16; a bad provenance_check value fails when the model is
    built."""
    _fresh_logger()
    build, groups = face_parts['build'], face_parts['groups']
    build(32)(groups, mode='tensor')  # as trained
    model = build(16, policy)
    if policy == 'error':
        with pytest.raises(
                ProvenanceError,
                match=r'trained on inputs of 32x32 px .*this run '
                r'feeds it 16x16 px \(C x H x W = 3x16x16\)'):
            model(groups, mode='tensor')
    else:
        assert model(groups, mode='tensor').shape[0] == 2
        assert 'feeds it 16x16 px' in capsys.readouterr().out
    with pytest.raises(ValueError, match="provenance_check must be 'error'"):
        build(32, 'size')


def test_base_from_a_state_dict_is_logged_input_still_checked(
        face_parts, capsys):
    """The stock tools load the base through the Runner's load_from (a
    state dict, no file to hash): logged once; the input is still
    checked."""
    from mmengine.runner import load_checkpoint
    _fresh_logger()
    model = face_parts['build'](16, base_checkpoint=None)
    load_checkpoint(model, face_parts['base'], map_location='cpu')
    with pytest.raises(ProvenanceError, match='feeds it 16x16 px'):
        model(face_parts['groups'], mode='tensor')
    out = capsys.readouterr().out
    assert ("the base weights come from a state dict (e.g. the Runner's "
            'load_from), not a checkpoint file') in out
    assert 'is not compared' in out
