"""ActivityNet-1.2 untrimmed videos as a video-level classification dataset."""
import json
import logging
import math
import os.path as osp
import re
from collections import OrderedDict
from typing import (Any, Callable, Dict, List, Optional, Sequence, Tuple,
                    Union)

from mmaction.datasets import BaseActionDataset
from mmaction.registry import DATASETS
from mmengine.fileio import exists, get_text, list_from_file
from mmengine.logging import print_log

from .base_group_dataset import DatasetFormatError

SUBSETS = ('training', 'validation', 'testing')
ClassSpec = Optional[Union[str, Sequence[str]]]


def taxonomy_leaves(taxonomy: List[dict]) -> List[str]:
    """Names of the taxonomy's leaf nodes (nobody's parent), sorted.

    Args:
        taxonomy (List[dict]): ``taxonomy`` list of the annotation file.
    """
    parents = {
        str(n['parentId'])
        for n in taxonomy if n.get('parentId') is not None
    }
    leaves = [
        n['nodeName'] for n in taxonomy if str(n['nodeId']) not in parents
    ]
    dup = sorted({x for x in leaves if leaves.count(x) > 1})
    if dup:
        raise ValueError(f'taxonomy has duplicate leaf names: {dup[:5]}')
    return sorted(leaves)


def resolve_classes(data: dict, classes: ClassSpec = None) -> List[str]:
    """The class list (index = label) of an ActivityNet annotation dict.

    Args:
        data (dict): The loaded annotation JSON.
        classes (ClassSpec): ``None`` (taxonomy leaves sorted by name),
            ``'annotated'`` (those leaves that occur in some annotation), the
            path of a text file with one class name per line, or a sequence of
            names.
    """
    if classes is None or classes == 'annotated':
        if not data.get('taxonomy'):
            raise ValueError('the annotation file has no taxonomy; pass '
                             'classes= (a file or a list of names)')
        names = taxonomy_leaves(data['taxonomy'])
        if classes == 'annotated':
            used = {
                a['label']
                for v in data['database'].values()
                for a in v.get('annotations') or []
            }
            names = [n for n in names if n in used]
    elif isinstance(classes, str):
        names = [x.strip() for x in list_from_file(classes) if x.strip()]
    else:
        names = [str(x) for x in classes]
    if not names:
        raise ValueError('the class list is empty')
    if len(set(names)) != len(names):
        raise ValueError('the class list has duplicate names')
    return names


def video_label(annotations: List[dict], class_idx: Dict[str, int],
                video_id: str) -> Tuple[int, List[int], List[List[float]]]:
    """Majority-by-duration label, all labels and segments of one video.

    Args:
        annotations (List[dict]): The video's annotations.
        class_idx (Dict[str, int]): Class name -> label.
        video_id (str): Video id, for error messages.
    """
    dur: Dict[int, float] = OrderedDict()
    segments = []
    for ann in annotations:
        start, end = (float(x) for x in ann['segment'])
        if end < start:
            raise ValueError(f'video {video_id}: segment {ann["segment"]} '
                             'ends before it starts')
        c = class_idx[ann['label']]
        dur[c] = dur.get(c, 0.0) + end - start
        segments.append([start, end])
    label = min(dur, key=lambda c: (-dur[c], c))
    return label, sorted(dur), segments


def key_lines(text: str, key: str) -> List[int]:
    """1-based lines where ``"key":`` occurs in a JSON text (a minified
    file gives line 1).

    Args:
        text (str): The JSON text.
        key (str): An object key.
    """
    return [
        text.count('\n', 0, m.start()) + 1
        for m in re.finditer(re.escape(json.dumps(key)) + r'\s*:', text)
    ]


def load_annotation_json(path: str) -> Tuple[dict, str]:
    """Read an ActivityNet annotation file, refusing a video listed twice.

    Args:
        path (str): The JSON file.

    Returns:
        tuple: ``(data, text)``.

    Raises:
        DatasetFormatError: Naming ``path:line``: not JSON, no
            ``database``, or a video id given twice in ``database`` (JSON
            keeps the last silently).
    """
    text = get_text(path)
    repeated: List[str] = []

    def pairs(items):
        out = {}
        for k, v in items:
            if k in out:
                repeated.append(k)
            out[k] = v
        return out

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as e:
        raise DatasetFormatError(f'{path}:{e.lineno}: not valid JSON '
                                 f'({e.msg}, column {e.colno})') from None
    if not isinstance(data, dict) or not isinstance(
            data.get('database'), dict):
        raise DatasetFormatError(f'{path} has no "database" object: not an '
                                 'ActivityNet annotation file')
    for vid in repeated:
        if vid in data['database']:
            lines = key_lines(text, vid)
            raise DatasetFormatError(
                f'{path}:{lines[-1] if lines else 1}: video {vid!r} is given '
                'twice in "database" (lines '
                f'{", ".join(map(str, lines))}); JSON would keep the last '
                'one silently: remove one.')
    return data, text


