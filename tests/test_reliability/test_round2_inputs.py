"""Lists, annotations and training splits are checked before any model runs
(issue 22, items 6 and 9): each case names the file and line, or the split,
the batch size and the fix."""
import json
import os
import os.path as osp
import subprocess
import sys
import uuid
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from scipy.io import loadmat, savemat

import mmddl  # noqa: F401
from mmddl.datasets import (ActivityNetVideoDataset, CheckedVideoDataset,
                            DatasetFormatError)
from mmddl.datasets.reid import MARSDataset
from mmddl.engine import compute_score_table
from mmddl.engine.train_batches import (EMPTY, LONE_LAST, NO_BATCH, OK,
                                        LoneBatchProbe, batch_problem,
                                        check_train_batches, other_batch_size,
                                        training_batchnorms)
from mmddl.testing.synthetic_faces import make_identities, write_mars
from mmddl.testing.synthetic_video import (BenchmarkConfig,
                                           make_video_benchmark)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tests', 'test_engine'))
from scale_testutils import ToyClipDataset, toy_model  # noqa: E402

DEMO = osp.join(ROOT, 'configs', 'recognition', 'demo')
BASE_CFG = osp.join(DEMO, 'slowfast_r18-tiny_1xb8-16x1x1-15e_synthetic-rgb.py')
DDNET_CFG = osp.join(
    DEMO, 'ddnet_r18cd3d-tiny_slowfast-tiny-dscore-20e_synthetic-rgb.py')


# ------------------------------------------------------------------ set-up
@pytest.fixture(scope='module')
def bench(tmp_path_factory):
    """2 classes x 3 training videos (60 frames, 64x64) and a random base
    checkpoint of the demo base config."""
    from mmaction.registry import MODELS
    root = str(tmp_path_factory.mktemp('bench'))
    make_video_benchmark(
        root, cfg=BenchmarkConfig(num_classes=2, train_per_class=3,
                                  test_per_class=1, num_frames=60),
        trimmed=False, progress=False)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmaction'):
        base = MODELS.build(Config.fromfile(BASE_CFG).model)
    ckpt = osp.join(root, 'base.pth')
    torch.save(dict(state_dict=base.state_dict()), ckpt)
    with open(osp.join(root, 'train_list.txt')) as f:
        lines = [ln.strip() for ln in f if ln.strip()]
    return dict(root=root, ckpt=ckpt, lines=lines)


def _list(tmp_path, lines, name='list.txt'):
    path = tmp_path / name
    path.write_text(''.join(f'{ln}\n' for ln in lines))
    return str(path)


def _runner(bench, tmp_path, ann, *, dataset_type='CheckedVideoDataset',
            batch_size=2, drop_last=False, held_out=False, max_iters=1,
            val_batch=(1, False), size=32, dscore=None):
    """A Runner of the demo DDNet (DiscriminabilityHook, 2 candidate clips)
    on ``ann``; ``held_out``: GroupSplitSampler + HeldOutValLoop, one
    epoch (else DefaultSampler, ``max_iters`` iterations)."""
    from mmengine.runner import Runner
    demo = Config.fromfile(DDNET_CFG)
    candidates = demo.candidate_pipeline
    candidates[1].num_clips = 2
    for pipe in (demo.train_pipeline, demo.val_pipeline):
        pipe[2].scale = (size, size)  # Resize
    loader = dict(batch_size=batch_size, num_workers=0, drop_last=drop_last,
                  dataset=dict(type=dataset_type, ann_file=ann,
                               data_prefix=dict(video=bench['root']),
                               pipeline=demo.train_pipeline))
    cfg = dict(
        default_scope='mmaction', work_dir=str(tmp_path / 'work'),
        model=demo.model, train_dataloader=loader,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        custom_hooks=[dict(type='DiscriminabilityHook',
                           base=dict(config=BASE_CFG,
                                     checkpoint=bench['ckpt']),
                           candidates=dict(pipeline=candidates, batch_size=2,
                                           num_workers=0),
                           dscore=dscore,
                           compute=dict(progress=False))],
        default_hooks=dict(checkpoint=None), log_level='WARNING',
        experiment_name=f'inputs_{uuid.uuid4().hex}')
    if held_out:
        loader['sampler'] = dict(type='GroupSplitSampler', split='train',
                                 val_fraction=0.1, shuffle=True)
        cfg.update(
            train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=1),
            val_cfg=dict(type='HeldOutValLoop'),
            val_dataloader=dict(batch_size=val_batch[0],
                                drop_last=val_batch[1], num_workers=0,
                                dataset=dict(pipeline=demo.val_pipeline)),
            val_evaluator=dict(type='DScoreMetric'))
    else:
        loader['sampler'] = dict(type='DefaultSampler', shuffle=False)
        cfg['train_cfg'] = dict(type='IterBasedTrainLoop',
                                max_iters=max_iters)
    return Runner.from_cfg(Config(cfg))


