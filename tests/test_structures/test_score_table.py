"""ScoreTable: npz round trip, atomic writes, lookups, fingerprints."""
import json
import os

import numpy as np
import pytest

from mmddl.structures.score_table import (ScoreTable, StaleScoreTableError,
                                      file_sha256, make_fingerprint)
from mmddl.structures.score_table import ALGORITHM_VERSION
from mmddl.structures.data_sources import DataSources


def _table(**kw):
    args = dict(keys=['a.mp4', 'a.mp4', 'a.mp4', 'b.mp4', 'c.mp4'],
                positions=[10, 0, 10, 0, 0], labels=[0, 0, 0, 1, 1],
                raw=[1.0, 2.0, 3.0, 4.0, 5.0],
                dscores=[0.2, 0.4, 0.6, 0.8, 0.9], mean=3.0, std=1.4,
                metric='cosine', fingerprint=dict(metric='cosine', x=[1, 2]),
                skipped=[dict(key='bad.mp4', reason='RuntimeError: moov')],
                info=dict(clip_len=4, frame_interval=2))
    args.update(kw)
    return ScoreTable(**args)


def test_roundtrip_is_plain_npz(tmp_path):
    src = DataSources(['a.mp4', 'b.mp4', 'c.mp4', 'bad.mp4'],
                      [[10, 5], [20, 6], [30, 7], [-1, -1]])
    t = _table(sources=src)
    path = str(tmp_path / 'sub' / 'table.npz')
    assert t.save(path) == path
    assert os.listdir(tmp_path / 'sub') == ['table.npz']  # no temp left
    with np.load(path, allow_pickle=False) as z:  # no object arrays inside
        assert sorted(z.files) == sorted(
            ['keys', 'positions', 'labels', 'raw', 'dscores', 'meta',
             'source_keys', 'source_stats'])
        meta = json.loads(str(z['meta']))
    assert meta['skipped'] == [
        dict(key='bad.mp4', reason='RuntimeError: moov')]
    u = ScoreTable.load(path)
    for name in ('keys', 'positions', 'labels', 'raw', 'dscores'):
        np.testing.assert_array_equal(getattr(u, name), getattr(t, name))
    assert (u.mean, u.std, u.metric) == (3.0, 1.4, 'cosine')
    assert u.fingerprint == dict(metric='cosine', x=[1, 2])
    assert u.info == dict(clip_len=4, frame_interval=2)
    assert len(u) == 5 and u.num_samples == 3
    np.testing.assert_array_equal(u.sources.keys, src.keys)
    np.testing.assert_array_equal(u.sources.stats, src.stats)
    assert 'ScoreTable(5 elements of 3 samples' in repr(u)


def test_failed_write_keeps_old_file(tmp_path, monkeypatch):
    path = str(tmp_path / 'table.npz')
    _table().save(path)
    before = open(path, 'rb').read()

    def boom(*args, **kwargs):
        raise OSError('disk full')

    monkeypatch.setattr(np, 'savez', boom)
    with pytest.raises(OSError, match='disk full'):
        _table(mean=9.0).save(path)
    assert open(path, 'rb').read() == before
    assert os.listdir(tmp_path) == ['table.npz']


def test_lookups():
    t = _table()
    # duplicate (key, position) rows are merged by averaging
    assert t.positions_for('a.mp4').tolist() == [0, 10]
    assert t.dscore_for('a.mp4', 10) == pytest.approx(0.4)
    assert t.dscore_for('a.mp4', 0) == pytest.approx(0.4)
    assert t.dscore_for('b.mp4') == pytest.approx(0.8)
    assert 'c.mp4' in t and 'zzz' not in t
    with pytest.raises(KeyError, match=r'scored positions: \[0, 10\]'):
        t.dscore_for('a.mp4', 5)
    with pytest.raises(KeyError, match='not in the score table'):
        t.positions_for('zzz')
    assert t.is_skipped('bad.mp4') and not t.is_skipped('a.mp4')
    with pytest.raises(KeyError, match='skipped.*moov'):
        t.positions_for('bad.mp4')