def check_annotations(data: dict, path: str, text: str = '') -> None:
    """Check every video entry of ``database`` before it is used.

    Each video needs a ``subset`` in :data:`SUBSETS`; ``annotations`` (if
    any) is a list of ``{"segment": [start, end], "label": name}`` with
    finite numbers, ``end >= start``.

    Args:
        data (dict): The loaded annotation JSON.
        path (str): The file, for the messages.
        text (str): Its text, to name the video's line.

    Raises:
        DatasetFormatError: Naming ``path:line``, the video and the
            annotation's index.
    """
    form = '{"segment": [start, end], "label": "<class name>"}'
    for vid, v in data['database'].items():
        bad = _video_problem(v, form)
        if bad:
            lines = key_lines(text, vid) if text else []
            raise DatasetFormatError(f'{path}:{lines[0] if lines else 1}: '
                                     f'video {vid!r}{bad}.')


def _video_problem(v: Any, form: str) -> Optional[str]:
    """What is wrong with one ``database`` entry, or None."""
    if not isinstance(v, dict) or v.get('subset') not in SUBSETS:
        got = v.get('subset') if isinstance(v, dict) else v
        return f': "subset" must be one of {SUBSETS}, got {got!r}'
    anns = v.get('annotations') or []
    if not isinstance(anns, list):
        return f': "annotations" must be a list of {form}'
    for j, ann in enumerate(anns):
        bad = _annotation_problem(ann)
        if bad:
            return f', annotation {j}: {bad}; expected {form}'
    return None


def _annotation_problem(ann: Any) -> Optional[str]:
    """What is wrong with one annotation, or None."""
    if not isinstance(ann, dict):
        return f'not an object ({ann!r})'
    if 'segment' not in ann:
        return f'no "segment" (keys: {sorted(ann)})'
    if not isinstance(ann.get('label'), str):
        return f'no "label" name (keys: {sorted(ann)})'
    seg = ann['segment']
    if (not isinstance(seg, (list, tuple)) or len(seg) != 2 or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool)
            and math.isfinite(x) for x in seg)):
        return f'"segment" must be two finite numbers, got {seg!r}'
    if seg[1] < seg[0]:
        return f'segment {list(seg)} ends before it starts'
    return None


def parse_activitynet(data: dict, subsets: Sequence[str],
                      class_names: List[str]) -> Tuple[List[dict], Dict]:
    """Annotated videos of ``subsets`` (sorted by id) and counts.

    Args:
        data (dict): The loaded annotation JSON.
        subsets (Sequence[str]): Subsets to keep.
        class_names (List[str]): Class list (index = label).

    Returns:
        tuple: ``(records, stats)``; records have ``video_id``, ``label``,
        ``labels``, ``segments``, ``duration``, ``subset``; stats count
        ``unannotated`` (skipped) and ``multi_class`` videos.
    """
    class_idx = {n: i for i, n in enumerate(class_names)}
    unknown = sorted({
        a['label']
        for v in data['database'].values() if v['subset'] in subsets
        for a in v.get('annotations') or []
    } - set(class_idx))
    if unknown:
        first = next(
            vid for vid in sorted(data['database'])
            if data['database'][vid]['subset'] in subsets and any(
                a['label'] == unknown[0]
                for a in data['database'][vid].get('annotations') or []))
        raise ValueError(f'{len(unknown)} annotation labels are not in the '
                         f'class list, e.g. {unknown[:5]} ({unknown[0]!r}: '
                         f'video {first!r})')
    records, stats = [], dict(unannotated=0, multi_class=0)
    for vid in sorted(data['database']):
        v = data['database'][vid]
        if v['subset'] not in subsets:
            continue
        if not v.get('annotations'):
            stats['unannotated'] += 1
            continue
        label, labels, segments = video_label(v['annotations'], class_idx, vid)
        stats['multi_class'] += len(labels) > 1
        records.append(
            dict(
                video_id=vid,
                label=label,
                labels=labels,
                segments=segments,
                subset=v['subset'],
                duration=float(v.get('duration', -1.0))))
    return records, stats


