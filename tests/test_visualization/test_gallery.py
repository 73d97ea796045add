"""D-score galleries and histograms (tools/analysis/show_dscores.py) on
tiny generated videos, faces and tracklets."""
import json
import os.path as osp
import sys

import cv2
import numpy as np
import pytest

from mmddl.structures import ScoreTable
from mmddl.visualization.elements import (ClipReader, choose_groups,
                                          dump_labels, read_dump)
from mmddl.visualization.gallery import (GalleryGroup, draw_gallery,
                                         kept_mask, shown_order)
from mmddl.visualization.histograms import dscore_histogram_image

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'analysis'))
import show_dscores  # noqa: E402


def _video(path, num_frames=24, size=(32, 24)):
    """Frame t is uniformly grey at level 8 * t (readable after mp4v)."""
    w = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 25, size)
    for t in range(num_frames):
        w.write(np.full((size[1], size[0], 3), 8 * t, np.uint8))
    w.release()
    return path


def test_kept_mask_and_shown_order():
    d = np.array([0.2, 0.9, 0.5, 0.1, 0.7])
    assert kept_mask(d, topk=2).tolist() == [False, True, False, False, True]
    assert kept_mask(d, thr=0.5).tolist() == [False, True, True, False, True]
    # DDL keeps at least the best element when none passes the threshold
    assert kept_mask(d, thr=0.95).tolist() == [False, True, False, False,
                                               False]
    assert not kept_mask(d).any()
    with pytest.raises(ValueError, match='not both'):
        kept_mask(d, thr=0.5, topk=1)
    assert shown_order(d, 10) == [1, 4, 2, 0, 3]
    assert shown_order(d, 3) == [1, 4, -1, 3]  # best 2, gap, worst 1
    with pytest.raises(ValueError, match='pictures'):
        GalleryGroup('g', d, [np.zeros((2, 2, 3), np.uint8)])


def test_clip_strip_reads_the_clip_frames(tmp_path):
    path = _video(str(tmp_path / 'v.mp4'))
    reader = ClipReader(path, strip_frames=3)
    strip = reader.strip([4, 6, 8, 10, 12])  # frames 4, 8, 12 drawn
    assert strip.shape == (24, 3 * 32, 3)
    levels = [strip[:, i * 32:(i + 1) * 32].mean() for i in range(3)]
    np.testing.assert_allclose(levels, [32, 64, 96], atol=6)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        ClipReader(str(tmp_path / 'none.mp4'))


def test_choose_groups():
    ids = ['/d/a.mp4', '/d/b.mp4', '/d/c.mp4']
    assert choose_groups(ids, ['b.mp4', '/d/a.mp4']) == ['/d/b.mp4',
                                                         '/d/a.mp4']
    drawn = choose_groups(ids, num_groups=2, seed=3)
    assert len(drawn) == 2 and drawn == choose_groups(ids, None, 2, 3)
    with pytest.raises(KeyError, match="'x.mp4' not found"):
        choose_groups(ids, ['x.mp4'])


def test_video_gallery_from_score_table(tmp_path):
    keys, pos, d = [], [], []
    for v in range(3):
        path = _video(str(tmp_path / f'v{v}.mp4'))
        for p in (0, 6, 12, 18):
            keys.append(path)
            pos.append(p)
            d.append(0.1 + 0.2 * v + p / 100)
    raw = np.asarray(d) * 2
    table = ScoreTable(keys=keys, positions=pos, labels=[0] * 4 + [1] * 8,
                       raw=raw, dscores=d, mean=raw.mean(), std=raw.std(),
                       metric='cosine', info=dict(clip_len=4,
                                                  frame_interval=2))
    table.save(str(tmp_path / 'table.npz'))
    out = show_dscores.main([
        '--score-table', str(tmp_path / 'table.npz'), '--out',
        str(tmp_path / 'out'), '--groups', 'v2.mp4', 'v0.mp4', '--topk', '2',
        '--max-elements', '3'
    ])
    img = cv2.imread(out['gallery_train'])
    assert img is not None and img.shape[0] > 2 * 64  # two rows
    # kept tiles are framed green: 2 per row
    green = np.all(img[..., ::-1] == (40, 170, 60), axis=2)
    assert green.any()
    hist = cv2.imread(out['hist_train'])
    assert hist is not None and hist.shape[1] > hist.shape[0]


