"""RecordIO format (framing, IRHeader, insightface header) and MXFaceDataset."""
import struct

import cv2
import numpy as np
import pytest

from mmddl.datasets.face import MXFaceDataset
from mmddl.datasets.recordio import (MAGIC, IRHeader, RecordIOError,
                                     RecordIOReader, RecordIOWriter, pack,
                                     read_index, unpack)
from mmddl.testing.synthetic_faces import write_recordio


def test_pack_layout_matches_mxnet_struct():
    rec = pack(IRHeader(0, 7.0, 42, 0), b'abc')
    assert rec == struct.pack('<IfQQ', 0, 7.0, 42, 0) + b'abc'
    rec = pack(IRHeader(0, [3, 9], 1, 2), b'xy')
    assert rec == struct.pack('<IfQQ', 2, 0.0, 1, 2) + np.array([3, 9], '<f4').tobytes() + b'xy'
    head, body = unpack(rec)
    assert head.flag == 2 and head.label.tolist() == [3.0, 9.0] and body == b'xy'
    head, body = unpack(pack(IRHeader(0, 5.0, 3, 0), b''))
    assert head.label == 5.0 and body == b''
    with pytest.raises(RecordIOError, match='shorter'):
        unpack(b'123')


def test_framing_bytes_and_padding(tmp_path):
    rec, idx = str(tmp_path / 'a.rec'), str(tmp_path / 'a.idx')
    with RecordIOWriter(rec, idx) as w:
        w.write_idx(5, b'hello')
        w.write_idx(9, b'')
    raw = open(rec, 'rb').read()
    # magic, lrec (cflag 0, length 5), data, 3 pad bytes; then an empty record
    assert raw == (struct.pack('<II', MAGIC, 5) + b'hello\0\0\0' + struct.pack('<II', MAGIC, 0))
    assert open(idx).read() == '5\t0\n9\t16\n'
    r = RecordIOReader(rec, idx)
    assert r.keys == [5, 9] and r.read_idx(5) == b'hello' and r.read_idx(9) == b''


def test_magic_inside_payload_is_split_and_restored(tmp_path):
    magic = struct.pack('<I', MAGIC)
    payload = b'1234' + magic + b'ABCD' + magic + b'tail!'
    rec, idx = str(tmp_path / 'm.rec'), str(tmp_path / 'm.idx')
    with RecordIOWriter(rec, idx) as w:
        w.write_idx(0, payload)
    raw = open(rec, 'rb').read()
    flags = []
    pos = 0
    while pos < len(raw):
        m, lrec = struct.unpack('<II', raw[pos:pos + 8])
        assert m == MAGIC
        flags.append(lrec >> 29)
        pos += 8 + (((lrec & ((1 << 29) - 1)) + 3) & ~3)
    assert flags == [1, 2, 3]  # dmlc: start, middle, end parts
    assert RecordIOReader(rec, idx).read_idx(0) == payload


def test_reader_errors(tmp_path):
    rec, idx = str(tmp_path / 'e.rec'), str(tmp_path / 'e.idx')
    with RecordIOWriter(rec, idx) as w:
        w.write_idx(1, b'abcdefgh')
    (tmp_path / 'bad.idx').write_text('1\t4\n')
    with pytest.raises(RecordIOError, match='bad magic'):
        RecordIOReader(rec, str(tmp_path / 'bad.idx')).read_idx(1)
    (tmp_path / 'trunc.rec').write_bytes(open(rec, 'rb').read()[:10])
    with pytest.raises(RecordIOError, match='truncated'):
        RecordIOReader(str(tmp_path / 'trunc.rec'), idx).read_idx(1)
    (tmp_path / 'mal.idx').write_text('1\t0\noops\n')
    with pytest.raises(RecordIOError, match='mal.idx:2'):
        read_index(str(tmp_path / 'mal.idx'))
    (tmp_path / 'dup.idx').write_text('1\t0\n1\t8\n')
    with pytest.raises(RecordIOError, match='duplicate key 1'):
        read_index(str(tmp_path / 'dup.idx'))
    with pytest.raises(FileNotFoundError, match='nope.rec'):
        RecordIOReader(str(tmp_path / 'nope.rec'), idx)
    with pytest.raises(KeyError, match='Key 3'):
        RecordIOReader(rec, idx).read_idx(3)


def _check_dataset(ds, summary):
    assert len(ds) == len(summary['labels'])
    assert ds.get_gt_labels().tolist() == [summary['labels'][k] for k in sorted(summary['labels'])]
    for i in (0, len(ds) - 1):
        out = ds[i]
        key = out['rec_key']
        assert out['gt_label'] == summary['labels'][key]
        assert out['img_path'].endswith(f'train.rec@{key}')
        ref = cv2.imdecode(np.frombuffer(out['img_bytes'], np.uint8), cv2.IMREAD_COLOR)
        assert np.array_equal(out['img'], ref)
        assert np.array_equal(out['img'], summary['images'][key])  # png: lossless


@pytest.mark.parametrize('header', [True, False])
def test_mxface_dataset_reads_insightface_layout(tmp_path, tiny_ids, header):
    summary = write_recordio(str(tmp_path), tiny_ids, ext='.png', insightface_header=header)
    ds = MXFaceDataset(data_root=str(tmp_path))
    _check_dataset(ds, summary)
    assert len(ds.metainfo['classes']) == len(tiny_ids)
    if header:  # labels from identity records == labels from the image headers
        ds2 = MXFaceDataset(data_root=str(tmp_path), label_source='headers')
        assert ds2.get_gt_labels().tolist() == ds.get_gt_labels().tolist()
    else:
        with pytest.raises(RecordIOError, match='no insightface header'):
            MXFaceDataset(data_root=str(tmp_path), label_source='identities')


def test_mxface_dataset_with_pipeline_and_bad_identity_range(tmp_path, tiny_ids):
    write_recordio(str(tmp_path), tiny_ids[:2], ext='.jpg')
    ds = MXFaceDataset(data_root=str(tmp_path), pipeline=[
        dict(type='Resize', scale=(8, 8)), dict(type='PackInputs')])
    out = ds[0]
    assert tuple(out['inputs'].shape) == (3, 8, 8)
    assert out['data_samples'].gt_label.item() == 0
    # corrupt the identity record of identity 1: range beyond the images
    rec, idx = str(tmp_path / 'bad.rec'), str(tmp_path / 'bad.idx')
    with RecordIOWriter(rec, idx) as w:
        w.write_idx(1, pack(IRHeader(0, 0.0, 1, 0), b'x'))
        w.write_idx(2, pack(IRHeader(0, [1, 5], 2, 0), b''))
        w.write_idx(0, pack(IRHeader(0, [2, 3], 0, 1), b''))
    with pytest.raises(RecordIOError, match='outside image keys'):
        MXFaceDataset(data_root=str(tmp_path), ann_file='bad.idx', rec_file='bad.rec')
