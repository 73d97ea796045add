"""ActivityNet-1.2 untrimmed videos as a video-level classification dataset."""
import json
import logging
import os.path as osp
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from mmaction.datasets import BaseActionDataset
from mmaction.registry import DATASETS
from mmengine.fileio import exists, get_text, list_from_file
from mmengine.logging import print_log

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
        raise ValueError(f'{len(unknown)} annotation labels are not in the '
                         f'class list, e.g. {unknown[:5]}')
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
        data = json.loads(get_text(self.ann_file))
        if not isinstance(data, dict) or 'database' not in data:
            raise ValueError(f'{self.ann_file} has no "database" field: not '
                             'an ActivityNet annotation file')
        names = resolve_classes(data, self.class_spec)
        self._metainfo['classes'] = tuple(names)
        records, stats = parse_activitynet(data, self.subsets, names)
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
