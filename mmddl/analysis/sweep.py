"""One dense pass of a DDL wrapper over a test set (a dump of every
element's D-score, base output and GFLOPs) and its offline evaluation at
many operating points with the wrapper's own selection, fusion and metric."""
import json
import os
import os.path as osp
import time
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from mmddl.utils.atomic_write import atomic_write

#: File names written into a sweep folder.
DUMP_FILE = 'sweep_dump.npz'
GROUPS_FILE = 'sweep_groups.json'
#: Written by mmddl before 2026-12; refused when found.
OLD_SAMPLES_FILE = 'sweep_samples.pkl'
SWEEP_FILE = 'sweep.json'
PLOT_FILE = 'accuracy_vs_gflops.png'
#: Method keys of sweep.json, in table order.
METHODS = ('dense', 'top1', 'random', 'uniform', 'ddl_norescale', 'ddl',
           'ddl_prob')
#: Metric keys tried, in order, as a task's main metric.
MAIN_METRICS = ('top1', 'mAP', 'kfold_acc')
#: mmaction's default ``PackActionInputs`` meta keys.
PACK_ACTION_META_KEYS = ('img_shape', 'img_key', 'video_id', 'timestamp')
#: Arrays of ``sweep_dump.npz`` (fields of :class:`SweepDump`), as stored.
DUMP_ARRAYS = dict(
    group_ptr=np.int64,
    scores=np.float32,
    outputs=np.float32,
    gflops_base=np.float64,
    gflops_ddnet=np.float64)
#: Metainfo keys not copied into a group's evaluator meta.
_BULKY = ('img_paths', 'frame_inds', 'ddl_clip_source', 'landmarks', 'bboxes',
          'det_scores', 'media_ids', 'kept_indices', 'img_shape', 'pad_shape',
          'ori_shape')


@dataclass
class SweepDump:
    """Every element's D-score, base output and GFLOPs, group by group.

    Args:
        group_ptr (np.ndarray): (G+1,) int64 offsets of the groups'
            elements.
        scores (np.ndarray): (E,) float32 D-scores.
        outputs (np.ndarray): (E, d) float32 base outputs, as the
            wrapper fuses them (logits for a video recognizer).
        gflops_base (np.ndarray): (E,) float64 GFLOPs of the base on each
            element.
        gflops_ddnet (np.ndarray): (E,) float64 GFLOPs of the DDNet on each
            element.
        groups (dict): Content of ``sweep_groups.json``.
        samples (list, optional): The data samples the evaluator reads,
            one per group (in memory only: a dense pass keeps them, a dump
            read from disk has none).
    """
    group_ptr: np.ndarray
    scores: np.ndarray
    outputs: np.ndarray
    gflops_base: np.ndarray
    gflops_ddnet: np.ndarray
    groups: dict
    samples: Optional[list] = field(default=None, repr=False)

    @property
    def num_groups(self) -> int:
        """Number of groups G."""
        return len(self.group_ptr) - 1

    @property
    def lengths(self) -> np.ndarray:
        """(G,) elements per group."""
        return np.diff(self.group_ptr)

    def check(self, where: str = 'sweep dump') -> None:
        """Raise ``ValueError`` naming the first inconsistent array.

        Args:
            where (str): Name of the dump in the message.
        """
        E = int(self.group_ptr[-1]) if len(self.group_ptr) else -1
        if len(self.group_ptr) < 2 or self.group_ptr[0] != 0 or bool(
            (np.diff(self.group_ptr) < 1).any()):
            raise ValueError(f'{where}: group_ptr must start at 0 and grow '
                             'by >= 1 element per group')
        for name in ('scores', 'outputs', 'gflops_base', 'gflops_ddnet'):
            arr = getattr(self, name)
            if arr.shape[0] != E:
                raise ValueError(f'{where}: {name} has {arr.shape[0]} rows '
                                 f'for {E} elements')
            if not np.isfinite(arr).all():
                raise ValueError(f'{where}: {name} holds NaN or inf')
        if len(self.groups.get('groups', [])) != self.num_groups:
            raise ValueError(f'{where}: {len(self.groups.get("groups", []))}'
                             f' group records for {self.num_groups} groups')


def save_sweep_dump(dump: SweepDump, out_dir: str) -> str:
    """Write ``sweep_dump.npz`` and ``sweep_groups.json`` into ``out_dir``:
    plain arrays and JSON only. The data samples stay in memory (a dump on
    disk is read back as data, never unpickled).

    Args:
        dump (SweepDump): The dump.
        out_dir (str): Folder (created).

    Returns:
        str: The folder.
    """
    dump.check()
    os.makedirs(out_dir, exist_ok=True)
    arrays = {k: getattr(dump, k).astype(t) for k, t in DUMP_ARRAYS.items()}
    atomic_write(
        osp.join(out_dir, DUMP_FILE), lambda f: np.savez(f, **arrays),
        'sweep dump')
    atomic_write(
        osp.join(out_dir, GROUPS_FILE),
        lambda f: json.dump(dump.groups, f, indent=1),
        'sweep dump',
        text=True)
    return out_dir