def _nothing_computed(tmp_path):
    work = tmp_path / 'work'
    return not (work / 'dscore_features').exists() and not (
        work / 'dscore_table.npz').exists()


# ------------------------------------------- item 6: lists, through Runner
def test_duplicated_line_is_refused_naming_both_lines(bench, tmp_path):
    ann = _list(tmp_path, bench['lines'] + [bench['lines'][1]])
    with pytest.raises(DatasetFormatError) as e:
        _runner(bench, tmp_path, ann).train()
    msg = str(e.value)
    name = bench['lines'][1].split()[0]
    assert msg.startswith(f'{ann}:7: {name!r} is listed again (first at '
                          'line 2)'), msg
    assert 'weighted twice' in msg
    assert _nothing_computed(tmp_path)


def test_video_under_two_labels_is_refused_naming_both(bench, tmp_path):
    name, label = bench['lines'][0].split()
    ann = _list(tmp_path, bench['lines'] + ['', f'{name} {1 - int(label)}'])
    with pytest.raises(DatasetFormatError) as e:
        _runner(bench, tmp_path, ann).train()
    msg = str(e.value)
    assert msg.startswith(f'{ann}:8: {name!r} has label {1 - int(label)} '
                          f'here and {label} at line 1'), msg
    assert 'average' in msg and _nothing_computed(tmp_path)


@pytest.mark.parametrize('conflict', [False, True],
                         ids=['duplicate', 'two-labels'])
def test_stock_video_dataset_repeats_refused_before_the_pass(
        bench, tmp_path, conflict):
    # mmaction's VideoDataset does not check: the pass does, before any
    # model is built (the table would have averaged / double-counted)
    name, label = bench['lines'][2].split()
    extra = f'{name} {1 - int(label) if conflict else label}'
    ann = _list(tmp_path, bench['lines'] + [extra])
    with pytest.raises(ValueError) as e:
        _runner(bench, tmp_path, ann, dataset_type='VideoDataset').train()
    msg = str(e.value)
    assert f'samples 2 and 6 (0-based) of {ann} are both' in msg, msg
    assert osp.join(bench['root'], name) in msg
    if conflict:
        assert f'labels {label} and {1 - int(label)}' in msg
    else:
        assert f'(label {label})' in msg and 'scored twice' in msg
    assert _nothing_computed(tmp_path)


def test_single_class_list_is_refused_before_the_pass(bench, tmp_path):
    ann = _list(tmp_path, [ln for ln in bench['lines'] if ln.endswith(' 1')])
    with pytest.raises(ValueError, match=r'all 3 samples have label 1; .*at '
                       'least 2 classes'):
        _runner(bench, tmp_path, ann, dataset_type='VideoDataset').train()
    assert _nothing_computed(tmp_path)


def test_label_beyond_base_head_names_file_and_line(bench, tmp_path):
    name, _ = bench['lines'][3].split()
    lines = list(bench['lines'])
    lines[3] = f'{name} 6'  # the demo base has 6 classes
    ann = _list(tmp_path, lines)
    with pytest.raises(ValueError) as e:
        _runner(bench, tmp_path, ann).train()
    msg = str(e.value)
    assert f'{ann}:4) has label 6, >= the base head\'s num_classes = 6' in \
        msg, msg
    assert _nothing_computed(tmp_path)


