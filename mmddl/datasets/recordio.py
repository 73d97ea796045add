"""MXNet / dmlc RecordIO (``.rec`` + ``.idx``) reader and writer, no mxnet."""
import os
import struct
from typing import Dict, List, NamedTuple, Tuple, Union

import numpy as np

from .pickle_state import state_without

MAGIC = 0xCED7230A
_LEN_MASK = (1 << 29) - 1
_IR_FORMAT = '<IfQQ'
_IR_SIZE = struct.calcsize(_IR_FORMAT)  # 24


class RecordIOError(ValueError):
    """A malformed ``.rec`` / ``.idx`` file."""


class IRHeader(NamedTuple):
    """mxnet image-record header: ``flag``, ``label`` (float or array), ids."""
    flag: int
    label: Union[float, np.ndarray]
    id: int
    id2: int


def pack(header: IRHeader, payload: bytes) -> bytes:
    """Pack a header and a payload like ``mx.recordio.pack``.

    Args:
        header (IRHeader): The header; an array-like ``label`` sets ``flag =
            len(label)``.
        payload (bytes): Encoded image bytes (may be empty).

    Returns:
        bytes: The record data (without the RecordIO framing).
    """
    label = header.label
    if np.ndim(label) == 0:
        head = struct.pack(_IR_FORMAT, int(header.flag), float(label),
                           int(header.id), int(header.id2))
        return head + payload
    arr = np.asarray(label, dtype='<f4').ravel()
    head = struct.pack(_IR_FORMAT, arr.size, 0.0, int(header.id),
                       int(header.id2))
    return head + arr.tobytes() + payload


def unpack(record: bytes) -> Tuple[IRHeader, bytes]:
    """Inverse of :func:`pack` (``mx.recordio.unpack``).

    Args:
        record (bytes): Record data as returned by
            :meth:`RecordIOReader.read_idx`.

    Returns:
        tuple: ``(header, payload)``; ``header.label`` is a float32 array when
        ``flag > 0``.
    """
    if len(record) < _IR_SIZE:
        raise RecordIOError(
            f'Record of {len(record)} bytes is shorter than the '
            f'{_IR_SIZE}-byte IRHeader.')
    flag, label, id1, id2 = struct.unpack(_IR_FORMAT, record[:_IR_SIZE])
    body = record[_IR_SIZE:]
    if flag > 0:
        if len(body) < 4 * flag:
            raise RecordIOError(f'Header announces {flag} labels but only '
                                f'{len(body)} bytes follow.')
        label = np.frombuffer(body[:4 * flag], dtype='<f4').copy()
        body = body[4 * flag:]
    return IRHeader(flag, label, id1, id2), body


def read_index(idx_path: str) -> Dict[int, int]:
    """Parse a ``.idx`` file into ``{key: byte offset}``.

    Args:
        idx_path (str): The ``.idx`` file.

    Raises:
        RecordIOError: Naming the file and line of a malformed or duplicate
            entry.
    """
    if not os.path.isfile(idx_path):
        raise FileNotFoundError(f'RecordIO index file not found: {idx_path}')
    index: Dict[int, int] = {}
    with open(idx_path, 'r') as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            parts = line.split()
            try:
                key, offset = int(parts[0]), int(parts[1])
                if len(parts) != 2:
                    raise ValueError
            except (ValueError, IndexError):
                raise RecordIOError(
                    f'{idx_path}:{lineno}: expected "<key>\\t<offset>", '
                    f'got {line.rstrip()!r}') from None
            if key in index:
                raise RecordIOError(
                    f'{idx_path}:{lineno}: duplicate key {key}.')
            index[key] = offset
    return index