def load_sweep_dump(dump_dir: str) -> SweepDump:
    """Read a folder written by :func:`save_sweep_dump` (no pickle: the
    arrays with ``allow_pickle=False``, the group records as JSON).

    Args:
        dump_dir (str): The folder.

    Returns:
        SweepDump: The dump (checked), without data samples.

    Raises:
        ValueError: The folder holds an old ``sweep_samples.pkl`` (a pickle
            is code as much as data: it is refused, not read), or an array
            file with pickled objects.
    """
    path = osp.join(dump_dir, DUMP_FILE)
    if not osp.isfile(path):
        raise FileNotFoundError(f'no sweep dump {path}: run '
                                'tools/analysis/ddl_sweep.py first')
    pkl = osp.join(dump_dir, OLD_SAMPLES_FILE)
    if osp.exists(pkl):
        raise ValueError(
            f'{pkl}: a pickle file in a sweep dump folder is refused (mmddl '
            'never unpickles a dump: it could run code). It was written by '
            'an older mmddl and is not needed: delete it, or run '
            'tools/analysis/ddl_sweep.py again.')
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in DUMP_ARRAYS if k not in z]
            if missing:
                raise KeyError(f'{path} lacks the arrays {missing}')
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f'{path}: not a readable sweep dump ({err}); run '
                         'tools/analysis/ddl_sweep.py again') from err
    groups_file = osp.join(dump_dir, GROUPS_FILE)
    try:
        with open(groups_file) as f:
            groups = json.load(f)
    except (OSError, ValueError) as err:
        raise ValueError(f'{groups_file}: not a readable group file ({err})'
                         '; run tools/analysis/ddl_sweep.py again') from err
    dump = SweepDump(**{k: arrays[k] for k in DUMP_ARRAYS}, groups=groups)
    dump.check(path)
    return dump


# ---------------------------------------------------------------- config
def sweep_config(config: str,
                 checkpoint: str,
                 ddnet_checkpoint: Optional[str] = None,
                 options: Optional[dict] = None,
                 work_dir: Optional[str] = None):
    """The config ``tools/test.py config checkpoint --ddnet-checkpoint ...
    --cfg-options ...`` runs, for a DDL wrapper.

    Args:
        config (str): A ``DDLRecognizer`` / ``DDLGroupEncoder`` config file.
        checkpoint (str): The base model's checkpoint.
        ddnet_checkpoint (str, optional): The DDNet's (else the config's).
        options (dict, optional): ``--cfg-options`` overrides.
        work_dir (str, optional): The Runner's work dir.

    Returns:
        mmengine.Config: The merged config.
    """
    from mmengine.config import Config

    from mmddl.utils.tool_configs import DDL_MODELS, merge_test_options
    cfg = Config.fromfile(config)
    work_dir = work_dir or (options or {}).get('work_dir') or cfg.get(
        'work_dir') or osp.join('work_dirs', 'sweep',
                                osp.splitext(osp.basename(config))[0])
    cfg = merge_test_options(
        cfg,
        config,
        checkpoint,
        ddnet_checkpoint=ddnet_checkpoint,
        work_dir=work_dir,
        cfg_options=options)
    if cfg.model.get('type') not in DDL_MODELS:
        raise ValueError(f'{config}: model type {cfg.model.get("type")!r} is '
                         f'not a DDL wrapper {DDL_MODELS}')
    if not cfg.model.get('ddnet_checkpoint'):
        raise ValueError(f'{config}: a sweep needs the DDNet: pass '
                         '--ddnet-checkpoint or set model.ddnet_checkpoint')
    _keep_frame_inds(cfg)
    return cfg


def _keep_frame_inds(cfg) -> None:
    """Carry ``frame_inds`` into a video data sample's metainfo (for the
    group records); predictions do not read it."""
    pipeline = cfg.test_dataloader.dataset.get('pipeline', [])
    for t in pipeline:
        if t.get('type') == 'PackActionInputs':
            keys = tuple(t.get('meta_keys', PACK_ACTION_META_KEYS))
            if 'frame_inds' not in keys:
                t['meta_keys'] = keys + ('frame_inds', 'clip_len')


def config_task(cfg) -> str:
    """``'video'``, ``'face'`` or ``'reid'`` of a DDL wrapper config.

    Args:
        cfg (mmengine.Config): The config.
    """
    if cfg.model.type == 'DDLRecognizer':
        return 'video'
    evaluators = cfg.test_evaluator
    if not isinstance(evaluators, (list, tuple)):
        evaluators = [evaluators]
    types = {e.get('type') for e in evaluators}
    return 'reid' if 'GroupReIDMetric' in types else 'face'