def test_held_out_identities_are_not_bounded_by_the_base_head(bench,
                                                             tmp_path):
    # identities the base never saw (labels 5 and 6 beyond its 6 classes):
    # dscore.identities='held_out' lifts the head's bound, and the D-scores
    # equal those of the same partition labelled 0 / 1 (empty classes are
    # no negatives)
    from mmddl.structures.score_table import ScoreTable
    shifted = [f'{n} {int(y) + 5}' for n, y in
               (ln.split() for ln in bench['lines'])]
    ann = _list(tmp_path, shifted, 'shifted.txt')
    with pytest.raises(ValueError, match="base head's num_classes = 6"):
        _runner(bench, tmp_path / 'base', ann).train()
    with pytest.raises(ValueError, match="dscore.identities must be one of"):
        _runner(bench, tmp_path / 'typo', ann,
                dscore=dict(identities='heldout'))
    _runner(bench, tmp_path / 'held', ann,
            dscore=dict(identities='held_out')).train()
    _runner(bench, tmp_path / 'ref', _list(tmp_path, bench['lines'])).train()
    held = ScoreTable.load(str(tmp_path / 'held' / 'work' /
                               'dscore_table.npz'))
    ref = ScoreTable.load(str(tmp_path / 'ref' / 'work' / 'dscore_table.npz'))
    order = np.lexsort((held.positions, held.keys))
    ref_order = np.lexsort((ref.positions, ref.keys))
    assert list(held.keys[order]) == list(ref.keys[ref_order])
    np.testing.assert_array_equal(held.labels[order],
                                  ref.labels[ref_order] + 5)
    np.testing.assert_allclose(held.dscores[order], ref.dscores[ref_order],
                               rtol=1e-6)


def test_label_found_only_after_extraction_names_the_sample(tmp_path):
    # infos without labels: the pass checks the extracted labels and names
    # the first sample with the largest one
    ds = ToyClipDataset(8, num_classes=4)
    first = int(np.flatnonzero(ds.labels == 3)[0])
    with pytest.raises(ValueError) as e:
        compute_score_table(toy_model(), ds, str(tmp_path / 'store'),
                            shard_size=4, batch_size=2, progress=False,
                            label_bounds={"the base head's num_classes": 3})
    assert f"label 3 (sample 'sample_{first:04d}.mp4') >= the base head's " \
        'num_classes = 3' in str(e.value), str(e.value)


def test_missing_video_names_file_and_line_or_is_counted(bench, tmp_path):
    ann = _list(tmp_path, bench['lines'][:2] + ['videos/gone.mp4 0'] +
                bench['lines'][2:])
    with pytest.raises(DatasetFormatError) as e:
        _runner(bench, tmp_path, ann).train()
    msg = str(e.value)
    gone = osp.join(bench['root'], 'videos', 'gone.mp4')
    assert msg.startswith(f'{ann}: 1 of 7 listed videos are missing (line '
                          f'3: {gone})'), msg
    assert 'skip_missing=True' in msg and _nothing_computed(tmp_path)
    # the documented fallback: left out, counted and logged
    with DefaultScope.overwrite_default_scope('mmaction'):
        ds = CheckedVideoDataset(ann, pipeline=[], skip_missing=True,
                                 data_prefix=dict(video=bench['root']))
    assert ds.num_missing == 1 and len(ds) == 6
    assert gone not in [ds.get_data_info(i)['filename'] for i in range(6)]
    assert ds.list_lines == [1, 2, 4, 5, 6, 7]
    # nothing there at all: an error even with skip_missing
    with pytest.raises(DatasetFormatError, match='7 of 7 listed videos are '
                       'missing.*check data_prefix'):
        CheckedVideoDataset(ann, pipeline=[], skip_missing=True,
                            data_prefix=dict(video=str(tmp_path)))


@pytest.mark.parametrize('line, multi', [
    ('videos/my video.mp4 0', False),
    ('videos/my video.mp4 0 1', True),
    ('videos/a b c.mp4 1', False),
], ids=['one-label', 'multi-class', 'two-spaces'])
def test_space_in_file_name_is_named_as_the_cause(tmp_path, line, multi):
    ann = _list(tmp_path, ['videos/a.mp4 0', line])
    name = line.rsplit(' ', 2 if multi else 1)[0]
    with pytest.raises(DatasetFormatError) as e:
        CheckedVideoDataset(ann, pipeline=[], multi_class=multi,
                            num_classes=3, check_files=False)
    msg = str(e.value)
    assert msg.startswith(f"{ann}:2: the path {name!r} contains the "
                          "delimiter ' '"), msg
    assert 'labels (multi_class' not in msg


