"""Miniature end-to-end runs of the face and re-ID demos.

Each runs the whole flow (data in the real formats, base training, the
DiscriminabilityHook + DDNet training, group evaluation of every method,
tables, results.json, Fig. 3 picture) on a few identities for one epoch.
The reported numbers are then checked against independent computations:
images per group from the generated data, and the verification / re-ID
metrics recomputed from the dumped fused features.
"""
import json
import os.path as osp

import mmddl  # noqa: F401  (compat fixes + registration)
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.fileio import load
from sklearn.metrics import roc_curve

from mmddl.demo import face, reid
from mmddl.demo.common import METHODS, repo_root


@pytest.fixture(autouse=True)
def _one_thread():
    """2 shared CPU cores: avoid torch thread oversubscription."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def check_common(res: dict, work: str, groups: dict, figure: str) -> None:
    """Fields every demo writes, and the images-per-group bookkeeping.

    Args:
        res: The returned results.
        work: The demo's work dir.
        groups: ``{data set: sizes of its groups}`` from the generated data.
        figure: The Fig. 3 file name.
    """
    on_disk = json.load(open(osp.join(work, 'results.json')))
    assert on_disk['entries'] == json.loads(json.dumps(res['entries']))
    assert osp.isfile(osp.join(work, figure))
    with open(osp.join(work, figure), 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    for dataset, sizes in groups.items():
        per = on_disk['base_images_per_group'][dataset]
        assert set(per) == set(METHODS)
        # average pooling runs the base on every element, top-1 on one
        assert per['average'] == pytest.approx(np.mean(sizes))
        assert per['top1'] == pytest.approx(1.0)
        for m in ('ddl', 'ddl_norescale'):
            assert 1.0 <= per[m] <= np.mean(sizes)
        m = on_disk['metrics'][dataset]
        assert m['average']['ddnet_images'] == 0  # DDNet skipped
        assert m['ddl']['ddnet_images'] == pytest.approx(np.mean(sizes))
        # ddl and ddl_norescale select the same elements (same threshold)
        assert per['ddl'] == per['ddl_norescale']
        entry_methods = {e['method'] for e in on_disk['entries']
                         if e['dataset'] == dataset}
        assert entry_methods == set(METHODS)
    assert on_disk['target']['top1_base_images_per_group'] == 1.0


def check_dump_selection(dump: str, threshold: float = 0.15) -> list:
    """DDL kept exactly the elements with D-score > t (or the best one)."""
    samples = load(dump)
    for s in samples:
        scores = s['ddl_scores'].numpy()
        kept = sorted(s['ddl_selected'].tolist())
        expect = np.flatnonzero(scores > threshold).tolist() or \
            [int(np.argmax(scores))]
        assert kept == sorted(expect)
        assert s['base_elements'] == len(kept)
    return samples


def run_again(main, work: str, argv: list, first: dict, capsys) -> str:
    """Run a demo again in its work dir (DDL only): every stage is reused
    and the DDL numbers repeat. Returns the printed log."""
    again = main(['--work-dir', work, '--methods', 'ddl'] + argv)
    log = capsys.readouterr().out
    for stage in ('data', 'base model', 'DDNet'):
        assert f'[demo] {stage}: reusing' in log
    assert 'recomputing' not in log
    for dataset, per_method in again['metrics'].items():
        assert per_method.keys() == {'ddl'}
        assert per_method['ddl'] == first['metrics'][dataset]['ddl']
    return log


FACE_TINY = [
    '--train-ids', '12', '--train-images', '6', '--ytf-ids', '4',
    '--ytf-frames', '3', '--ytf-pairs', '2', '--ijbc-ids', '4',
    '--ijbc-templates', '2', '--ijbc-images', '3', '--ddnet-epochs', '1'
]


def test_face_demo_miniature(tmp_path, capsys):
    work = str(tmp_path / 'demo_face')
    res = face.main(['--work-dir', work, '--base-epochs', '1'] + FACE_TINY)
    out = capsys.readouterr().out
    assert 'Table 1 style' in out and 'Table 4 style' in out
    for name in ('Average pooling', 'Top-1', 'DDL w/o re-scaling', 'DDL'):
        assert name in out
    # YTF: 2 videos x 3 frames per identity; IJB-C: 2 templates x 3 images
    check_common(res, work, {'ytf': [3] * 8, 'ijbc': [3] * 8},
                 'fig3_dscore_template.png')
    assert res['data']['ytf']['pairs'] == 20
    assert set(res['metrics']['ijbc']['ddl']) >= {
        'tar@far=0.001', 'tar@far=0.01', 'tar@far=0.1', 'num_pairs'
    }
    # the DDNet was trained on a table the hook wrote
    assert osp.isfile(osp.join(work, 'ddnet', 'dscore_table.npz'))

    # independent TAR@FAR=0.1 of the DDL run from the dumped features
    dump = osp.join(work, 'test', 'ijbc', 'ddl', 'predictions.pkl')
    samples = check_dump_selection(dump)
    from mmddl.datasets.face import IJBDataset
    ds = IJBDataset(data_root=osp.join(work, 'data', 'ijbc'))
    pairs = ds.metainfo['pairs']
    feats = {int(s['group_id']): torch.nn.functional.normalize(
        s['pred_feature'].double(), dim=0).numpy() for s in samples}
    sims = np.array([feats[a] @ feats[b] for a, b, _ in pairs])
    cfg = Config.fromfile(osp.join(repo_root(), face.TEST_CONFIGS['ijbc']))
    if cfg.test_evaluator.get('tar_mode', 'le') == 'nearest':
        # insightface's rule: the ROC point whose FAR is closest (ties: the
        # later point)
        fpr, tpr, _ = roc_curve(pairs[:, 2], sims, drop_intermediate=True)
        gap = np.abs(fpr - 0.1)
        expected = tpr[np.flatnonzero(gap == gap.min())[-1]]
    else:  # the largest TAR with FAR <= target
        fpr, tpr, _ = roc_curve(pairs[:, 2], sims)
        expected = tpr[fpr <= 0.1].max()
    assert res['metrics']['ijbc']['ddl']['tar@far=0.1'] == \
        pytest.approx(expected)

    # the same command again: everything reused, same numbers
    table = osp.join(work, 'ddnet', 'dscore_table.npz')
    before = open(table, 'rb').read()
    run_again(face.main, work, ['--base-epochs', '1'] + FACE_TINY, res,
              capsys)
    # another base (2 epochs): the base is retrained, the DDNet stage and
    # the stale D-score table of the first base are recomputed, not refused
    face.main(['--work-dir', work, '--methods', 'ddl', '--base-epochs', '2']
              + FACE_TINY)
    log = capsys.readouterr().out
    assert '[demo] data: reusing' in log
    assert '[demo] base model: recomputing (inputs changed: config)' in log
    # (the base checkpoint's name changes too: epoch_2.pth)
    assert '[demo] DDNet: recomputing (inputs changed: base, config)' in log
    assert open(table, 'rb').read() != before


def test_reid_demo_miniature(tmp_path, capsys):
    work = str(tmp_path / 'demo_reid')
    tiny = ['--train-ids', '8', '--test-ids', '5', '--tracklets', '2',
            '--frames', '3', '--base-epochs', '1', '--ddnet-epochs', '1']
    res = reid.main(['--work-dir', work] + tiny)
    out = capsys.readouterr().out
    assert 'Table 7 style' in out
    # test groups: 5 ids x 2 tracklets x 3 frames + 2 distractors of 3
    # frames (the junk tracklet is dropped by the loader)
    check_common(res, work, {'mars': [3] * 12}, 'fig3_dscore_tracklet.png')
    assert res['data']['test']['queries'] == 5
    # gallery of 5 + 2 tracklets: ranks 1 and 5 only
    assert {'mAP', 'rank1', 'rank5'} <= set(res['metrics']['mars']['ddl'])
    assert 'rank20' not in res['metrics']['mars']['ddl']

    # independent mAP of the DDL run from the dumped features
    samples = check_dump_selection(
        osp.join(work, 'test', 'mars', 'ddl', 'predictions.pkl'))
    feats = np.stack([torch.nn.functional.normalize(
        s['pred_feature'].double(), dim=0).numpy() for s in samples])
    pid = np.array([s['pid'] for s in samples])
    cam = np.array([s['camid'] for s in samples])
    q = np.array([bool(s['is_query']) for s in samples])
    aps = []
    for i in np.flatnonzero(q):
        g = ~q & ~((pid == pid[i]) & (cam == cam[i]))
        d = np.linalg.norm(feats[g] - feats[i], axis=1)
        match = (pid[g] == pid[i])[np.argsort(d, kind='stable')]
        if match.any():
            hits = np.cumsum(match)
            aps.append(np.mean(hits[match] / (np.flatnonzero(match) + 1)))
    assert res['metrics']['mars']['ddl']['mAP'] == \
        pytest.approx(np.mean(aps))
    run_again(reid.main, work, tiny, res, capsys)