# ---------------------------------------------------------------- pass
def _jsonable(value):
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 16 else None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)) and len(value) <= 16:
        items = [_jsonable(v) for v in value]
        return None if any(
            i is None and v is not None for i, v in zip(items, value)) \
            else items
    return None


def group_record(task: str, sample, num_elements: int, index: int) -> dict:
    """``sweep_groups.json`` entry of one group: its id, its elements and
    the small meta fields of its data sample.

    Args:
        task (str): ``'video'``, ``'face'`` or ``'reid'``.
        sample (BaseDataElement): The group's data sample.
        num_elements (int): Elements of the group.
        index (int): Position of the group in the test set.
    """
    meta = dict(sample.metainfo)
    id_keys = (('filename', 'video_id', 'frame_dir') if task == 'video' else
               ('group_id', 'template_id', 'group_name'))
    gid = next((meta[k] for k in id_keys if k in meta), index)
    if task == 'video':
        inds = meta.get('frame_inds')
        if inds is None:
            raise KeyError(f'video {gid}: no frame_inds in the data sample; '
                           'the test pipeline must end with PackActionInputs')
        inds = np.asarray(inds).reshape(num_elements, -1)
        elements = [dict(frame_inds=r.tolist()) for r in inds]
    else:
        paths = meta.get('img_paths')
        if paths is None:
            raise KeyError(f'group {gid}: the data sample has no img_paths '
                           f'for its {num_elements} images (PackGroupInputs '
                           'meta key img_paths)')
        paths = list(paths)
        kept = meta.get('kept_indices')
        if kept is not None:  # LoadGroupImages(max_images=...) subsampling
            paths = [paths[int(i)] for i in np.asarray(kept).reshape(-1)]
        if len(paths) != num_elements:
            raise ValueError(f'group {gid}: {len(paths)} image paths for '
                             f'its {num_elements} images')
        elements = [str(p) for p in paths]
    rec = dict(id=_jsonable(gid), index=index, elements=elements)
    for key, value in meta.items():
        if key not in _BULKY and key not in rec:
            v = _jsonable(value)
            if v is not None:
                rec[key] = v
    if 'gt_label' in sample:
        rec['gt_label'] = _jsonable(sample.gt_label)
    return rec


def _unwrap(model):
    from mmengine.model import is_model_wrapper
    return model.module if is_model_wrapper(model) else model


def _base_inputs(model, groups: List[torch.Tensor],
                 samples: Optional[list]) -> List[torch.Tensor]:
    """The base's inputs for every element of each group
    (``element_inputs`` when the wrapper has it)."""
    every = [torch.arange(g.shape[0], device=g.device) for g in groups]
    if hasattr(model, 'element_inputs'):
        return list(model.element_inputs(groups, every, samples))
    return [g[s] for g, s in zip(groups, every)]