def read_record_at(f, offset: int, path: str = '<rec>') -> bytes:
    """Read one (possibly multi-part) record starting at byte ``offset``.

    Args:
        f (BinaryIO): ``.rec`` file opened in binary mode.
        offset (int): Byte offset of the record.
        path (str): File name, for error messages.
    """
    f.seek(offset)
    parts: List[bytes] = []
    pos = offset
    while True:
        head = f.read(8)
        if len(head) != 8:
            raise RecordIOError(
                f'{path}: truncated record header at byte {pos}.')
        magic, lrec = struct.unpack('<II', head)
        if magic != MAGIC:
            raise RecordIOError(
                f'{path}: bad magic 0x{magic:08x} at byte {pos} '
                f'(expected 0x{MAGIC:08x}); wrong offset in .idx?')
        cflag, length = lrec >> 29, lrec & _LEN_MASK
        padded = (length + 3) & ~3
        data = f.read(padded)
        if len(data) != padded:
            raise RecordIOError(f'{path}: record at byte {pos} truncated '
                                f'({len(data)} of {padded} bytes).')
        parts.append(data[:length])
        pos += 8 + padded
        if cflag in (0, 3):
            break
        if cflag not in (1, 2):
            raise RecordIOError(
                f'{path}: invalid cflag {cflag} at byte {pos}.')
    return struct.pack('<I', MAGIC).join(parts)


class RecordIOReader:
    """Indexed reader; the file handle is (re)opened lazily per process.

    Args:
        rec_path (str): ``.rec`` file.
        idx_path (str): ``.idx`` file.
    """

    def __init__(self, rec_path: str, idx_path: str):
        if not os.path.isfile(rec_path):
            raise FileNotFoundError(
                f'RecordIO data file not found: {rec_path}')
        self.rec_path, self.idx_path = rec_path, idx_path
        self.index = read_index(idx_path)
        self._file, self._pid = None, None

    @property
    def keys(self) -> List[int]:
        """Record keys in index-file order."""
        return list(self.index)

    def _handle(self):
        if self._file is None or self._pid != os.getpid():
            self._file, self._pid = open(self.rec_path, 'rb'), os.getpid()
        return self._file

    def read_idx(self, key: int) -> bytes:
        """Return the data of record ``key``.

        Args:
            key (int): Record key from the ``.idx`` file.
        """
        if key not in self.index:
            raise KeyError(f'Key {key} not in {self.idx_path}.')
        return read_record_at(self._handle(), self.index[key], self.rec_path)

    def close(self) -> None:
        """Close the file handle (reopened on next read)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __getstate__(self):  # picklable for dataloader workers
        return state_without(self, _file=None, _pid=None)


class RecordIOWriter:
    """Indexed RecordIO writer (dmlc framing, including magic splitting).

    Args:
        rec_path (str): ``.rec`` file to create.
        idx_path (str): ``.idx`` file to create.
    """

    def __init__(self, rec_path: str, idx_path: str):
        self._rec = open(rec_path, 'wb')
        self._idx = open(idx_path, 'w')

    def write_idx(self, key: int, data: bytes) -> None:
        """Append record ``data`` under ``key``.

        Args:
            key (int): Record key (unique).
            data (bytes): Record data, e.g. from :func:`pack`.
        """
        self._idx.write(f'{int(key)}\t{self._rec.tell()}\n')
        magic = struct.pack('<I', MAGIC)
        start, n = 0, len(data)
        if n >= 1 << 29:
            raise RecordIOError('RecordIO records must be < 2**29 bytes.')
        for i in range(0, n - n % 4, 4):
            if data[i:i + 4] == magic:
                self._frame(1 if start == 0 else 2, data[start:i])
                start = i + 4
        self._frame(3 if start else 0, data[start:])

    def _frame(self, cflag: int, chunk: bytes) -> None:
        self._rec.write(struct.pack('<II', MAGIC, (cflag << 29) | len(chunk)))
        self._rec.write(chunk + b'\0' * (-len(chunk) % 4))

    def close(self) -> None:
        """Flush and close both files."""
        self._rec.close()
        self._idx.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
