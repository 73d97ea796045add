"""mmaction2 video list files (``<path> <label>`` per line), validated up
front: the first bad line is reported with its file and line number."""
import os.path as osp
from typing import List, Optional, Tuple, Union

from mmaction.datasets import VideoDataset
from mmaction.registry import DATASETS
from mmengine.logging import print_log

from .base_group_dataset import DatasetFormatError, format_error, read_lines

Label = Union[int, List[int]]


def parse_video_list(path: str,
                     delimiter: str = ' ',
                     multi_class: bool = False,
                     num_classes: Optional[int] = None,
                     allow_unlabeled: bool = False
                     ) -> Tuple[List[Tuple[str, Label]], int]:
    """Parse and check an mmaction2 video list.

    Args:
        path (str): The list file.
        delimiter (str): Field separator, as ``VideoDataset``'s.
        multi_class (bool): Lines hold one or more labels.
        num_classes (int, optional): Labels must lie in ``[0, num_classes)``.
        allow_unlabeled (bool): Accept lines with a path only (label -1,
            inference lists).

    Returns:
        tuple: ``([(relative path, label), ...], number of blank lines)``;
        blank lines carry no sample and are counted, not kept.

    Raises:
        DatasetFormatError: Naming ``path:line``, the line and what a line
            must look like; also for a list without any sample.
    """
    form = (f'"<path>{delimiter}<label>"' if not multi_class else
            f'"<path>{delimiter}<label>[{delimiter}<label> ...]"')
    if num_classes is not None:
        form += f' with labels in [0, {num_classes})'
    samples = []
    for lineno, line in read_lines(path, 'video list'):
        fields = line.split(delimiter)

        def bad(msg: str) -> DatasetFormatError:
            return format_error(path, lineno,
                                f'{msg} in {line!r}; expected {form}.')

        if '' in fields:
            raise bad(f'an empty field (repeated or stray {delimiter!r})')
        if len(fields) == 1 and not allow_unlabeled:
            raise bad('no label (pass allow_unlabeled=True for an '
                      'inference list)')
        if len(fields) > 2 and not multi_class:
            raise bad(f'{len(fields) - 1} labels (multi_class=False)')
        try:
            labels = [int(x) for x in fields[1:]]
        except ValueError:
            raise bad('a label that is not an integer') from None
        top = num_classes if num_classes is not None else float('inf')
        if any(not 0 <= x < top for x in labels):
            raise bad('a label out of range')
        label = labels if multi_class else (labels[0] if labels else -1)
        samples.append((fields[0], label))
    if not samples:
        raise DatasetFormatError(f'{path}: the video list holds no sample; '
                                 f'expected lines {form}.')
    with open(path) as f:
        blank = sum(1 for line in f if not line.strip())
    return samples, blank


@DATASETS.register_module()
class CheckedVideoDataset(VideoDataset):
    """``VideoDataset`` whose list file is validated before use.

    Same arguments and samples as mmaction2's ``VideoDataset``; a malformed
    line (missing, non-integer or out-of-range label, repeated delimiter) or
    an empty list raises :class:`DatasetFormatError` naming the file and
    line. Blank lines are skipped and counted in the log.

    Args:
        ann_file (str): Path to the annotation file.
        pipeline (list): Data transforms.
        allow_unlabeled (bool): Accept lines without a label (label -1),
            as ``VideoDataset`` does for inference lists. Defaults to False.
        **kwargs: Other ``VideoDataset`` arguments (``data_prefix``,
            ``multi_class``, ``num_classes``, ``delimiter`` ...).
    """

    def __init__(self,
                 ann_file: str,
                 pipeline: list,
                 allow_unlabeled: bool = False,
                 **kwargs) -> None:
        self.allow_unlabeled = allow_unlabeled
        super().__init__(ann_file, pipeline=pipeline, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Check the list, then build ``VideoDataset``'s samples."""
        samples, blank = parse_video_list(self.ann_file, self.delimiter,
                                          self.multi_class, self.num_classes,
                                          self.allow_unlabeled)
        prefix = self.data_prefix.get('video')
        if blank:
            print_log(
                f'{self.ann_file}: {blank} blank lines skipped',
                logger='current')
        return [
            dict(
                filename=osp.join(prefix, name)
                if prefix is not None else name,
                label=label) for name, label in samples
        ]