def dense_pass(runner,
               task: Optional[str] = None,
               config_name: str = '') -> SweepDump:
    """Score, run the base on and measure every element of the test set.

    The DDNet and base forwards are the wrapper's own (``score_elements``
    and ``element_outputs`` over the batch's groups, as ``encode_groups``
    calls them), so the dump equals what the wrapper computes at test time.
    A NaN / inf D-score stops the pass naming the group and the cause (the
    wrapper's ``check_scores``); each group record says whether its
    elements are all identical (``identical_elements``, e.g. a 1-frame
    video), which the replay passes on to the aggregator; the group file's
    ``seconds`` holds the total DDNet and base forward times of the pass.

    Args:
        runner (mmengine.runner.Runner): Built from a :func:`sweep_config`.
        task (str, optional): Defaults to :func:`config_task`.
        config_name (str): Config path recorded in the group file.

    Returns:
        SweepDump: The dump, with the data samples.
    """
    from mmddl.utils.progress import LogProgress
    model = _unwrap(runner.model)
    if getattr(model, 'ddnet', None) is None:
        raise ValueError('the DDL wrapper has no DDNet: a sweep needs the '
                         'D-scores of every element')
    model.eval()
    task = task or config_task(runner.cfg)
    loader = runner.test_dataloader
    ptr, scores, outputs, gb, gd, records, kept = [0], [], [], [], [], [], []
    batch_sizes = []
    seconds = dict(ddnet=0.0, base=0.0)  # DDNet / base forwards, all groups
    progress = LogProgress(len(loader), 'sweep dense pass', 'batches')
    # the dump holds outputs as fused at the paper's feature level; the
    # replay applies a 'prob' fusion itself
    with model.operating_point(
            dict(type='DDLAggregator', mode='dense', fusion_level='feature')):
        with torch.no_grad():
            for b, data in enumerate(loader):
                data = model.data_preprocessor(data, False)
                samples = data['data_samples']
                groups = model.split_groups(data['inputs'], samples)
                if samples is None or len(samples) != len(groups):
                    raise ValueError(
                        f'batch {b}: {len(groups)} groups but '
                        f'{0 if samples is None else len(samples)}'
                        ' data samples')
                t0 = time.perf_counter()
                sc = model.map_groups(model.score_elements, groups)
                seconds['ddnet'] += time.perf_counter() - t0
                model.check_scores(sc, groups,
                                   model.group_names(samples, len(groups)))
                identical = model.identical_groups(groups)
                base_in = _base_inputs(model, groups, samples)
                t0 = time.perf_counter()
                outs = model.map_groups(model.element_outputs, base_in)
                seconds['base'] += time.perf_counter() - t0
                batch_sizes.append(len(groups))
                for g, (grp, x, s, o, smp, same) in enumerate(
                        zip(groups, base_in, sc, outs, samples, identical)):
                    n = grp.shape[0]
                    if s.shape != (n, ) or o.shape[0] != n:
                        raise RuntimeError(
                            f'group {len(records)}: {n} elements but '
                            f'{tuple(s.shape)} scores / {o.shape[0]} outputs')
                    gd.append([
                        float(model.element_gflops('ddnet', grp[i:i + 1]))
                        for i in range(n)
                    ])
                    gb.append([
                        float(model.element_gflops('base', x[i:i + 1]))
                        for i in range(n)
                    ])
                    scores.append(s.detach().float().cpu().numpy())
                    outputs.append(o.detach().float().cpu().numpy())
                    ptr.append(ptr[-1] + n)
                    records.append(group_record(task, smp, n, len(records)))
                    records[-1]['identical_elements'] = bool(same)
                    kept.append(smp.cpu())
                progress.update()
    dump = SweepDump(
        group_ptr=np.asarray(ptr, dtype=np.int64),
        scores=np.concatenate(scores).astype(np.float32),
        outputs=np.concatenate(outputs).astype(np.float32),
        gflops_base=np.concatenate(gb).astype(np.float64),
        gflops_ddnet=np.concatenate(gd).astype(np.float64),
        groups=dict(
            task=task,
            config=config_name,
            model=type(model).__name__,
            batch_sizes=batch_sizes,
            seconds=seconds,
            groups=records),
        samples=kept)
    dump.check()
    return dump


# ---------------------------------------------------------------- replay
class DumpElements:
    """A sweep dump's recorded elements behind a DDL wrapper's element
    interface (the ``source`` of
    :meth:`~mmddl.models.recognizers.base.BaseDDLModel.predict`): groups
    are index tensors into the dump, and each element's D-score, base
    output and GFLOPs are looked up instead of computed.

    Args:
        dump (SweepDump): The dump.
        aggregator (DDLAggregator): The operating point replayed (a
            ``'prob'`` fusion turns the recorded logits into
            probabilities first).
        num_crops (int): Views per element of the wrapper (``'prob'``
            fusion replays 1 only: the dump holds per-clip logits).
    """

    count_flops = True

    def __init__(self, dump: SweepDump, aggregator, num_crops: int = 1):
        self.prob = aggregator.fusion_level == 'prob'
        if self.prob and num_crops != 1:
            raise ValueError('prob fusion averages per-view probabilities '
                             'over crops; the dump holds per-clip logits, so '
                             'it replays num_crops=1 only')
        self.aggregator = aggregator
        self.scores = torch.from_numpy(dump.scores)
        self.logits = torch.from_numpy(dump.outputs)
        self.gflops = dict(
            base=torch.from_numpy(dump.gflops_base),
            ddnet=torch.from_numpy(dump.gflops_ddnet))
        self.identical = np.repeat([
            bool(rec.get('identical_elements', False))
            for rec in dump.groups.get('groups', [])
        ], dump.lengths)

    def split_groups(self, inputs: list, data_samples) -> list:
        """The groups: index tensors (as given)."""
        return list(inputs)

    def inputs_are_elements(self, data_samples) -> bool:
        """Nothing is decoded in a replay."""
        return True

    def element_inputs(self, groups: list, selected: list,
                       data_samples) -> list:
        """The selected elements' indices."""
        return [g[s] for g, s in zip(groups, selected)]

    def identical_groups(self, groups: list) -> List[bool]:
        """Whether each group's elements were identical in the pass."""
        return [bool(self.identical[int(g[0])]) for g in groups]

    def score_elements(self, idx: torch.Tensor) -> torch.Tensor:
        """Recorded D-scores."""
        return self.scores[idx]

    def element_outputs(self, idx: torch.Tensor) -> torch.Tensor:
        """Recorded base outputs (as the operating point fuses them)."""
        logits = self.logits[idx]
        return self.aggregator.class_scores_to_fuse(
            logits) if self.prob else logits

    def element_gflops(self, part: str, idx: torch.Tensor) -> float:
        """Recorded GFLOPs of ``'base'`` or ``'ddnet'`` on one element."""
        return float(self.gflops[part][idx[0]])


