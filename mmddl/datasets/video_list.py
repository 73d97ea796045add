"""mmaction2 video list files (``<path> <label>`` per line), validated up
front: the first bad line is reported with its file and line number."""
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from mmaction.datasets import VideoDataset
from mmaction.registry import DATASETS
from mmengine.logging import print_log

from .base_group_dataset import DatasetFormatError, format_error, read_lines

Label = Union[int, List[int]]


def _is_int(token: str) -> bool:
    try:
        int(token)
    except ValueError:
        return False
    return True


def split_path_in_line(fields: Sequence[str]) -> int:
    """How many leading fields hold the path when it contains the delimiter.

    Args:
        fields (Sequence[str]): The line split on the delimiter.

    Returns:
        int: ``k > 1`` when ``fields[1:k]`` are not integers and
        ``fields[k:]`` (at least one) all are: the path was probably split
        (e.g. ``'my video.mp4 3'``); else 1.
    """
    k = len(fields)
    while k > 1 and _is_int(fields[k - 1]):
        k -= 1
    return k if 1 < k < len(fields) else 1


def parse_video_list(path: str,
                     delimiter: str = ' ',
                     multi_class: bool = False,
                     num_classes: Optional[int] = None,
                     allow_unlabeled: bool = False
                     ) -> Tuple[List[Tuple[str, Label, int]], int]:
    """Parse and check an mmaction2 video list.

    Besides each line's form, a video listed on two lines is refused (the
    same label: a duplicate, which would weight it twice; another label: a
    conflict, which a score table keyed by file would average), naming both
    lines.

    Args:
        path (str): The list file.
        delimiter (str): Field separator, as ``VideoDataset``'s.
        multi_class (bool): Lines hold one or more labels.
        num_classes (int, optional): Labels must lie in ``[0, num_classes)``.
        allow_unlabeled (bool): Accept lines with a path only (label -1,
            inference lists).

    Returns:
        tuple: ``([(relative path, label, line number), ...], number of
        blank lines)``; blank lines carry no sample and are counted, not
        kept.

    Raises:
        DatasetFormatError: Naming ``path:line``, the line and what a line
            must look like (or the other line of a repeated video); also
            for a list without any sample.
    """
    form = (f'"<path>{delimiter}<label>"' if not multi_class else
            f'"<path>{delimiter}<label>[{delimiter}<label> ...]"')
    if num_classes is not None:
        form += f' with labels in [0, {num_classes})'
    samples = []
    seen: Dict[str, Tuple[int, Label, Tuple[int, ...]]] = {}
    for lineno, line in read_lines(path, 'video list'):
        fields = line.split(delimiter)

        def bad(msg: str) -> DatasetFormatError:
            return format_error(path, lineno,
                                f'{msg} in {line!r}; expected {form}.')

        if '' in fields:
            raise bad(f'an empty field (repeated or stray {delimiter!r})')
        k = split_path_in_line(fields)
        if k > 1:
            name = delimiter.join(fields[:k])
            raise bad(f'the path {name!r} contains the delimiter '
                      f'{delimiter!r}, on which mmaction2 splits a line: '
                      'rename the file (or write the list with another '
                      'delimiter and pass delimiter=)')
        if len(fields) == 1 and not allow_unlabeled:
            raise bad('no label (pass allow_unlabeled=True for an '
                      'inference list)')
        if len(fields) > 2 and not multi_class:
            raise bad(f'{len(fields) - 1} labels (multi_class=False; or a '
                      f'path that contains the delimiter {delimiter!r})')
        try:
            labels = [int(x) for x in fields[1:]]
        except ValueError:
            raise bad('a label that is not an integer (or a path that '
                      f'contains the delimiter {delimiter!r})') from None
        top = num_classes if num_classes is not None else float('inf')
        if any(not 0 <= x < top for x in labels):
            raise bad('a label out of range')
        label = labels if multi_class else (labels[0] if labels else -1)
        key = osp.normpath(fields[0])
        if key in seen:
            first, first_label, first_set = seen[key]
            if tuple(sorted(labels)) == first_set:
                raise format_error(
                    path, lineno,
                    f'{fields[0]!r} is listed again (first at line '
                    f'{first}): a repeated video is weighted twice (in '
                    'training, the D-score centroids and statistics); '
                    'remove one of the two lines.')
            raise format_error(
                path, lineno,
                f'{fields[0]!r} has label {label} here and {first_label} at '
                f'line {first}: a video has one label (a score table keyed '
                'by file would average the two); remove the wrong line' +
                ('' if multi_class else ' (or list the labels on one line '
                 'with multi_class=True)') + '.')
        seen[key] = (lineno, label, tuple(sorted(labels)))
        samples.append((fields[0], label, lineno))
    if not samples:
        raise DatasetFormatError(f'{path}: the video list holds no sample; '
                                 f'expected lines {form}.')
    with open(path) as f:
        blank = sum(1 for line in f if not line.strip())
    return samples, blank