def test_validation():
    with pytest.raises(ValueError, match='labels has 1 entries'):
        _table(labels=[0])
    with pytest.raises(ValueError, match='NaN'):
        _table(raw=[1, 2, np.nan, 4, 5])
    with pytest.raises(ValueError, match='negative'):
        _table(positions=[0, 0, -1, 0, 0])


def test_unreadable_files_give_clear_errors(tmp_path):
    bad = tmp_path / 'bad.npz'
    bad.write_bytes(b'not a zip')
    with pytest.raises(ValueError, match='not a readable score table'):
        ScoreTable.load(str(bad))
    pickled = tmp_path / 'pickled.npz'
    np.savez(pickled, keys=np.array(['a']), positions=np.zeros(1),
             labels=np.zeros(1), raw=np.zeros(1), dscores=np.zeros(1),
             meta=np.array([{'evil': 1}], dtype=object))
    with pytest.raises(ValueError, match='not a readable score table'):
        ScoreTable.load(str(pickled))
    with pytest.raises(FileNotFoundError):
        ScoreTable.load(str(tmp_path / 'missing.npz'))


def test_fingerprint_and_staleness(tmp_path):
    ann, ckpt = tmp_path / 'list.txt', tmp_path / 'base.pth'
    ann.write_text('a.mp4 0\nb.mp4 1\n')
    ckpt.write_bytes(b'\x01' * 3000)
    settings = dict(metric='cosine', candidate_pipeline=[dict(type='X',
                                                             s=(1, 2))])
    fp = make_fingerprint(str(ann), str(ckpt), **settings)
    import hashlib
    assert fp['ann_file_sha256'] == hashlib.sha256(
        b'a.mp4 0\nb.mp4 1\n').hexdigest()
    assert fp['candidate_pipeline'] == [dict(type='X', s=[1, 2])]
    # same contents elsewhere -> same fingerprint
    ann2 = tmp_path / 'copy.txt'
    ann2.write_text(ann.read_text())
    assert make_fingerprint(str(ann2), str(ckpt), **settings) == fp

    path = str(tmp_path / 't.npz')
    _table(fingerprint=fp).save(path)
    assert ScoreTable.load(path, fp).fingerprint == fp

    ann.write_text('a.mp4 0\n')
    with pytest.raises(StaleScoreTableError,
                       match=r'data list \(contents of the ann_file\)'):
        ScoreTable.load(path, make_fingerprint(str(ann), str(ckpt),
                                               **settings))
    ann.write_text('a.mp4 0\nb.mp4 1\n')
    ckpt.write_bytes(b'\x02' * 3000)
    with pytest.raises(StaleScoreTableError, match='base checkpoint') as e:
        ScoreTable.load(path, make_fingerprint(str(ann), str(ckpt),
                                               **settings))
    assert 'Delete the file' in str(e.value)
    ckpt.write_bytes(b'\x01' * 3000)
    other = dict(settings, metric='euclidean',
                 candidate_pipeline=[dict(type='Y')])
    with pytest.raises(StaleScoreTableError,
                       match='candidate settings.*metric|metric.*candidate'):
        ScoreTable.load(path, make_fingerprint(str(ann), str(ckpt), **other))
    # a table of an older D-score computation (no/another algorithm field)
    assert fp['algorithm'] == ALGORITHM_VERSION
    old = {k: v for k, v in fp.items() if k != 'algorithm'}
    _table(fingerprint=old).save(path)
    with pytest.raises(StaleScoreTableError, match='algorithm'):
        ScoreTable.load(path, fp)


def test_fingerprint_of_folders_and_urls(tmp_path):
    (tmp_path / 'imgs').mkdir()
    (tmp_path / 'imgs' / 'a.png').write_bytes(b'123')
    h1 = file_sha256(str(tmp_path / 'imgs'))
    (tmp_path / 'imgs' / 'b.png').write_bytes(b'4')
    assert file_sha256(str(tmp_path / 'imgs')) != h1
    fp = make_fingerprint(str(tmp_path / 'imgs'), 'https://x/y.pth')
    assert fp['checkpoint_sha256'].startswith('uri:')
    with pytest.raises(FileNotFoundError, match='no such file'):
        make_fingerprint(str(tmp_path / 'nope.txt'), 'https://x/y.pth')