def _batches(dump: SweepDump) -> List[Tuple[int, int]]:
    """Group ranges of the dense pass's batches."""
    sizes = dump.groups.get('batch_sizes') or [dump.num_groups]
    if sum(sizes) != dump.num_groups:
        raise ValueError(f'batch sizes sum to {sum(sizes)}, not '
                         f'{dump.num_groups} groups')
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def replay_samples(model, dump: SweepDump, aggregator) -> list:
    """Data samples of the whole test set at one operating point, written
    by the wrapper's ``predict`` on the dump's elements
    (:class:`DumpElements`; batch by batch as in the dense pass) under
    :meth:`~mmddl.models.recognizers.base.BaseDDLModel.operating_point`.

    Args:
        model (BaseDDLModel): The wrapper the dump was made with.
        dump (SweepDump): Its dump, with the data samples.
        aggregator (dict | DDLAggregator): The operating point.

    Returns:
        list: The predicted data samples.
    """
    if dump.samples is None:
        raise ValueError('the dump holds no data samples: operating points '
                         'are replayed in the process of its dense pass '
                         '(dense_run / run_sweep), not from a dump on disk')
    model = _unwrap(model)
    ptr = torch.from_numpy(dump.group_ptr)
    out = []
    with model.operating_point(aggregator) as agg:
        source = DumpElements(dump, agg, getattr(model, 'num_crops', 1))
        for a, b in _batches(dump):
            groups = [
                torch.arange(int(ptr[g]), int(ptr[g + 1]))
                for g in range(a, b)
            ]
            samples = [s.clone() for s in dump.samples[a:b]]
            out += model.predict(groups, samples, source=source)
    return out


def evaluate_samples(evaluator, samples: list) -> Dict[str, float]:
    """The evaluator's metrics on predicted data samples (prefixes
    dropped), plus the mean GFLOPs and elements per group.

    Args:
        evaluator (mmengine.evaluator.Evaluator): The config's test
            evaluator with its ``dataset_meta``.
        samples (list): Predicted data samples (:func:`replay_samples`).
    """
    evaluator.process(data_samples=samples, data_batch=None)
    raw = evaluator.evaluate(len(samples))
    res = {k.split('/', 1)[-1]: float(v) for k, v in raw.items()}
    for key in ('model_time_s', 'decode_time_s'):
        res.pop(key, None)  # replayed: nothing was timed
    for key in ('gflops_base', 'gflops_ddnet'):
        res[key] = float(np.mean([float(s.get(key)) for s in samples]))
    res['gflops_total'] = res['gflops_base'] + res['gflops_ddnet']
    res['base_elements'] = float(
        np.mean([int(s.base_elements) for s in samples]))
    res['ddnet_elements'] = float(
        np.mean([int(s.ddnet_elements) for s in samples]))
    return res


def main_metric(metrics: Dict[str, float]) -> str:
    """The key a sweep plots and a budget maximises: ``top1``, ``mAP``,
    ``kfold_acc``, else the TAR / TPR at the smallest FAR / FPR.

    Args:
        metrics (dict): One operating point's metrics.
    """
    for key in MAIN_METRICS:
        if key in metrics:
            return key
    rates = sorted((float(k.split('=', 1)[1]), k) for k in metrics
                   if '@' in k and not k.endswith('_std'))
    if not rates:
        raise KeyError(f'no main metric among {sorted(metrics)}')
    return rates[0][1]


# ---------------------------------------------------------------- grid
def point_key(topk: Optional[int], threshold: Optional[float]) -> str:
    """``'k=5'``, ``'t=0.15'`` or ``'k=5,t=0.15'``.

    Args:
        topk (int, optional): K.
        threshold (float, optional): t.
    """
    parts = []
    if topk is not None:
        parts.append(f'k={int(topk)}')
    if threshold is not None:
        parts.append(f't={float(threshold):g}')
    return ','.join(parts)


def default_thresholds(scores: np.ndarray, num: int = 9) -> List[float]:
    """Thresholds at the 10 %, ..., 90 % quantiles of the D-scores (3
    significant digits).

    Args:
        scores (np.ndarray): D-scores.
        num (int): How many. Defaults to 9.
    """
    qs = np.quantile(scores, np.linspace(0, 1, num + 2)[1:-1])
    return sorted({float(f'{q:.3g}') for q in qs})