def test_multi_class_repeat_and_path_normalisation(tmp_path):
    # the same labels in another order and './' in the path: a duplicate
    ann = _list(tmp_path, ['a.mp4 0 2', 'b.mp4 1', './a.mp4 2 0'])
    with pytest.raises(DatasetFormatError,
                       match=r":3: './a.mp4' is listed again \(first at "
                       'line 1'):
        CheckedVideoDataset(ann, pipeline=[], multi_class=True,
                            num_classes=3, check_files=False)
    ann = _list(tmp_path, ['a.mp4 0 2', 'a.mp4 1'], name='two.txt')
    with pytest.raises(DatasetFormatError,
                       match=r":2: 'a.mp4' has label \[1\] here and \[0, 2\] "
                       'at line 1'):
        CheckedVideoDataset(ann, pipeline=[], multi_class=True,
                            num_classes=3, check_files=False)


# ----------------------------------------- item 6: ActivityNet annotations
def _anet(tmp_path, database, indent=2):
    taxonomy = [dict(nodeId=0, nodeName='Root', parentId=None),
                dict(nodeId=1, nodeName='Polo', parentId=0),
                dict(nodeId=2, nodeName='Surfing', parentId=0)]
    vdir = tmp_path / 'videos'
    vdir.mkdir(exist_ok=True)
    for vid in ('vidA', 'vidB'):
        (vdir / f'v_{vid}.mp4').write_bytes(b'x')
    text = json.dumps(dict(version='1.2', taxonomy=taxonomy,
                           database=database), indent=indent)
    path = tmp_path / 'anet.json'
    path.write_text(text)
    return str(path), str(vdir), text


def _line_of(text, needle):
    return text[:text.index(needle)].count('\n') + 1


def _video(*anns):
    return dict(subset='training', duration=60.0, annotations=list(anns))


@pytest.mark.parametrize('ann, what', [
    (dict(label='Polo'), 'no "segment"'),
    (dict(segment=[1, 2]), 'no "label" name'),
    (dict(segment=[1], label='Polo'), '"segment" must be two finite'),
    (dict(segment=[1, 'x'], label='Polo'), '"segment" must be two finite'),
], ids=['no-segment', 'no-label', 'short-segment', 'text-in-segment'])
def test_activitynet_bad_annotation_names_file_line_video(
        tmp_path, ann, what):
    good = dict(segment=[0, 5], label='Surfing')
    ann_file, vdir, text = _anet(
        tmp_path, dict(vidA=_video(good), vidB=_video(good, ann)))
    with pytest.raises(DatasetFormatError) as e:
        ActivityNetVideoDataset(ann_file, pipeline=[],
                                data_prefix=dict(video=vdir))
    line = _line_of(text, '"vidB"')
    msg = str(e.value)
    assert msg.startswith(f"{ann_file}:{line}: video 'vidB', annotation 1: "
                          f'{what}'), msg
    assert 'expected {"segment": [start, end]' in msg


def test_activitynet_repeated_video_id_names_both_lines(tmp_path):
    good = dict(segment=[0, 5], label='Polo')
    ann_file, vdir, text = _anet(tmp_path, dict(vidA=_video(good)))
    # JSON keeps the last of two equal keys silently: write one twice
    entry = text[text.index('"vidA"'):text.rindex('}', 0, text.rindex('}'))]
    text2 = text.replace(entry, entry.rstrip() + ',\n    ' +
                         entry.replace('Polo', 'Surfing').rstrip(), 1)
    with open(ann_file, 'w') as f:
        f.write(text2)
    lines = [i + 1 for i, ln in enumerate(text2.split('\n'))
             if '"vidA"' in ln]
    assert len(lines) == 2
    with pytest.raises(DatasetFormatError) as e:
        ActivityNetVideoDataset(ann_file, pipeline=[],
                                data_prefix=dict(video=vdir))
    assert str(e.value).startswith(
        f"{ann_file}:{lines[1]}: video 'vidA' is given twice in \"database\" "
        f'(lines {lines[0]}, {lines[1]})'), str(e.value)