@DATASETS.register_module()
class ActivityNetVideoDataset(BaseActionDataset):
    """ActivityNet-1.2 untrimmed videos with video-level labels.

    Policies (classes, multi-class videos, unannotated videos, file names):
    see the module docstring. Each sample has ``filename``, ``label``,
    ``labels`` (all annotated classes), ``segments`` (seconds),
    ``video_id``, ``duration`` and ``subset``; ``metainfo['classes']`` is the
    class list and ``self.stats`` the counts of the policies.

    Args:
        ann_file (str): Path of ``activity_net.v1-2.min.json`` (or same
            format).
        pipeline (List[dict | Callable]): Data transforms (e.g. ``DecordInit``,
            ``SampleFrames``...).
        subset (str | Sequence[str]): ``'training'``, ``'validation'``,
            ``'testing'`` or a list.
        data_prefix (dict): ``dict(video=DIR)``, the folder holding the videos.
        filename_tmpl (str): File name of a video from its id (one ``{}``).
        classes (ClassSpec): Class list policy, see :func:`resolve_classes`.
        skip_missing (bool): Skip (and count) videos whose file is missing
            instead of raising ``FileNotFoundError``.
        test_mode (bool): Build a test/validation dataset.
        **kwargs: Passed to ``BaseActionDataset``.
    """

    def __init__(self,
                 ann_file: str,
                 pipeline: List[Union[dict, Callable]],
                 subset: Union[str, Sequence[str]] = 'training',
                 data_prefix: dict = dict(video=''),
                 filename_tmpl: str = 'v_{}.mp4',
                 classes: ClassSpec = None,
                 skip_missing: bool = False,
                 test_mode: bool = False,
                 **kwargs) -> None:
        subsets = [subset] if isinstance(subset, str) else list(subset)
        bad = [s for s in subsets if s not in SUBSETS]
        if bad or not subsets:
            raise ValueError(f'subset must be one or more of {SUBSETS}, got '
                             f'{subset!r}')
        if filename_tmpl.count('{}') != 1:
            raise ValueError('filename_tmpl must contain exactly one "{}", '
                             f'got {filename_tmpl!r}')
        self.subsets = subsets
        self.filename_tmpl = filename_tmpl
        self.class_spec = classes
        self.skip_missing = skip_missing
        self.stats: Dict[str, int] = {}
        super().__init__(
            ann_file,
            pipeline=pipeline,
            data_prefix=data_prefix,
            test_mode=test_mode,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Parse the JSON, apply the policies, check the video files."""
        if not exists(self.ann_file):
            raise FileNotFoundError(f'annotation file {self.ann_file} does '
                                    'not exist')
        data, text = load_annotation_json(self.ann_file)
        check_annotations(data, self.ann_file, text)
        names = resolve_classes(data, self.class_spec)
        self._metainfo['classes'] = tuple(names)
        try:
            records, stats = parse_activitynet(data, self.subsets, names)
        except ValueError as e:
            raise DatasetFormatError(f'{self.ann_file}: {e}') from None
        prefix = self.data_prefix.get('video') or ''
        data_list, missing = [], []
        for rec in records:
            path = osp.join(prefix, self.filename_tmpl.format(rec['video_id']))
            if not exists(path):
                missing.append(path)
                continue
            data_list.append(dict(filename=path, **rec))
        stats.update(
            missing=len(missing), videos=len(data_list), classes=len(names))
        if missing and not self.skip_missing:
            raise FileNotFoundError(
                f'{len(missing)} of {len(records)} videos of subset '
                f'{self.subsets} are missing, e.g. {missing[:3]}; fix '
                'data_prefix/filename_tmpl or pass skip_missing=True')
        if not data_list:
            raise ValueError(f'no usable video in subset {self.subsets} of '
                             f'{self.ann_file} (stats: {stats})')
        self.stats = stats
        self._log(data, names)
        return data_list

    def _log(self, data: dict, names: List[str]) -> None:
        s = self.stats
        print_log(
            f'ActivityNetVideoDataset {self.subsets}: {s["videos"]} '
            f'videos, {s["classes"]} classes; skipped '
            f'{s["unannotated"]} without annotations and '
            f'{s["missing"]} missing files; {s["multi_class"]} videos '
            'annotate several classes (label = longest total '
            'duration)',
            logger='current')
        used = {
            a['label']
            for v in data['database'].values()
            for a in v.get('annotations') or []
        }
        unused = [n for n in names if n not in used]
        if unused:
            print_log(
                f'{len(unused)} of {len(names)} classes have no '
                f'annotation in {self.ann_file} (e.g. {unused[:3]}); '
                "pass classes='annotated' or a class file if the "
                'taxonomy is larger than the label set',
                logger='current',
                level=logging.WARNING)