def operating_points(
    topks: Sequence[int],
    thresholds: Sequence[float],
    seed: int = 0,
    prob: bool = True,
    extra: Sequence[Tuple[Optional[int], Optional[float]]] = ()
) -> Dict[str, Dict[str, dict]]:
    """Aggregator settings of every method and operating point.

    Args:
        topks (Sequence[int]): The K grid (random, uniform, DDL).
        thresholds (Sequence[float]): The t grid (DDL).
        seed (int): Seed of ``random``.
        prob (bool): Add DDL with probability fusion (video).
        extra (Sequence[tuple]): More ``(K, t)`` DDL points (e.g. the
            config's own).

    Returns:
        dict: ``{method: {point key: aggregator config}}``.
    """
    agg = dict(type='DDLAggregator')
    points = {
        'dense': {
            'all': dict(agg, mode='dense')
        },
        'top1': {
            'k=1': dict(agg, mode='top1')
        }
    }
    for mode in ('random', 'uniform'):
        points[mode] = {
            point_key(k, None): dict(agg, mode=mode, topk=int(k), seed=seed)
            for k in topks
        }
    settings = [(int(k), None) for k in topks] + [
        (None, float(t)) for t in thresholds
    ] + [(k, t) for k, t in extra if k is not None or t is not None]
    modes = ['ddl_norescale', 'ddl'] + (['ddl_prob'] if prob else [])
    for name in modes:
        mode = 'ddl' if name == 'ddl_prob' else name
        level = 'prob' if name == 'ddl_prob' else 'feature'
        points[name] = {
            point_key(k, t):
            dict(agg, mode=mode, topk=k, threshold=t, fusion_level=level)
            for k, t in settings
        }
    return points


def grid_topks(topks: Sequence[int],
               max_group: int) -> Tuple[List[int], List[int]]:
    """The K grid a sweep runs, and the K it drops: K >= the largest group
    keeps every element of every group (the dense row, with
    ``topk_over_group`` counted on each).

    Args:
        topks (Sequence[int]): The K asked for (each >= 1).
        max_group (int): Elements of the largest group.

    Returns:
        tuple[list[int], list[int]]: Sorted kept and dropped K.
    """
    asked = sorted({int(k) for k in topks})
    if not asked or asked[0] < 1:
        raise ValueError(f'the K grid must hold integers >= 1, got {asked}')
    return ([k for k in asked if k < max_group],
            [k for k in asked if k >= max_group])


def thresholds_outside(thresholds: Sequence[float],
                       scores: np.ndarray) -> Dict[str, List[float]]:
    """The thresholds above every D-score (each group keeps only its best
    element: the top-1 row) and below every one (nothing is filtered).

    Args:
        thresholds (Sequence[float]): The t grid.
        scores (np.ndarray): Every element's D-score.

    Returns:
        dict: ``above_all`` and ``below_all`` lists of thresholds.
    """
    hi, lo = float(np.max(scores)), float(np.min(scores))
    return dict(
        above_all=[float(t) for t in thresholds if t >= hi],
        below_all=[float(t) for t in thresholds if t < lo])


def fallback_points(methods: Dict[str, Dict[str, dict]]) -> Dict[str, dict]:
    """The operating points whose groups took fallbacks, with their counts
    (the rows' non-zero ``fallback_*`` values).

    Args:
        methods (dict): ``{method: {point: metrics}}`` of :func:`run_grid`.

    Returns:
        dict: ``{method: {point: {fallback name: groups}}}``.
    """
    out: Dict[str, Dict[str, dict]] = {}
    for method, points in methods.items():
        for key, row in points.items():
            taken = {
                k[len('fallback_'):]: int(v)
                for k, v in row.items() if k.startswith('fallback_') and v
            }
            if taken:
                out.setdefault(method, {})[key] = taken
    return out


def sweep_notes(sweep: dict) -> str:
    """What the grid dropped or ran on fallbacks, as printed lines (empty
    when nothing was): dropped K, thresholds outside the D-scores, and
    the points whose groups took fallbacks with their counts.

    Args:
        sweep (dict): ``sweep.json`` content.
    """
    lines = []
    if sweep.get('dropped_topks'):
        lines.append(f"dropped K {sweep['dropped_topks']}: >= the largest "
                     f"group ({sweep['max_group_size']} elements), the "
                     'dense row')
    outside = sweep.get('thresholds_outside_scores') or {}
    for side, what in (('above_all', 'above'), ('below_all', 'below')):
        if outside.get(side):
            lines.append(f'thresholds {outside[side]}: {what} every '
                         'D-score of the test set')
    for method, points in (sweep.get('fallback_points') or {}).items():
        for key, taken in points.items():
            lines.append(f'{method} {key}: fallbacks (groups of '
                         f"{sweep['num_groups']}) " +
                         ', '.join(f'{k} {n}' for k, n in taken.items()))
    return '\n'.join(lines)