def test_activitynet_not_json_and_unknown_label_name_the_file(tmp_path):
    ann_file, vdir, _ = _anet(tmp_path, dict(vidA=_video(
        dict(segment=[0, 5], label='Chess'))))
    with pytest.raises(DatasetFormatError,
                       match=f"{ann_file}: 1 annotation labels are not in the "
                       r"class list, e.g. \['Chess'\] \('Chess': video "
                       "'vidA'\\)"):
        ActivityNetVideoDataset(ann_file, pipeline=[],
                                data_prefix=dict(video=vdir))
    with open(ann_file, 'a') as f:
        f.write('\n}')
    with pytest.raises(DatasetFormatError, match=f'{ann_file}:\\d+: not '
                       'valid JSON'):
        ActivityNetVideoDataset(ann_file, pipeline=[],
                                data_prefix=dict(video=vdir))


# ------------------------------------------------ item 6: re-ID (MARS)
def test_mars_tracklet_listed_twice_names_both_rows(tmp_path):
    ids = make_identities(3, 2, size=16, seed=0)
    write_mars(str(tmp_path), ids, num_train=3, tracklets_per_identity=2,
               num_junk=0, num_distractors=0, seed=1)
    path = osp.join(str(tmp_path), 'info', 'tracks_train_info.mat')
    arr = loadmat(path)['track_train_info']
    savemat(path, {'track_train_info': np.vstack([arr, arr[1:2]])})
    with pytest.raises(DatasetFormatError,
                       match=f'row {len(arr) + 1} .*the same images as row '
                       '2'):
        MARSDataset(data_root=str(tmp_path), split='train')


# --------------------------------------- item 9: training split and batch
def test_lone_last_batch_stops_tools_train_at_the_first_iteration(
        bench, tmp_path):
    # 6 videos, 1 held out by GroupSplitSampler: 5 train in batches of 4.
    # Unchecked, the demo DDNet (32 px) trained 1 iteration, then stopped
    # in BatchNorm on the batch of 1 with PyTorch's message only
    ann = _list(tmp_path, bench['lines'])
    work = str(tmp_path / 'work')
    cmd = [
        sys.executable, osp.join(ROOT, 'tools', 'train.py'), DDNET_CFG,
        '--work-dir', work, '--cfg-options', f'train_dataloader.dataset.'
        f'ann_file={ann}', f'train_dataloader.dataset.data_prefix.video='
        f'{bench["root"]}', 'train_dataloader.batch_size=4',
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
        f'custom_hooks.0.base.checkpoint={bench["ckpt"]}',
        'custom_hooks.0.candidates.num_workers=0',
        'custom_hooks.0.compute.progress=False',
        'custom_hooks.0.candidates.pipeline.1.num_clips=2'
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, OMP_NUM_THREADS='1'))
    log = out.stdout + out.stderr
    assert out.returncode != 0, log[-3000:]
    assert ('ValueError: 5 training samples: the train side of '
            'GroupSplitSampler (6 samples, 1 of them in 1 group(s) held out '
            'for validation, val_fraction=0.1) and batch_size=4: the '
            'BatchNorm layer backbone.') in log, log[-3000:]
    assert 'sees 1 value per channel and sample' in log
    assert 'set train_dataloader.drop_last=True (the sampler shuffles' in log
    assert '(e.g. 3)' in log
    assert 'Expected more than 1 value' not in log.replace(
        '"Expected more than 1 value per channel when training"', '')
    assert not [f for f in os.listdir(work) if f.endswith('.pth')]


def test_lone_last_batch_trains_where_batchnorm_copes(bench, tmp_path):
    # no false alarm: at 64 px every BatchNorm of the DDNet sees several
    # values per channel and sample, so the batch of 1 trains
    ann = _list(tmp_path, bench['lines'])
    runner = _runner(bench, tmp_path, ann, batch_size=4, held_out=True,
                     size=64)
    runner.train()
    assert runner.iter == 2 and runner.epoch == 1


def test_batch_of_one_really_stops_the_demo_ddnet():
    # the premise of the check: the 32 px demo DDNet cannot train on 1 clip
    from mmaction.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(Config.fromfile(DDNET_CFG).model)
    model.train()
    assert training_batchnorms(model)
    with pytest.raises(ValueError, match='more than 1 value per channel'):
        model.backbone(torch.zeros(1, 3, 4, 32, 32))
    model.backbone(torch.zeros(2, 3, 4, 32, 32))


