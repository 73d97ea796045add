"""Base class and parsing helpers of the group (set-of-images) datasets."""
import os.path as osp
from typing import Iterator, List, Sequence, Tuple

from mmengine.logging import print_log
from mmpretrain.datasets import BaseDataset


class DatasetFormatError(ValueError):
    """A malformed annotation file; the message names the file and line."""


def format_error(path: str, lineno: int, msg: str) -> DatasetFormatError:
    """Build a :class:`DatasetFormatError` for ``path:lineno``.

    Args:
        path (str): Annotation file.
        lineno (int): 1-based line number.
        msg (str): What is wrong.
    """
    return DatasetFormatError(f'{path}:{lineno}: {msg}')


def read_lines(path: str,
               what: str = 'annotation file') -> Iterator[Tuple[int, str]]:
    """Yield ``(1-based line number, stripped line)`` for non-blank lines.

    Args:
        path (str): Text file.
        what (str): What the file is, for the error message.

    Raises:
        FileNotFoundError: Naming ``what`` and the path.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    with open(path, 'r') as f:
        for lineno, line in enumerate(f, start=1):
            line = line.strip()
            if line:
                yield lineno, line


def parse_int(token: str, path: str, lineno: int, field: str) -> int:
    """``int(token)`` with a file:line error naming ``field``.

    Args:
        token (str): Text to parse.
        path (str): Annotation file, for the error.
        lineno (int): Line number, for the error.
        field (str): Field name, for the error.
    """
    return _parse(int, 'an integer', token, path, lineno, field)


def parse_float(token: str, path: str, lineno: int, field: str) -> float:
    """``float(token)`` with a file:line error; see :func:`parse_int`."""
    return _parse(float, 'a number', token, path, lineno, field)


def _parse(cast, what: str, token: str, path: str, lineno: int, field: str):
    try:
        return cast(token)
    except ValueError:
        raise format_error(path, lineno, f'{field} must be {what}, '
                           f'got {token!r}.') from None


def check_files_exist(paths: Sequence[str], what: str = 'image') -> None:
    """Raise one error listing how many of ``paths`` are missing.

    Args:
        paths (Sequence[str]): Files that must exist.
        what (str): What the files are, for the message.

    Raises:
        FileNotFoundError: Naming the count and the first 5 missing files.
    """
    missing = [p for p in paths if not osp.isfile(p)]
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} of {len(paths)} {what} files are '
            f'missing, e.g. {missing[:5]}.')


class BaseGroupDataset(BaseDataset):
    """mmpretrain ``BaseDataset`` whose items are groups of images.

    Args:
        data_root (str): Dataset root; relative ``ann_file`` / ``data_prefix``
            / meta paths are joined to it.
        ann_file (str): Main annotation file (subclass specific).
        data_prefix (str | dict): Image directory or ``dict(img_path=...)``.
        check_files (bool): Stat every image path at load time and fail with a
            list of missing files (disable for speed on very large sets).
        pipeline (Sequence): Transforms, e.g. ``LoadGroupImages`` +
            ``PackGroupInputs``.
        test_mode (bool): Defaults to True (these are evaluation sets).
        **kwargs: Other ``BaseDataset`` arguments (``indices``, ``lazy_init``
            ...).
    """

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = '',
                 data_prefix='',
                 check_files: bool = True,
                 pipeline: Sequence = (),
                 test_mode: bool = True,
                 **kwargs):
        self.check_files = check_files
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            pipeline=pipeline,
            test_mode=test_mode,
            **kwargs)

    def _root_join(self, path: str) -> str:
        """Join a relative path to ``data_root`` (absolute paths unchanged)."""
        return path if osp.isabs(path) or not self.data_root else osp.join(
            self.data_root, path)

    def _finish(self, data_list: List[dict], **meta) -> List[dict]:
        """Set ``group_id`` / ``num_images``, check files, store metainfo."""
        for gid, item in enumerate(data_list):
            item['group_id'] = gid
            item['num_images'] = len(item['img_paths'])
            if item['num_images'] == 0:
                raise DatasetFormatError(
                    f'Group {item["group_name"]!r} has no images.')
        if self.check_files:
            check_files_exist([p for it in data_list for p in it['img_paths']])
        self._metainfo.update(meta)
        n_img = sum(it['num_images'] for it in data_list)
        print_log(
            f'{type(self).__name__}: {len(data_list)} groups, {n_img} images' +
            (f', {len(meta["pairs"])} pairs' if 'pairs' in meta else ''),
            logger='current')
        return data_list

    def extra_repr(self) -> List[str]:
        """Shown in ``repr(dataset)``."""
        body = [
            f'Annotation file: \t{self.ann_file}',
            f'Prefix of images: \t{self.img_prefix}'
        ]
        if 'pairs' in self._metainfo:
            body.append(f'Number of pairs: \t{len(self._metainfo["pairs"])}')
        return body
