"""Checks of the candidate samples before the discriminability pass: each
file once, with one label, and at least two classes."""
from typing import Any, Dict, Optional, Sequence

import numpy as np


def _label(dataset: Any, index: int) -> Optional[Any]:
    """The label in sample ``index``'s info (``label`` / ``gt_label``)."""
    get_info = getattr(dataset, 'get_data_info', None)
    if get_info is None:
        return None
    info = get_info(index)
    label = info.get('label', info.get('gt_label'))
    if label is None:
        return None
    values = np.asarray(label).reshape(-1).tolist()
    return values[0] if len(values) == 1 else values


def check_unique_samples(dataset: Any, keys: Sequence[str]) -> None:
    """Refuse a sample file that occurs twice among the candidates.

    The score table has one entry per file: a file listed twice with the
    same label is scored twice (it moves its class centroid and Eq. 4's mean
    and std, so every D-score); with two labels, its D-scores against both
    classes would be averaged.

    Args:
        dataset (Any): the candidate dataset (labels and ``ann_file`` are
            read from it for the message).
        keys (Sequence[str]): the sample key of every sample (e.g.
            ``DataSources.keys``); ``'index:<i>'`` keys (no file) are
            skipped.

    Raises:
        ValueError: naming the file, both sample indices (0-based), their
            labels and the data list.
    """
    first: Dict[str, int] = {}
    for i, key in enumerate(keys):
        key = str(key)
        if key.startswith('index:'):
            continue
        j = first.setdefault(key, i)
        if j == i:
            continue
        a, b = _label(dataset, j), _label(dataset, i)
        src = getattr(dataset, 'ann_file', None)
        where = f'samples {j} and {i} (0-based)' + (f' of {src}'
                                                    if src else '')
        if a == b:
            raise ValueError(
                f'{where} are both {key!r} (label {a}): a repeated sample '
                'is scored twice, which moves its class centroid and the '
                'D-score statistics (every D-score); remove the repeated '
                'line from the data list')
        raise ValueError(
            f'{where} are both {key!r}, with labels {a} and {b}: the score '
            'table has one entry per file and would average the two; give '
            'each file one label in the data list')


def check_two_classes(dataset: Any) -> None:
    """Refuse candidates whose labels name fewer than two classes (Eq. 2
    needs another class's centroid), when every sample info has a label.

    Args:
        dataset (Any): the candidate dataset.

    Raises:
        ValueError: naming the data list, the sample count and the class.
    """
    if getattr(dataset, 'get_data_info', None) is None or not len(dataset):
        return
    classes = set()
    for i in range(len(dataset)):
        label = _label(dataset, i)
        if label is None or isinstance(label, list):
            return  # unlabeled or multi-label infos: the pass checks
        classes.add(int(label))
        if len(classes) > 1:
            return
    src = getattr(dataset, 'ann_file', None) or type(dataset).__name__
    raise ValueError(
        f'{src}: all {len(dataset)} samples have label {classes.pop()}; '
        'discriminability (the distance to the nearest other class, Eq. 2) '
        'needs samples of at least 2 classes')