def _dump(root, task, elements, scores, labels):
    ptr = np.r_[0, np.cumsum([len(e) for e in elements])].astype(np.int64)
    e = int(ptr[-1])
    np.savez(osp.join(root, 'sweep_dump.npz'), group_ptr=ptr,
             scores=np.asarray(scores, np.float32), outputs=np.zeros((e, 2)),
             gflops_base=np.ones(e), gflops_ddnet=np.full(e, 0.1))
    groups = [dict(id=f'g{i}' if task != 'video' else els[0].pop('path'),
                   gt_label=lab, elements=els)
              for i, (els, lab) in enumerate(zip(elements, labels))]
    with open(osp.join(root, 'sweep_groups.json'), 'w') as f:
        json.dump(dict(task=task, config='x.py', groups=groups), f)


@pytest.mark.parametrize('task', ['face', 'reid'])
def test_image_gallery_from_sweep_dump(tmp_path, task):
    size = (16, 16) if task == 'face' else (16, 32)  # (w, h)
    elements = []
    for g in range(2):
        paths = []
        for i in range(3 + g):
            p = str(tmp_path / f'{g}_{i}.png')
            cv2.imwrite(p, np.full((size[1], size[0], 3), 40 * i, np.uint8))
            paths.append(p)
        elements.append(paths)
    scores = [0.9, 0.2, 0.5, 0.3, 0.8, 0.1, 0.6]
    _dump(str(tmp_path), task, elements, scores, [3, 5])
    out = show_dscores.main(['--dump', str(tmp_path), '--out',
                             str(tmp_path / 'out'), '--num-groups', '2',
                             '--thr', '0.55'])
    assert cv2.imread(out['gallery_test']) is not None
    assert cv2.imread(out['hist_test']) is not None
    ptr, sc, meta = read_dump(str(tmp_path))
    assert dump_labels(ptr, meta).tolist() == [3] * 3 + [5] * 4


def test_video_gallery_from_sweep_dump(tmp_path):
    path = _video(str(tmp_path / 'v.mp4'))
    els = [dict(path=path, frame_inds=[0, 2, 4, 6])] + [
        dict(frame_inds=[s, s + 2, s + 4, s + 6]) for s in (8, 16)]
    _dump(str(tmp_path), 'video', [els], [0.3, 0.6, 0.9], [1])
    out = show_dscores.main(['--dump', str(tmp_path), '--out',
                             str(tmp_path / 'out'), '--topk', '1'])
    assert cv2.imread(out['gallery_test']).shape[1] > 3 * 4 * 32
    bad = json.load(open(tmp_path / 'sweep_groups.json'))
    bad['groups'][0]['elements'].pop()
    json.dump(bad, open(tmp_path / 'sweep_groups.json', 'w'))
    with pytest.raises(ValueError, match='3 scores but 2 elements'):
        show_dscores.main(['--dump', str(tmp_path), '--out',
                           str(tmp_path / 'out')])


def test_image_gallery_from_score_table_reads_the_config_data(tmp_path):
    """An image table (one row per identity) read through the config's
    train data set (mmpretrain CustomDataset: class folders)."""
    data = tmp_path / 'data'
    keys, labels = [], []
    for c in range(2):
        (data / f'id{c}').mkdir(parents=True)
        for i in range(4):
            p = str(data / f'id{c}' / f'{i}.png')
            cv2.imwrite(p, np.full((20, 10, 3), 50 * i, np.uint8))
            keys.append(p)
            labels.append(c)
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(
        "default_scope = 'mmpretrain'\n"
        f"train_dataloader = dict(dataset=dict(type='CustomDataset', "
        f"data_prefix={str(data)!r}, pipeline=[dict(type='LoadImageFromFile'),"
        " dict(type='LoadDScore'), dict(type='PackInputs')]))\n")
    d = np.linspace(0.1, 0.9, 8)
    ScoreTable(keys=keys, positions=[0] * 8, labels=labels, raw=d, dscores=d,
               mean=0.5, std=0.2, metric='cosine').save(
                   str(tmp_path / 't.npz'))
    out = show_dscores.main(['--score-table', str(tmp_path / 't.npz'),
                             '--config', str(cfg), '--out',
                             str(tmp_path / 'out'), '--groups', '1'])
    assert cv2.imread(out['gallery_train']) is not None
    with pytest.raises(ValueError, match='needs --config'):
        show_dscores.main(['--score-table', str(tmp_path / 't.npz'),
                           '--out', str(tmp_path / 'out')])


def test_histogram_image_is_rgb():
    img = dscore_histogram_image(np.linspace(0, 1, 50), raw=np.arange(50.))
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3


def test_draw_gallery_needs_groups(tmp_path):
    with pytest.raises(ValueError, match='at least one group'):
        draw_gallery([], str(tmp_path / 'x.png'))
