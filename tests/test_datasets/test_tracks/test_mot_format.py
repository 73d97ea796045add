"""MOTChallenge text files and seqinfo.ini: round trip, MOT gt semantics and
every bad line named with file:line."""
import os.path as osp

import mmddl  # noqa: F401  (compat first)

# isort: split
import numpy as np
import pytest

from mmddl.datasets import DatasetFormatError
from mmddl.datasets.tracks import (SeqInfo, format_mot, read_mot,
                                   read_seqinfo, write_mot, write_mot_table,
                                   write_seqinfo)

GOOD_GT = ['1,1,10,20,30,60,1,1,1', '2,1,12,20,30,60,1,1,0.5']
GOOD_RES = ['1,0,10.5,20,30,60,0.9,-1,-1,-1', '2,0,12,20,30,60,0.8,-1,-1,-1']


def _write(tmp_path, lines, name='t.txt'):
    path = osp.join(str(tmp_path), name)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def test_round_trip_gt_and_results(tmp_path):
    rng = np.random.default_rng(0)
    n = 30
    frames = rng.permutation(n) + 1  # unique (frame, id)
    ids = np.arange(n) % 7
    boxes = np.round(rng.uniform(1, 300, (n, 4)), 3)
    confs = np.round(rng.uniform(0.01, 1, n), 3)
    vis = np.round(rng.uniform(0, 1, n), 3)
    path = write_mot(osp.join(str(tmp_path), 'gt.txt'), frames, ids + 1,
                     boxes, np.ones(n), None, vis, kind='gt')
    t = read_mot(path)  # auto: 9 fields -> gt
    assert t.kind == 'gt' and len(t) == n
    order = np.lexsort((frames, ids))  # gt files: by id, then frame
    np.testing.assert_array_equal(t.frames, frames[order])
    np.testing.assert_array_equal(t.ids, ids[order] + 1)
    np.testing.assert_allclose(t.boxes, boxes[order])
    np.testing.assert_allclose(t.visibility, vis[order])
    assert (t.classes == 1).all() and t.lines.tolist() == list(range(1, n + 1))
    res = write_mot(osp.join(str(tmp_path), 'res.txt'), frames, ids, boxes,
                    confs)
    r = read_mot(res)
    assert r.kind == 'results' and (r.classes == -1).all()
    order = np.lexsort((ids, frames))  # results: by frame, then id
    np.testing.assert_allclose(r.confs, confs[order])
    np.testing.assert_allclose(r.boxes, boxes[order])
    # a table writes back to the same text
    again = write_mot_table(osp.join(str(tmp_path), 'again.txt'), r)
    assert open(again).read() == open(res).read()
    with open(res) as f:
        assert f.readline().count(',') == 9
    # tracks: row indices per id in frame order
    for tid, rows in r.tracks().items():
        assert (r.ids[rows] == tid).all()
        assert (np.diff(r.frames[rows]) > 0).all()


def test_gt_skips_as_motchallenge_and_counts(tmp_path):
    lines = GOOD_GT + [
        '1,2,1,1,5,5,0,1,1',  # conf 0: ignored
        '1,3,1,1,5,5,1,7,1',  # static person
        '2,3,1,1,5,5,0,7,1',  # both: counted as conf 0
        '1,4,1,1,5,5,1,12,0.2',  # reflection
    ]
    path = _write(tmp_path, lines)
    t = read_mot(path)
    assert len(t) == 2
    assert t.counts == dict(rows=6, kept=2, zero_conf=2,
                            other_class={7: 1, 12: 1})
    assert len(read_mot(path, keep_classes=None)) == 4
    assert len(read_mot(path, keep_classes=None, keep_zero_conf=True)) == 6
    assert len(read_mot(path, keep_classes=(1, 7))) == 3