def run_grid(model, evaluator, dump: SweepDump,
             points: Dict[str, Dict[str, dict]]) -> Dict[str, Dict[str, dict]]:
    """Evaluate every operating point offline.

    Args:
        model (BaseDDLModel): The wrapper the dump was made with.
        evaluator (mmengine.evaluator.Evaluator): Its test evaluator.
        dump (SweepDump): The dump.
        points (dict): From :func:`operating_points`.

    Returns:
        dict: ``{method: {point key: metrics + 'aggregator'}}``.
    """
    from mmddl.utils.progress import LogProgress
    progress = LogProgress(
        sum(len(v) for v in points.values()), 'sweep grid', 'points',
        interval_s=10.0)
    out: Dict[str, Dict[str, dict]] = {}
    for method, settings in points.items():
        out[method] = {}
        for key, agg in settings.items():
            res = evaluate_samples(evaluator, replay_samples(model, dump, agg))
            progress.update()
            res['aggregator'] = {
                k: v
                for k, v in agg.items() if k != 'type' and v is not None
            }
            out[method][key] = res
    return out


def no_out_files(evaluator) -> None:
    """Stop the evaluator's metrics from writing per-group files (a
    sweep evaluates many points).

    Args:
        evaluator (mmengine.evaluator.Evaluator): The evaluator.
    """
    for metric in evaluator.metrics:
        if getattr(metric, 'out_file', None) is not None:
            metric.out_file = None


def _config_points(cfg) -> List[Tuple[Optional[int], Optional[float]]]:
    """The config's own DDL setting, if its aggregator is in a DDL mode."""
    agg = cfg.model.get('aggregator', {})
    if not str(agg.get('mode', 'ddl')).startswith('ddl'):
        return []
    return [(agg.get('topk'), agg.get('threshold'))]


def run_sweep(config: str,
              checkpoint: str,
              out_dir: str,
              ddnet_checkpoint: Optional[str] = None,
              options: Optional[dict] = None,
              topks: Sequence[int] = (1, 2, 3, 5, 10),
              thresholds: Optional[Sequence[float]] = None,
              metric: Optional[str] = None) -> 'SweepRun':
    """Dense pass over a DDL config's test set, then every operating point
    offline; writes the dump and ``sweep.json`` into ``out_dir``.

    Args:
        config (str): A ``DDLRecognizer`` / ``DDLGroupEncoder`` config.
        checkpoint (str): The base model's checkpoint.
        out_dir (str): Output folder of the dump and ``sweep.json`` (also
            the Runner's work dir).
        ddnet_checkpoint (str, optional): The DDNet's checkpoint.
        options (dict, optional): ``--cfg-options`` overrides.
        topks (Sequence[int]): The K grid (each >= 1); values >= the
            largest group are dropped (they equal dense): logged, and
            listed in ``dropped_topks``.
        thresholds (Sequence[float], optional): The t grid; None: the
            D-score deciles of this test set (:func:`default_thresholds`).
            Thresholds above / below every D-score are logged and listed in
            ``thresholds_outside_scores``.
        metric (str, optional): The metric to plot and to maximise under a
            budget (a key of the evaluator's results without prefix);
            None: :func:`main_metric`.

    Returns:
        SweepRun: ``result`` is the content of ``sweep.json`` (``methods``:
        ``{method: {point: metrics}}`` with each row's fallback counts,
        ``main_metric``, ``thresholds``, ``topks``, ``dropped_topks``,
        ``thresholds_outside_scores``, ``fallback_points``: ``{method:
        {point: {fallback: groups}}}``, also logged once).
    """
    from mmengine.logging import MMLogger
    grid_topks(topks, 1)  # a K < 1 fails before the dense pass
    run = dense_run(config, checkpoint, out_dir, ddnet_checkpoint, options)
    cfg, model, evaluator, dump = run.cfg, run.model, run.evaluator, run.dump
    logger = MMLogger.get_current_instance()
    max_n = int(dump.lengths.max())
    topks, dropped = grid_topks(topks, max_n)
    if dropped:
        logger.warning(
            f'sweep: {len(dropped)} K values dropped from the grid, '
            f'{dropped}: K >= the largest group ({max_n} elements) keeps '
            'every element of every group, which is the dense row')
    if thresholds is None:
        thresholds = default_thresholds(dump.scores)
    outside = thresholds_outside(thresholds, dump.scores)
    for side, what in (('above_all', 'above every D-score: each group '
                        'keeps only its best element (the top-1 row)'),
                       ('below_all', 'below every D-score: they filter '
                        'nothing')):
        if outside[side]:
            logger.warning(f'sweep: {len(outside[side])} thresholds '
                           f'{outside[side]} are {what}; their rows count '
                           f'this in fallback_threshold_{side}')
    points = operating_points(
        topks,
        thresholds,
        seed=int(cfg.model.get('aggregator', {}).get('seed', 0)),
        prob=dump.groups['task'] == 'video'
        and getattr(model, 'num_crops', 1) == 1,
        extra=_config_points(cfg))
    methods = run_grid(model, evaluator, dump, points)
    if metric is not None and metric not in methods['dense']['all']:
        raise KeyError(f'metric {metric!r} is not among the evaluator\'s '
                       f'results {sorted(methods["dense"]["all"])}')
    metric = metric or main_metric(methods['dense']['all'])
    fallbacks = fallback_points(methods)
    if fallbacks:
        logger.warning('sweep: operating points whose groups took fallbacks '
                       f'(of {dump.num_groups} groups): ' +
                       '; '.join(f'{m} {k}: {c}'
                                 for m, pts in fallbacks.items()
                                 for k, c in pts.items()))
    result = dict(
        task=dump.groups['task'],
        config=config,
        checkpoint=checkpoint,
        ddnet_checkpoint=cfg.model.ddnet_checkpoint,
        num_groups=dump.num_groups,
        num_elements=int(dump.group_ptr[-1]),
        max_group_size=max_n,
        topks=topks,
        thresholds=[float(t) for t in thresholds],
        dropped_topks=dropped,
        thresholds_outside_scores=outside,
        fallback_points=fallbacks,
        main_metric=metric,
        methods=methods)
    atomic_write(
        osp.join(out_dir, SWEEP_FILE),
        lambda f: json.dump(result, f, indent=1),
        'sweep results',
        text=True)
    run.result = result
    return run