def missing_videos(paths: Sequence[str]) -> List[int]:
    """Indices of the ``paths`` that name no file (remote URIs count as
    present: their backend reports them when read)."""
    return [
        i for i, p in enumerate(paths) if '://' not in p and not osp.isfile(p)
    ]


@DATASETS.register_module()
class CheckedVideoDataset(VideoDataset):
    """``VideoDataset`` whose list file is validated before use.

    Same arguments and samples as mmaction2's ``VideoDataset``; a malformed
    line (missing, non-integer or out-of-range label, repeated delimiter, a
    path containing the delimiter), a video listed twice (same label or
    another), a listed video whose file is missing, or an empty list raises
    :class:`DatasetFormatError` naming the file and line(s). Blank lines are
    skipped and counted in the log.

    Args:
        ann_file (str): Path to the annotation file.
        pipeline (list): Data transforms.
        allow_unlabeled (bool): Accept lines without a label (label -1),
            as ``VideoDataset`` does for inference lists. Defaults to False.
        check_files (bool): Check that every listed video exists (one
            ``stat`` per video) when the dataset is built. Defaults to True.
        skip_missing (bool): Leave missing videos out (counted and logged
            with examples) instead of raising. Defaults to False.
        **kwargs: Other ``VideoDataset`` arguments (``data_prefix``,
            ``multi_class``, ``num_classes``, ``delimiter`` ...).
    """

    def __init__(self,
                 ann_file: str,
                 pipeline: list,
                 allow_unlabeled: bool = False,
                 check_files: bool = True,
                 skip_missing: bool = False,
                 **kwargs) -> None:
        self.allow_unlabeled = allow_unlabeled
        self.check_files, self.skip_missing = check_files, skip_missing
        self.num_missing = 0
        #: list-file line of every sample (for messages naming file:line)
        self.list_lines: List[int] = []
        super().__init__(ann_file, pipeline=pipeline, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Check the list (and the files), then build ``VideoDataset``'s
        samples."""
        samples, blank = parse_video_list(self.ann_file, self.delimiter,
                                          self.multi_class, self.num_classes,
                                          self.allow_unlabeled)
        prefix = self.data_prefix.get('video')
        if blank:
            print_log(
                f'{self.ann_file}: {blank} blank lines skipped',
                logger='current')
        data_list = [
            dict(
                filename=osp.join(prefix, name)
                if prefix is not None else name,
                label=label) for name, label, _ in samples
        ]
        self.list_lines = [lineno for _, _, lineno in samples]
        if not self.check_files:
            return data_list
        missing = missing_videos([d['filename'] for d in data_list])
        self.num_missing = len(missing)
        if not missing:
            return data_list
        examples = ', '.join(f'line {samples[i][2]}: '
                             f'{data_list[i]["filename"]}'
                             for i in missing[:3])
        what = (f'{self.ann_file}: {len(missing)} of {len(data_list)} '
                f'listed videos are missing ({examples})')
        hint = f'check data_prefix (here {prefix!r}) and the list'
        if len(missing) == len(data_list):
            raise DatasetFormatError(f'{what}; {hint}.')
        if not self.skip_missing:
            raise DatasetFormatError(
                f'{what}; {hint}, or pass skip_missing=True to leave them '
                'out (counted in the log).')
        print_log(
            f'{what}; left out (skip_missing=True)',
            logger='current',
            level=30)
        drop = set(missing)
        self.list_lines = [
            n for i, n in enumerate(self.list_lines) if i not in drop
        ]
        return [d for i, d in enumerate(data_list) if i not in drop]


def list_location(dataset: Any, index: int) -> Optional[str]:
    """``'<list file>:<line>'`` of sample ``index`` of a dataset that
    keeps its list lines (:class:`CheckedVideoDataset`), else None.

    Args:
        dataset (Any): a dataset.
        index (int): a sample index.
    """
    lines = getattr(dataset, 'list_lines', None)
    if not lines or len(lines) != len(dataset) or not 0 <= index < len(lines):
        return None
    return f'{dataset.ann_file}:{lines[index]}'