# (lines after the two good ones, kind, seq_length, expected message part)
BAD = [
    ('1,1,10,20,30,60,1,1', 'gt', None, '8 fields; expected 9'),
    ('3,1,10,20,30,60,1,1,1,1', 'gt', None, '10 fields; expected 9'),
    ('3,1,10,20,30', 'auto', None, '5 fields; expected 9'),
    ('3,0,10,20,30,60,1,-1,-1', 'results', None, '9 fields; expected 10'),
    ('3,1,abc,20,30,60,1,1,1', 'gt', None, "x must be a number, got 'abc'"),
    ('x,1,10,20,30,60,1,1,1', 'gt', None, "frame must be a number, got 'x'"),
    ('3,1.5,10,20,30,60,1,1,1', 'gt', None, "id must be an integer"),
    ('3,1,10,20,30,60,1,1.5,1', 'gt', None, "class must be an integer"),
    ('3,1,10,20,nan,60,1,1,1', 'gt', None, 'non-finite value'),
    ('3,1,10,20,0,60,1,1,1', 'gt', None, 'w=0, h=60'),
    ('3,1,10,20,30,-4,1,1,1', 'gt', None, 'w=30, h=-4'),
    ('0,1,10,20,30,60,1,1,1', 'gt', None, 'frame must be >= 1'),
    ('3,1,10,20,30,60,1,1,1', 'gt', 2, 'frame 3 is beyond the sequence '
     'length 2'),
    ('3,-1,10,20,30,60,1,1,1', 'gt', None, 'id must be >= 0, got -1'),
    ('3,1,10,20,30,60,1,1,1.5', 'gt', None, 'visibility must be in [0, 1]'),
    ('2,1,10,20,30,60,1,1,1', 'gt', None, 'frame 2 has id 1 twice (also '
     'line 2)'),
]


@pytest.mark.parametrize('bad,kind,seq_length,msg', BAD)
def test_every_bad_line_names_file_and_line(tmp_path, bad, kind, seq_length,
                                            msg):
    good = GOOD_RES if kind == 'results' else GOOD_GT
    path = _write(tmp_path, good + ['', bad])  # a blank line counts
    with pytest.raises(DatasetFormatError) as err:
        read_mot(path, kind=kind, seq_length=seq_length)
    assert str(err.value).startswith(f'{path}:4: ')
    assert msg in str(err.value)


def test_duplicates_and_frame_bounds_also_in_skipped_rows(tmp_path):
    # a skipped (conf 0) row is still checked
    path = _write(tmp_path, GOOD_GT + ['9,5,1,1,5,5,0,7,1'])
    with pytest.raises(DatasetFormatError, match=r't\.txt:3: frame 9 is '
                       'beyond the sequence length 5'):
        read_mot(path, seq_length=5)


def test_missing_empty_and_detection_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='MOT track file not found'):
        read_mot(osp.join(str(tmp_path), 'none.txt'))
    empty = _write(tmp_path, [''], 'empty.txt')
    t = read_mot(empty)
    assert len(t) == 0 and t.kind == 'results' and t.tracks() == {}
    det = _write(tmp_path, ['1,-1,1,1,5,5,0.9,-1,-1,-1'], 'det.txt')
    with pytest.raises(DatasetFormatError, match='detection file has id -1'):
        read_mot(det)
    with pytest.raises(ValueError, match='kind must be one of'):
        read_mot(det, kind='det')


def test_format_mot_checks_lengths_and_writes_numbers_plainly():
    text = format_mot([1], [3], [[1.0, 2.5, 30.0, 60.1234]], [0.5], kind='gt')
    assert text == '1,3,1,2.5,30,60.123,0.5,1,1\n'
    with pytest.raises(ValueError, match='2 ids for 1 frames'):
        format_mot([1], [1, 2], [[1, 1, 1, 1]])


def test_seqinfo_round_trip_and_errors(tmp_path):
    info = SeqInfo('MOT17-02-FRCNN', 'img1', 30, 600, 1920, 1080, '.jpg')
    path = write_seqinfo(osp.join(str(tmp_path), 'seqinfo.ini'), info)
    text = open(path).read()
    assert text.startswith('[Sequence]\nname=MOT17-02-FRCNN\nimDir=img1\n'
                           'frameRate=30\nseqLength=600\n')
    assert read_seqinfo(path) == info
    assert read_seqinfo(str(tmp_path)) == info  # the folder
    assert info.frame_path('/s', 7) == '/s/img1/000007.jpg'
    # values are data: %(...)s is not interpolated, code is not run
    cases = [
        (text.replace('seqLength=600', 'seqLength=%(x)s'),
         "seqLength must be int, got '%(x)s'"),
        (text.replace('imWidth=1920\n', ''), 'has no imWidth='),
        (text.replace('imHeight=1080', 'imHeight=0'), 'imHeight must be >= 1'),
        (text.replace('[Sequence]', '[Seq]'), 'no [Sequence] section'),
        ('name=x\n', 'not an ini file'),
    ]
    for body, msg in cases:
        with open(path, 'w') as f:
            f.write(body)
        with pytest.raises(DatasetFormatError) as err:
            read_seqinfo(path)
        assert str(err.value).startswith(path) and msg in str(err.value)
    with pytest.raises(FileNotFoundError, match='seqinfo.ini not found'):
        read_seqinfo(osp.join(str(tmp_path), 'none'))