def dense_run(config: str,
              checkpoint: str,
              out_dir: str,
              ddnet_checkpoint: Optional[str] = None,
              options: Optional[dict] = None) -> 'SweepRun':
    """The dense pass of a DDL config's test set, saved in ``out_dir``,
    ready to evaluate operating points offline (:class:`SweepRun`).

    Args:
        config (str): A ``DDLRecognizer`` / ``DDLGroupEncoder`` config.
        checkpoint (str): The base model's checkpoint.
        out_dir (str): Output folder of the dump (also the Runner's work
            dir).
        ddnet_checkpoint (str, optional): The DDNet's checkpoint.
        options (dict, optional): ``--cfg-options`` overrides.

    Returns:
        SweepRun: With an empty ``result``.
    """
    from mmengine.runner import Runner

    import mmddl  # noqa: F401  (registration, compatibility fixes)
    cfg = sweep_config(config, checkpoint, ddnet_checkpoint, options, out_dir)
    runner = Runner.from_cfg(cfg)
    dump = dense_pass(runner, config_name=config)
    save_sweep_dump(dump, out_dir)
    evaluator = runner.test_loop.evaluator
    no_out_files(evaluator)
    return SweepRun({}, _unwrap(runner.model), evaluator, dump, cfg)


@dataclass
class SweepRun:
    """A finished dense pass (or sweep) and what evaluates more points of
    it in this process.

    Args:
        result (dict): Content of ``sweep.json`` (empty after
            :func:`dense_run` alone).
        model (BaseDDLModel): The wrapper of the dense pass.
        evaluator (mmengine.evaluator.Evaluator): Its test evaluator.
        dump (SweepDump): The dump.
        cfg (mmengine.Config, optional): The config the pass ran.
    """
    result: dict
    model: object = field(repr=False)
    evaluator: object = field(repr=False)
    dump: SweepDump = field(repr=False)
    cfg: object = field(default=None, repr=False)

    def samples(self, aggregator: dict) -> list:
        """Predicted data samples of one operating point (with
        ``ddl_selected`` and the other fields the wrapper writes).

        Args:
            aggregator (dict): Aggregator settings (``mode``, ``topk``...).
        """
        return replay_samples(self.model, self.dump,
                              dict(type='DDLAggregator', **aggregator))

    def evaluate(self,
                 aggregator: dict,
                 scores: Optional[np.ndarray] = None) -> Dict[str, float]:
        """Metrics of one more operating point.

        Args:
            aggregator (dict): Aggregator settings (``mode``, ``topk``...).
            scores (np.ndarray, optional): (E,) finite scores, in the dump's
                order, that replace its D-scores (an oracle's, another
                DDNet's); None keeps the dump's.
        """
        dump = self.dump
        if scores is not None:
            scores = np.asarray(scores, np.float32)
            if scores.shape != dump.scores.shape:
                raise ValueError(f'{scores.shape} scores for the dump\'s '
                                 f'{dump.scores.shape[0]} elements')
            if not np.isfinite(scores).all():
                raise ValueError('non-finite scores to replay')
            dump = replace(dump, scores=scores)
        res = evaluate_samples(
            self.evaluator,
            replay_samples(self.model, dump,
                           dict(type='DDLAggregator', **aggregator)))
        res['aggregator'] = dict(aggregator)
        return res