def test_drop_last_trains_the_same_split(bench, tmp_path):
    # the fix the message names: one batch of 4, the held-out video
    # validated, the table computed once
    ann = _list(tmp_path, bench['lines'])
    runner = _runner(bench, tmp_path, ann, batch_size=4, drop_last=True,
                     held_out=True)
    runner.train()
    assert runner.iter == 1 and runner.epoch == 1
    assert osp.isfile(osp.join(runner.work_dir, 'dscore_table.npz'))


def test_no_batch_per_epoch_is_refused(bench, tmp_path):
    # unchecked, this run trained nothing and saved the untrained DDNet as
    # the best checkpoint
    ann = _list(tmp_path, bench['lines'][:3] + bench['lines'][4:5])
    with pytest.raises(ValueError, match=r'3 training samples: .* and '
                       r'batch_size=4 with drop_last=True: no batch per '
                       'epoch, nothing would be trained'):
        _runner(bench, tmp_path, ann, batch_size=4, drop_last=True,
                held_out=True).train()
    assert _nothing_computed(tmp_path)


def test_held_out_split_without_a_batch_is_refused(bench, tmp_path):
    # unchecked: DScoreMetric "received no predictions" after epoch 1
    ann = _list(tmp_path, bench['lines'])
    with pytest.raises(ValueError, match='HeldOutValLoop: no validation '
                       'batch: 1 held-out samples with batch_size=2 and '
                       'drop_last=True'):
        _runner(bench, tmp_path, ann, batch_size=5, held_out=True,
                val_batch=(2, True)).train()
    assert _nothing_computed(tmp_path)


def test_empty_split_is_refused():
    # no data set of mmddl builds empty (an empty list, all files missing
    # and a one-group GroupSplitSampler raise first); any other sampler is
    # caught here
    from torch.utils.data import DataLoader
    loader = DataLoader(list(range(3)), batch_size=2, sampler=[])
    runner = SimpleNamespace(train_dataloader=loader, model=toy_model())
    with pytest.raises(ValueError, match=r'0 training samples \(list\): the '
                       'training split is empty'):
        check_train_batches(runner)


def test_batch_problem_cases():
    assert batch_problem(5, 4, False) == LONE_LAST
    assert batch_problem(5, 4, True) == OK  # drop_last
    assert batch_problem(5, 1, False) == OK  # batch size 1: chosen
    assert batch_problem(5, 4, False, infinite=True) == OK
    assert batch_problem(5, 4, False, max_iters=1) == OK  # never met
    assert batch_problem(5, 4, False, max_iters=2) == LONE_LAST
    assert batch_problem(3, 4, True) == NO_BATCH
    assert batch_problem(0, 4, False) == EMPTY
    assert other_batch_size(5, 4) == 3 and other_batch_size(9, 4) == 3
    assert other_batch_size(9, 2) == 3


def test_batchnorm_layers_and_probe():
    frozen = torch.nn.Sequential(torch.nn.BatchNorm1d(3))
    frozen.train = lambda mode=True: frozen  # a norm_eval-style override
    frozen[0].eval()
    assert training_batchnorms(frozen) == []
    sync = torch.nn.Sequential(torch.nn.SyncBatchNorm(3))
    assert [n for n, _ in training_batchnorms(sync)] == ['0']
    assert training_batchnorms(sync, world_size=2) == []
    # BatchNorm1d on (N, C): one value per channel and sample
    bn1, bn2 = torch.nn.BatchNorm1d(3), torch.nn.BatchNorm2d(3)
    probe = LoneBatchProbe([('head.bn', bn1), ('neck.bn', bn2)], 'M', ' F')
    bn2(torch.zeros(4, 3, 2, 2))  # several values: its hook goes
    assert list(probe.handles) == ['head.bn']
    bn1.eval()
    bn1(torch.zeros(1, 3))  # eval mode: not checked, still armed
    bn1.train()
    with pytest.raises(ValueError, match=r'^M: the BatchNorm layer head.bn '
                       r'sees 1 value per channel and sample \(input \(4, '
                       r'3\)\).* F$'):
        bn1(torch.zeros(4, 3))
    assert probe.handles == {}
    bn1(torch.zeros(4, 3))  # removed
