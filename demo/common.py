"""Shared steps of the demos: the real tools' flows, cached stages, tables.

The stage cache and the step-by-step flows are described in docs/demos.md.
"""
import contextlib
import functools
import json
import os
import os.path as osp
import shutil
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmddl.utils.atomic_write import atomic_write
from mmddl.utils.content_hash import (  # noqa: F401 (file_sha256: demo API)
    file_sha256, tree_sha256)

#: Aggregator settings of the compared methods (paper's baselines + DDL).
METHODS: Dict[str, dict] = {
    'average': dict(mode='dense', threshold=None),
    'top1': dict(mode='top1', threshold=None),
    'ddl_norescale': dict(mode='ddl_norescale', threshold=0.15),
    'ddl': dict(mode='ddl', threshold=0.15),
}
#: Row names of the printed tables.
METHOD_NAMES = {
    'average': 'Average pooling (all elements)',
    'top1': 'Top-1 by D-score',
    'ddl_norescale': 'DDL w/o re-scaling (t=0.15)',
    'ddl': 'DDL (t=0.15)',
    'ddl_val': 'DDL (validation-chosen t or K, variant)',
}
#: Operating points tried on the validation set: D-score thresholds t of
#: Eq. 7 and top-K selections, with and without re-scaling (Eq. 9-11).
VAL_THRESHOLDS = (0.15, 0.3, 0.4, 0.5, 0.6, 0.7)
VAL_TOPKS = (2, 3, 4)
VAL_MODES = ('ddl', 'ddl_norescale')
#: Per-element ground truth of a generated set: ``{image name: [identity,
#: degraded (0/1), severity]}``, in the set's folder.
ELEMENT_META = 'element_meta.json'

#: the demo work dirs this process holds (path -> WorkDirLock)
_HELD_WORK_DIRS: Dict[str, object] = {}
LOCK_FILE = 'demo.lock'


def hold_work_dir(work_dir: str) -> str:
    """Create ``work_dir`` and hold it for this process, so that a second
    demo run in the same folder stops at once instead of overwriting the
    first one's stages (:class:`mmddl.engine.WorkDirLock` on
    ``<work_dir>/demo.lock``, released when the process exits; a killed
    run's lock is taken over with a log line).

    Args:
        work_dir (str): The demo's work dir.

    Returns:
        str: The lock file.

    Raises:
        mmddl.engine.lock.LockHeldError: Another live run holds the folder
            (its pid, host, start time and command are named).
    """
    import atexit

    from mmddl.engine import WorkDirLock
    work = osp.abspath(work_dir)
    if work not in _HELD_WORK_DIRS:  # taking it again here: a no-op
        lock = WorkDirLock(
            osp.join(work, LOCK_FILE),
            what=f'demo work dir {work}',
            advice='pass another --work-dir')
        lock.acquire()
        atexit.register(lock.release)
        _HELD_WORK_DIRS[work] = lock
    return _HELD_WORK_DIRS[work].path


def add_run_args(p) -> None:
    """Options shared by the face and re-ID demos (epochs, methods, logs).

    Args:
        p (argparse.ArgumentParser): The demo's parser.
    """
    p.add_argument(
        '--base-epochs',
        type=int,
        default=None,
        help='override the base config epochs')
    p.add_argument(
        '--ddnet-epochs',
        type=int,
        default=None,
        help='override the DDNet config epochs')
    p.add_argument(
        '--methods', nargs='+', default=list(METHODS), choices=list(METHODS))
    p.add_argument(
        '--val-thresholds',
        type=float,
        nargs='+',
        default=list(VAL_THRESHOLDS),
        help='D-score thresholds tried on the validation set')
    p.add_argument(
        '--val-topks',
        type=int,
        nargs='*',
        default=list(VAL_TOPKS),
        help='top-K selections tried on the validation set (none: '
        'thresholds only)')
    p.add_argument(
        '--val-modes',
        nargs='+',
        default=list(VAL_MODES),
        choices=list(VAL_MODES),
        help='DDL variants tried on the validation set')
    p.add_argument(
        '--test-log-level',
        default='WARNING',
        help='log level of the evaluation runs (the tables are '
        'printed at the end)')
    add_repro_args(p)


def add_repro_args(p) -> None:
    """``--threads`` and ``--force``, shared by every demo.

    Args:
        p (argparse.ArgumentParser): The demo's parser.
    """
    p.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch threads of the main process: float sums '
        'depend on it, so a fixed count keeps runs identical')
    p.add_argument(
        '--force',
        action='store_true',
        help='regenerate the data and retrain even when the '
        'stage records say the outputs are valid')


def repo_root() -> str:
    """The source tree holding ``demo/``, ``configs/`` and ``tools/``.

    Raises:
        FileNotFoundError: When the tree lacks ``configs/`` or ``tools/``.
    """
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    for sub in ('configs', 'tools'):
        if not osp.isdir(osp.join(root, sub)):
            raise FileNotFoundError(
                f'{osp.join(root, sub)} not found: the demos run from the '
                'mmddl source tree.')
    return root


def train_config(config: str,
                 work_dir: str,
                 options: Optional[Dict[str, object]] = None):
    """The config ``tools/train.py config --work-dir ... --cfg-options``
    would train (:func:`mmddl.utils.tool_configs.train_config`).

    Args:
        config (str): Config file (relative to the source tree or absolute).
        work_dir (str): Output folder.
        options (dict, optional): ``--cfg-options`` overrides.

    Returns:
        mmengine.Config: The merged config.
    """
    from mmddl.utils.tool_configs import train_config as merged_train_config
    return merged_train_config(
        _config_path(config), work_dir=work_dir, cfg_options=options)


def run_train(config: str,
              work_dir: str,
              options: Optional[Dict[str, object]] = None) -> str:
    """Train with ``tools/train.py``'s flow; return the last checkpoint.

    Args:
        config (str): Config file (relative to the source tree or absolute).
        work_dir (str): Output folder.
        options (dict, optional): ``--cfg-options`` overrides.

    Returns:
        str: Path of the checkpoint written last.
    """
    from mmengine.runner import Runner
    Runner.from_cfg(train_config(config, work_dir, options)).train()
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    if not osp.isfile(ckpt):
        raise FileNotFoundError(f'training wrote no checkpoint: {ckpt}')
    return ckpt


#: Record of a demo stage's inputs and output, in the stage's folder.
STAGE_FILE = 'demo_stage.json'


@functools.lru_cache(maxsize=None)
def code_digest(subpackage: str = '') -> str:
    """SHA-256 of the sources of ``mmddl`` (or one of its subpackages):
    :func:`mmddl.utils.content_hash.tree_sha256` of its ``.py`` files.

    Args:
        subpackage (str): e.g. ``'testing'``; empty for the whole package.

    Returns:
        str: The hex digest over every ``.py`` file's path and bytes.
    """
    import mmddl
    top = osp.join(osp.dirname(osp.abspath(mmddl.__file__)), subpackage)
    return tree_sha256(top, '.py')


def _jsonable(obj):
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def reusable_stage(name: str,
                   stage_dir: str,
                   inputs: Dict[str, object],
                   force: bool = False) -> Optional[dict]:
    """The record of an earlier run of a stage if its output may be reused.

    A stage is reused when its folder holds a record (``demo_stage.json``)
    of the same inputs and the recorded output file is unchanged (SHA-256).
    Otherwise the reason is printed and None returned: the caller
    recomputes, and writes a new record with :func:`record_stage`.

    Args:
        name (str): Stage name for the log lines.
        stage_dir (str): The stage's output folder.
        inputs (dict): JSON-able values the output depends on.
        force (bool): Never reuse (``--force``).

    Returns:
        dict | None: The record (``inputs``, ``output``, ``sha256``,
        ``extra``) or None.
    """
    path = osp.join(stage_dir, STAGE_FILE)
    record, why = None, None
    if force:
        why = '--force'
    elif not osp.isfile(path):
        why = f'no record of an earlier run ({path})'
    else:
        try:
            with open(path) as f:
                record = json.load(f)
            old = record['inputs']
        except (OSError, ValueError, KeyError, TypeError) as e:
            why = f'unreadable record {path} ({type(e).__name__}: {e})'
    if why is None:
        new = _jsonable(inputs)
        changed = sorted(
            k for k in set(old) | set(new) if old.get(k) != new.get(k))
        output = record.get('output')
        if changed:
            why = 'inputs changed: ' + ', '.join(changed)
        elif output and not osp.isfile(output):
            why = f'its output {output} is missing'
        elif output and file_sha256(output) != record.get('sha256'):
            why = f'its output {output} was modified after it was written'
    if why is not None:
        print(f'[demo] {name}: recomputing ({why})', flush=True)
        if osp.isfile(path):
            os.remove(path)  # an interrupted recompute leaves no record
        return None
    print(
        f"[demo] {name}: reusing {record.get('output') or stage_dir} "
        '(same inputs, output unchanged)',
        flush=True)
    return record


def record_stage(stage_dir: str,
                 inputs: Dict[str, object],
                 output: Optional[str] = None,
                 extra: Optional[dict] = None) -> dict:
    """Write the record that :func:`reusable_stage` checks.

    Args:
        stage_dir (str): The stage's output folder.
        inputs (dict): The inputs the output was made from.
        output (str, optional): The output file (its SHA-256 is recorded).
        extra (dict, optional): Anything to hand back on reuse.

    Returns:
        dict: The record.
    """
    record = dict(
        inputs=_jsonable(inputs),
        output=output,
        sha256=file_sha256(output) if output else None,
        extra=_jsonable(extra or {}))
    write_results(osp.join(stage_dir, STAGE_FILE), record)
    return record


def data_stage(name: str,
               data_dir: str,
               params: Dict[str, object],
               make: Callable[[], dict],
               force: bool = False) -> dict:
    """Generate a demo's data unless ``data_dir`` holds the same data.

    Args:
        name (str): Stage name for the log lines.
        data_dir (str): Folder of the data (emptied before a regeneration).
        params (dict): Generator settings (with the seed).
        make (Callable): Writes the data; returns its summary.
        force (bool): Regenerate anyway.

    Returns:
        dict: The summary of the data.
    """
    inputs = dict(params=params, generators=code_digest('testing'))
    record = reusable_stage(name, data_dir, inputs, force)
    if record is not None:
        return record['extra']
    if osp.isdir(data_dir):
        print(f'[demo] {name}: removing the stale data in {data_dir}')
        shutil.rmtree(data_dir)
    os.makedirs(data_dir)
    summary = make()
    record_stage(data_dir, inputs, extra=summary)
    return summary


def ddnet_hook_options(base_config: str,
                       base_checkpoint: str) -> Dict[str, object]:
    """``--cfg-options`` pointing a demo DDNet config's hook at the base.

    A score table left by an earlier run with another base or other data
    is recomputed, with a log line saying what changed
    (``table.on_stale='recompute'``); a matching one is reused.

    Args:
        base_config (str): The base model's config file.
        base_checkpoint (str): The base model's checkpoint.
    """
    return {
        'custom_hooks.0.base.config': base_config,
        'custom_hooks.0.base.checkpoint': base_checkpoint,
        'custom_hooks.0.table.on_stale': 'recompute'
    }


def train_stage(name: str,
                config: str,
                work_dir: str,
                options: Optional[Dict[str, object]] = None,
                inputs: Optional[Dict[str, object]] = None,
                force: bool = False) -> str:
    """:func:`run_train` unless ``work_dir`` holds the checkpoint of a run
    with the same config, code and inputs.

    Args:
        name (str): Stage name for the log lines.
        config (str): Config file.
        work_dir (str): Output folder.
        options (dict, optional): ``--cfg-options`` overrides.
        inputs (dict, optional): Other inputs, e.g. the data summary or a
            checkpoint's SHA-256.
        force (bool): Retrain anyway.

    Returns:
        str: The checkpoint.
    """
    key = dict(
        config=train_config(config, work_dir, options).pretty_text,
        code=code_digest(),
        **(inputs or {}))
    record = reusable_stage(name, work_dir, key, force)
    if record is not None:
        return record['output']
    ckpt = run_train(config, work_dir, options)
    record_stage(work_dir, key, output=ckpt)
    return ckpt


def run_test(config: str,
             checkpoint: str,
             work_dir: str,
             ddnet_checkpoint: Optional[str] = None,
             options: Optional[Dict[str, object]] = None,
             dump: Optional[str] = None) -> Dict[str, float]:
    """Evaluate with ``tools/test.py``'s argument handling.

    Args:
        config (str): A ``DDLRecognizer`` / ``DDLGroupEncoder`` config.
        checkpoint (str): The base model's checkpoint (positional argument).
        work_dir (str): Output folder.
        ddnet_checkpoint (str, optional): ``--ddnet-checkpoint``.
        options (dict, optional): ``--cfg-options`` overrides.
        dump (str, optional): ``--dump`` pickle of the predictions.

    Returns:
        dict: The metrics of ``runner.test()``.
    """
    from mmengine.runner import Runner
    cfg = merged_test_config(config, checkpoint, work_dir, ddnet_checkpoint,
                             options, dump)
    return dict(Runner.from_cfg(cfg).test())


def merged_test_config(config: str,
                       checkpoint: str,
                       work_dir: str,
                       ddnet_checkpoint: Optional[str] = None,
                       options: Optional[Dict[str, object]] = None,
                       dump: Optional[str] = None):
    """The config ``tools/test.py`` runs for these arguments
    (:func:`mmddl.utils.tool_configs.test_config`).

    Args:
        config (str): Config file (relative to the source tree or absolute).
        checkpoint (str): The (base) model's checkpoint.
        work_dir (str): ``--work-dir``.
        ddnet_checkpoint (str, optional): ``--ddnet-checkpoint``.
        options (dict, optional): ``--cfg-options`` overrides.
        dump (str, optional): ``--dump`` pickle of the predictions.

    Returns:
        mmengine.Config: The merged config.
    """
    from mmddl.utils.tool_configs import test_config
    return test_config(
        _config_path(config),
        checkpoint,
        ddnet_checkpoint=ddnet_checkpoint,
        work_dir=work_dir,
        cfg_options=options,
        dump=dump)


def _config_path(config: str) -> str:
    if osp.isabs(config) or osp.isfile(config):
        return config
    return osp.join(repo_root(), config)


def method_options(method: str,
                   settings: Optional[Dict[str,
                                           dict]] = None) -> Dict[str, object]:
    """``--cfg-options`` selecting one compared method's aggregator.

    Args:
        method (str): A key of :data:`METHODS` or of ``settings``.
        settings (dict, optional): More methods, ``{name: aggregator
            settings}`` (e.g. the validation-chosen operating point).
    """
    table = dict(METHODS, **(settings or {}))
    if method not in table:
        raise ValueError(f'unknown method {method!r}; choose from '
                         f'{list(table)}')
    return {f'model.aggregator.{k}': v for k, v in table[method].items()}


def epoch_options(epochs: Optional[int]) -> Dict[str, object]:
    """``--cfg-options`` changing a demo config's number of epochs.

    The demo configs save one checkpoint at the end and schedule the learning
    rate with ``param_scheduler = [warm-up (iterations), cosine (epochs)]``;
    the cosine's ``T_max`` / ``end`` follow the new epoch count.

    Args:
        epochs (int, optional): The new count; None changes nothing.
    """
    if epochs is None:
        return {}
    if epochs < 1:
        raise ValueError(f'epochs must be >= 1, got {epochs}')
    return {
        'train_cfg.max_epochs': epochs,
        'default_hooks.checkpoint.interval': epochs,
        'param_scheduler.1.T_max': epochs,
        'param_scheduler.1.end': epochs
    }


def format_table(title: str,
                 columns: Sequence[Tuple[str, str]],
                 rows: Dict[str, Dict[str, float]],
                 percent: Sequence[str] = ()) -> str:
    """A plain-text table: one row per method, ``columns`` = (key, header).

    Args:
        title (str): Printed above the table.
        columns (Sequence[tuple]): Metric keys and their headers.
        rows (dict): ``{method: {metric key: value}}``.
        percent (Sequence[str]): Keys printed as percentages.

    Returns:
        str: The table as text.
    """
    name_w = max(len(METHOD_NAMES.get(m, m)) for m in rows)
    widths = [max(len(h), 8) for _, h in columns]
    lines = [title, '-' * (name_w + sum(w + 3 for w in widths))]
    lines.append('Method'.ljust(name_w) +
                 ''.join(' | ' + h.rjust(w)
                         for (_, h), w in zip(columns, widths)))
    lines.append(lines[1])
    for method, metrics in rows.items():
        cells = []
        for (key, _), w in zip(columns, widths):
            value = metrics.get(key, float('nan'))
            text = (f'{100 * value:.2f}' if key in percent else f'{value:.2f}')
            cells.append(' | ' + text.rjust(w))
        lines.append(
            METHOD_NAMES.get(method, method).ljust(name_w) + ''.join(cells))
    lines.append(lines[1])
    return '\n'.join(lines)


def strip_prefix(metrics: Dict[str, float]) -> Dict[str, float]:
    """``'group_verif/tar@far=0.01'`` -> ``'tar@far=0.01'``.

    Args:
        metrics (dict): Metrics with evaluator prefixes.
    """
    return {k.split('/', 1)[-1]: float(v) for k, v in metrics.items()}


def evaluate_methods(
    configs: Dict[str, str],
    base_ckpt: str,
    ddnet_ckpt: str,
    work_dir: str,
    options: Dict[str, Dict[str, object]],
    methods: Sequence[str],
    dump_method: str = 'ddl',
    settings: Optional[Dict[str, dict]] = None
) -> Tuple[Dict[str, Dict[str, Dict[str, float]]], Dict[str, str]]:
    """Run ``tools/test.py``'s flow for every data set and method.

    Args:
        configs (dict): ``{data set: DDLGroupEncoder config}``.
        base_ckpt (str): Base model checkpoint.
        ddnet_ckpt (str): DDNet checkpoint.
        work_dir (str): Runs go to ``<work_dir>/<data set>/<method>``.
        options (dict): ``{data set: --cfg-options}`` (data root, sizes).
        methods (Sequence[str]): Keys of :data:`METHODS` or ``settings``.
        dump_method (str): Method whose predictions are dumped
            (``predictions.pkl``, for the Fig. 3 picture).
        settings (dict, optional): Aggregator settings of methods that are
            not in :data:`METHODS`, ``{name: dict(mode=..., threshold=...)}``.

    Returns:
        tuple: ``(metrics {data set: {method: {metric: value}}}, dumps
        {data set: pickle path})``.
    """
    metrics: Dict[str, Dict[str, Dict[str, float]]] = {}
    dumps: Dict[str, str] = {}
    for name, config in configs.items():
        metrics[name] = {}
        for method in methods:
            out = osp.join(work_dir, name, method.replace('=', ''))
            dump = (
                osp.join(out, 'predictions.pkl')
                if method == dump_method else None)
            raw = run_test(
                config,
                base_ckpt,
                out,
                ddnet_ckpt, {
                    **options.get(name, {}),
                    **method_options(method, settings)
                },
                dump=dump)
            metrics[name][method] = strip_prefix(raw)
            if dump:
                dumps[name] = dump
    return metrics, dumps


def build_results(task: str, metrics: Dict[str, Dict[str, Dict[str, float]]],
                  data: dict, settings: dict, target: Tuple[str, str]) -> dict:
    """The results.json content.

    Holds ``metrics`` ({data set: {method: {metric: value}}}), the flat
    ``entries`` list (one per data set, method and metric),
    ``base_images_per_group`` ({data set: {method: images}}), the generated
    ``data``, the ``settings`` and the ``target`` check.

    Args:
        task (str): ``'face'`` or ``'reid'``.
        metrics (dict): ``{data set: {method: {metric: value}}}``.
        data (dict): Summary of the generated data.
        settings (dict): The demo's options.
        target (tuple): ``(data set, metric)`` of :func:`target_check`.
    """
    entries: List[dict] = []
    base_images: Dict[str, Dict[str, float]] = {}
    for dataset, per_method in metrics.items():
        base_images[dataset] = {}
        for method, values in per_method.items():
            base_images[dataset][method] = values.get('base_images')
            for metric, value in values.items():
                entries.append(
                    dict(
                        dataset=dataset,
                        method=method,
                        metric=metric,
                        value=value))
    return dict(
        task=task,
        data=data,
        metrics=metrics,
        entries=entries,
        base_images_per_group=base_images,
        target=target_check(metrics, target),
        settings=settings)


def target_check(metrics: Dict[str, Dict[str, Dict[str, float]]],
                 target: Tuple[str, str]) -> dict:
    """Whether DDL beats average pooling on ``target`` = (data set,
    metric), and how many images top-1 ran the base on per group.

    Args:
        metrics (dict): ``{data set: {method: {metric: value}}}``.
        target (tuple): ``(data set, metric)``.
    """
    dataset, metric = target
    per = metrics.get(dataset, {})
    out: Dict[str, object] = dict(dataset=dataset, metric=metric)
    if 'ddl' in per and 'average' in per:
        out.update(
            ddl=per['ddl'].get(metric), average=per['average'].get(metric))
        out['ddl_above_average'] = bool(out['ddl'] > out['average'])
    if 'top1' in per:
        out['top1_base_images_per_group'] = per['top1'].get('base_images')
    return out


def target_line(target: dict) -> str:
    """One line on the demo's target (empty if not measured).

    Args:
        target (dict): The result of :func:`target_check`.
    """
    if 'ddl_above_average' not in target:
        return ''
    verdict = 'above' if target['ddl_above_average'] else 'NOT above'
    line = (f"target: DDL {target['metric']} on {target['dataset']} = "
            f"{target['ddl']:.4f} is {verdict} average pooling "
            f"({target['average']:.4f})")
    if target.get('top1_base_images_per_group') is not None:
        line += (f"; top-1 ran the base on "
                 f"{target['top1_base_images_per_group']:g} image(s) per "
                 'group')
    return line


def write_results(path: str, results: Dict[str, object]) -> str:
    """Write the demo's results JSON (atomically).

    Args:
        path (str): The JSON file.
        results (dict): JSON-able results (numpy values are converted).
    """
    return atomic_write(
        path,
        lambda f: json.dump(
            results, f, indent=2, sort_keys=True, default=_json_default),
        'results',
        text=True)


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f'{type(obj).__name__} is not JSON serialisable')


def operating_points(
    thresholds: Sequence[float] = VAL_THRESHOLDS,
    modes: Sequence[str] = VAL_MODES,
    topks: Sequence[int] = ()
) -> Dict[str, dict]:
    """Candidate operating points ``{'<mode>@t=<t>' or '<mode>@k=<K>':
    aggregator settings}``.

    Args:
        thresholds (Sequence[float]): D-score thresholds (Eq. 7).
        modes (Sequence[str]): DDL fusion variants (``ddl``,
            ``ddl_norescale``).
        topks (Sequence[int]): Top-K selections (the paper's alternative
            to a threshold).
    """
    bad = [k for k in topks if int(k) < 1]
    if bad:
        raise ValueError(f'top-K candidates must be >= 1, got {bad}')
    points = {
        f'{m}@t={t:g}': dict(mode=m, threshold=float(t))
        for m in modes
        for t in thresholds
    }
    points.update({
        f'{m}@k={int(k)}': dict(mode=m, threshold=None, topk=int(k))
        for m in modes
        for k in topks
    })
    return points


def choose_operating_point(val: Dict[str, Dict[str, float]],
                           candidates: Dict[str, dict],
                           keys: Sequence[str],
                           reference: str = 'average') -> dict:
    """The validation-chosen operating point: the reference rule of
    :func:`mmddl.analysis.budget.select_point` with the cost
    ``base_images``.

    Among the candidates whose validation ``keys`` are all at least the
    ``reference`` method's, the one running the base on the fewest images
    per group (ties: the larger sum of ``keys``); if none qualifies, the
    one with the largest sum of ``keys`` (ties: fewer base images).

    Args:
        val (dict): Validation metrics ``{method: {metric: value}}`` of the
            candidates and the reference.
        candidates (dict): ``{name: aggregator settings}``.
        keys (Sequence[str]): Metrics that must not drop below the
            reference's.
        reference (str): The method to match (average pooling).

    Returns:
        dict: ``name``, ``settings``, ``qualified`` (met the reference),
        ``base_images`` and the validation ``metrics`` of the choice.
    """
    from mmddl.analysis.budget import select_point
    missing = [n for n in list(candidates) + [reference] if n not in val]
    if missing:
        raise KeyError(f'no validation metrics for {missing}')
    points = {n: val[n] for n in candidates}
    name, qualified = select_point(
        points, keys, 'base_images', reference=val[reference])
    return dict(
        name=name,
        settings=dict(candidates[name]),
        qualified=qualified,
        rule=('fewest base images per group with ' + ', '.join(keys) +
              f' >= {reference} on validation (else the best sum of them)'),
        base_images=val[name]['base_images'],
        metrics=dict(val[name]))


def write_element_meta(path: str, rows: Dict[str, list]) -> str:
    """Write a generated set's per-element ground truth (:data:`ELEMENT_META`).

    Args:
        path (str): The JSON file.
        rows (dict): ``{image name: [identity, degraded (0/1), severity]}``.
    """
    return write_results(path, rows)


def element_pass(config: str, base_ckpt: str, ddnet_ckpt: str, work_dir: str,
                 options: Dict[str, object]):
    """The sweep's dense pass over a face / re-ID group set (the wrapper's
    own forwards, as ``tools/test.py`` computes them), with each element's
    file name, base feature and D-score.

    Args:
        config (str): A ``DDLGroupEncoder`` config (relative to the source
            tree or absolute).
        base_ckpt (str): Base model checkpoint.
        ddnet_ckpt (str): DDNet checkpoint.
        work_dir (str): Work dir of the pass (the dump is saved there).
        options (dict): ``--cfg-options`` (data root, sizes).

    Returns:
        tuple: The :class:`~mmddl.analysis.sweep.SweepRun` and a dict with
        ``names`` (image file names), ``feats`` (N, d) float64 base features
        (as fused), ``scores`` (N,) D-scores and ``group_sizes`` (G,)
        images per group, in order.
    """
    from mmddl.analysis.sweep import dense_run
    run = dense_run(
        _config_path(config), base_ckpt, work_dir, ddnet_ckpt, options)
    dump = run.dump
    names = [
        osp.basename(p) for g in dump.groups['groups'] for p in g['elements']
    ]
    return run, dict(
        names=np.asarray(names),
        feats=dump.outputs.astype(np.float64),
        scores=dump.scores.astype(np.float64),
        group_sizes=dump.lengths.astype(np.int64))


def element_scores(config: str, base_ckpt: str, ddnet_ckpt: str, work_dir: str,
                   options: Dict[str, object]) -> Dict[str, np.ndarray]:
    """Base features and DDNet D-scores of every element of a group set
    (the elements of :func:`element_pass`).

    Args:
        config (str): A ``DDLGroupEncoder`` config.
        base_ckpt (str): Base model checkpoint.
        ddnet_ckpt (str): DDNet checkpoint.
        work_dir (str): Work dir of the (evaluation-free) run.
        options (dict): ``--cfg-options`` (data root, sizes).
    """
    return element_pass(config, base_ckpt, ddnet_ckpt, work_dir, options)[1]


def roc_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Area under the ROC curve of scores separating two sets (rank
    formula: the probability that a positive outscores a negative, ties
    counting half).

    Args:
        positive (np.ndarray): Scores of the positives (e.g. clean images).
        negative (np.ndarray): Scores of the negatives (degraded images).
    """
    from scipy.stats import rankdata
    pos = np.asarray(positive, np.float64).reshape(-1)
    neg = np.asarray(negative, np.float64).reshape(-1)
    if pos.size == 0 or neg.size == 0:
        raise ValueError(f'AUC needs positives and negatives, got '
                         f'{pos.size} and {neg.size}')
    ranks = rankdata(np.concatenate([pos, neg]))
    return float((ranks[:pos.size].sum() - pos.size * (pos.size + 1) / 2) /
                 (pos.size * neg.size))


def _kept_groups(sizes: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Group index of every kept element (elements in group order)."""
    if sizes.sum() != keep.size:
        raise ValueError(f'group sizes sum to {int(sizes.sum())}, not the '
                         f'{keep.size} elements')
    return np.repeat(np.arange(sizes.size), sizes)[keep]


def within_group_ranking(pred: np.ndarray, true_d: np.ndarray,
                         degraded: np.ndarray,
                         groups: np.ndarray) -> Dict[str, object]:
    """How well the predicted D-scores rank the elements of each group:
    what selection within a group uses.

    Args:
        pred (np.ndarray): (N,) predicted D-scores.
        true_d (np.ndarray): (N,) true raw D.
        degraded (np.ndarray): (N,) bool, degraded by the generator.
        groups (np.ndarray): (N,) group index of each element.

    Returns:
        dict: ``group_spearman`` (mean over groups of >= 3 elements with
        varying scores of the Spearman between predicted and true D; None
        without such a group), ``top1_clean`` (over groups holding clean
        and degraded elements: the share whose best-scored element is
        clean; None without such a group) and ``num_groups``.
    """
    from scipy.stats import spearmanr
    rhos, hits = [], []
    for g in np.unique(groups):
        m = groups == g
        p, t, deg = pred[m], true_d[m], degraded[m]
        if m.sum() >= 3 and np.ptp(p) > 0 and np.ptp(t) > 0:
            rhos.append(float(spearmanr(p, t)[0]))
        if 0 < deg.sum() < deg.size:
            hits.append(not deg[int(np.argmax(p))])
    return dict(
        group_spearman=float(np.mean(rhos)) if rhos else None,
        top1_clean=float(np.mean(hits)) if hits else None,
        num_groups=int(np.unique(groups).size))


def true_discriminability(names: Sequence[str], feats: np.ndarray,
                          meta: Dict[str, list]) -> Dict[str, np.ndarray]:
    """Raw D (Eq. 2-3) of a generated set's elements against the identity
    centroids of the set itself (its identities are unseen in training).

    Args:
        names (Sequence[str]): (N,) image file names, in order.
        feats (np.ndarray): (N, d) base features, as fused.
        meta (dict): ``{image name: [identity, degraded, severity]}``;
            elements without an entry (distractors, junk) are left out.

    Returns:
        dict: ``keep`` (N,) bool, the elements with an entry; for those
        (in order) ``labels`` (identity index), ``degraded`` (bool) and
        ``true_d`` (raw D).
    """
    from mmddl.core.discriminability import class_centroids, discriminability
    names = np.asarray(names)
    keep = np.array([n in meta for n in names], bool)
    if not keep.any():
        raise ValueError('no element of the set has ground truth in its '
                         f'{ELEMENT_META}')
    rows = [meta[n] for n in names[keep]]
    _, labels = np.unique([r[0] for r in rows], return_inverse=True)
    degraded = np.array([bool(r[1]) for r in rows])
    feats = np.asarray(feats, np.float64)[keep]
    if not np.isfinite(feats).all():
        raise ValueError('non-finite features in the ranking set')
    true_d = discriminability(feats, labels, class_centroids(feats,
                                                             labels)).numpy()
    return dict(keep=keep, labels=labels, degraded=degraded, true_d=true_d)


def ranking_quality(scores: Dict[str, np.ndarray], meta: Dict[str,
                                                              list]) -> dict:
    """How well the DDNet ranks a held-out set's elements.

    The true D-score is the cosine discriminability (Eq. 2) of each
    element's base feature against the identity centroids of the set
    itself (the identities are unseen in training); Spearman is invariant
    to the sigmoid normalisation of Eq. 4, so raw D is used.

    Args:
        scores (dict): Output of :func:`element_scores`.
        meta (dict): ``{image name: [identity, degraded, severity]}``;
            elements without an entry (distractors, junk) are left out.

    Returns:
        dict: ``spearman`` (predicted vs. true D), with ``group_sizes``
        in ``scores`` also :func:`within_group_ranking`'s fields, ``auc``
        (predicted
        D-score, clean vs. degraded), ``target_auc`` (true D, clean vs.
        degraded; both None without clean or without degraded elements),
        ``num_elements``, ``num_degraded``, ``num_identities``,
        ``left_out``.
    """
    from mmddl.evaluation.dscore_metric import correlations
    truth = true_discriminability(scores['names'], scores['feats'], meta)
    keep, labels, degraded = truth['keep'], truth['labels'], truth['degraded']
    true_d = truth['true_d']
    pred = scores['scores'][keep]
    if not np.isfinite(pred).all():
        raise ValueError('non-finite D-scores in the ranking set')
    both = 0 < degraded.sum() < degraded.size
    within = {}
    if 'group_sizes' in scores:
        within = within_group_ranking(
            pred, true_d, degraded,
            _kept_groups(np.asarray(scores['group_sizes']), keep))
    return dict(
        spearman=correlations(pred, true_d)['spearman'],
        **within,
        # None (JSON null) when the set has no clean or no degraded element
        auc=roc_auc(pred[~degraded], pred[degraded]) if both else None,
        target_auc=(roc_auc(true_d[~degraded], true_d[degraded])
                    if both else None),
        num_elements=int(keep.sum()),
        num_degraded=int(degraded.sum()),
        num_identities=int(labels.max() + 1),
        left_out=int((~keep).sum()))


def summarize_seeds(per_seed: Dict[str, Dict[str, Dict[str, float]]],
                    reference: str = 'average') -> dict:
    """Mean, spread and paired differences over test sets.

    Args:
        per_seed (dict): ``{seed: {method: {metric: value}}}``.
        reference (str): The method every other one is paired with.

    Returns:
        dict: ``mean`` and ``std`` (sample std, 0 for one set) as
        ``{method: {metric: value}}``; ``difference`` ``{method: {metric:
        dict(mean, std, min, max, per_seed)}}`` of method - reference on
        the same set; ``seeds``.
    """
    seeds = list(per_seed)
    if not seeds:
        raise ValueError('no test set to summarise')
    methods = list(per_seed[seeds[0]])
    out = dict(seeds=seeds, mean={}, std={}, difference={})
    for m in methods:
        keys = list(per_seed[seeds[0]][m])
        vals = {k: np.array([per_seed[s][m][k] for s in seeds]) for k in keys}
        out['mean'][m] = {k: float(v.mean()) for k, v in vals.items()}
        out['std'][m] = {
            k: float(v.std(ddof=1)) if v.size > 1 else 0.0
            for k, v in vals.items()
        }
        if m == reference or reference not in per_seed[seeds[0]]:
            continue
        out['difference'][m] = {}
        for k, v in vals.items():
            ref = np.array(
                [per_seed[s][reference].get(k, np.nan) for s in seeds])
            d = v - ref
            out['difference'][m][k] = dict(
                mean=float(d.mean()),
                std=float(d.std(ddof=1)) if d.size > 1 else 0.0,
                min=float(d.min()),
                max=float(d.max()),
                per_seed=d.tolist())
    return out


def format_summary_table(title: str,
                         columns: Sequence[Tuple[str, str]],
                         summary: dict,
                         percent: Sequence[str] = (),
                         names: Optional[Dict[str, str]] = None) -> str:
    """Mean +- std per method, then method - average (mean +- std, min).

    Args:
        title (str): Printed above the table.
        columns (Sequence[tuple]): Metric keys and their headers.
        summary (dict): The result of :func:`summarize_seeds`.
        percent (Sequence[str]): Keys printed as percentages.
        names (dict, optional): Row names beyond :data:`METHOD_NAMES`.

    Returns:
        str: The table as text.
    """

    def cell(key, m, s):
        k = 100 if key in percent else 1
        return f'{k * m:.2f} +- {k * s:.2f}'

    names = dict(METHOD_NAMES, **(names or {}))
    rows = {}
    for m, vals in summary['mean'].items():
        rows[names.get(m, m)] = [
            cell(k, vals.get(k, np.nan), summary['std'][m].get(k, np.nan))
            for k, _ in columns
        ]
    for m, diff in summary['difference'].items():
        rows[f'{names.get(m, m)} - average'] = [
            (cell(k, diff[k]['mean'], diff[k]['std']) +
             f' (min {(100 if k in percent else 1) * diff[k]["min"]:.2f})')
            if k in diff else 'nan' for k, _ in columns
        ]
    name_w = max(len(r) for r in rows)
    widths = [
        max([len(h)] + [len(v[i]) for v in rows.values()])
        for i, (_, h) in enumerate(columns)
    ]
    head = f"{title} (mean +- std over {len(summary['seeds'])} test sets, " \
        f"seeds {', '.join(str(s) for s in summary['seeds'])})"
    rule = '-' * (name_w + sum(w + 3 for w in widths))
    lines = [
        head, rule, 'Method'.ljust(name_w) +
        ''.join(' | ' + h.rjust(w) for (_, h), w in zip(columns, widths)), rule
    ]
    for name, cells in rows.items():
        lines.append(
            name.ljust(name_w) + ''.join(' | ' + c.rjust(w)
                                         for c, w in zip(cells, widths)))
    lines.append(rule)
    return '\n'.join(lines)


class Timer:
    """Wall-clock of the demo's stages, printed as they finish."""

    def __init__(self) -> None:
        self.start = time.time()
        self.stages: Dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str):
        """Time a stage; print its name before and its duration after.

        Args:
            name (str): The stage's title.
        """
        print(f'\n===== {name} =====', flush=True)
        t0 = time.time()
        yield
        self.stages[name] = round(time.time() - t0, 1)
        print(f'===== {name}: {self.stages[name]:.1f} s =====', flush=True)

    @property
    def total(self) -> float:
        """Seconds since the timer was created."""
        return round(time.time() - self.start, 1)


def pooling_targets(per_seed: Dict[int, Dict[str, Dict[str,
                                                       float]]], summary: dict,
                    chosen: dict, keys: Sequence[str]) -> Dict[str, object]:
    """Targets shared by the face and re-ID demos: DDL (t = 0.15) at least
    average pooling on every test set and above it in the mean.

    Args:
        per_seed (dict): ``{seed: {method: {metric: value}}}``.
        summary (dict): :func:`summarize_seeds` of ``per_seed``.
        chosen (dict): The validation-chosen operating point.
        keys (Sequence[str]): The metrics compared.

    Returns:
        dict: ``seeds``, ``metrics``, ``chosen`` and, when both methods ran,
        ``ddl_ge_average_every_set`` / ``ddl_above_average_mean``.
    """
    mean = summary['mean']
    out: Dict[str, object] = dict(
        seeds=list(per_seed), metrics=list(keys), chosen=chosen['name'])
    if 'ddl' in mean and 'average' in mean:
        out['ddl_ge_average_every_set'] = bool(
            all(per_seed[s]['ddl'][k] >= per_seed[s]['average'][k]
                for s in per_seed for k in keys))
        out['ddl_above_average_mean'] = bool(
            all(mean['ddl'][k] > mean['average'][k] for k in keys))
    return out


def targets_line(title: str, target: dict,
                 labels: Sequence[Tuple[str, str]]) -> str:
    """One line on a demo's targets: ``title: label: yes/NO; ...``.

    Args:
        title (str): Start of the line.
        target (dict): Target name -> met (bool) and other values.
        labels (Sequence[tuple]): (target name, text) pairs, in order; names
            missing from ``target`` are left out.
    """
    parts = [
        f"{text}: {'yes' if target[key] else 'NO'}" for key, text in labels
        if key in target
    ]
    return f"{title}: {'; '.join(parts)}"


def validation_choice(name: str, config: str, base_ckpt: str, ddnet_ckpt: str,
                      out_dir: str, options: dict, args, keys: Sequence[str],
                      unit: str) -> Tuple[dict, dict]:
    """Evaluate average pooling and every candidate operating point on a
    validation set and choose one (:func:`choose_operating_point`).

    Args:
        name (str): Name of the validation set (e.g. ``'ijbc'``).
        config (str): Its DDL test config.
        base_ckpt (str): The base checkpoint.
        ddnet_ckpt (str): The DDNet checkpoint.
        out_dir (str): Work dir of the validation runs.
        options (dict): ``--cfg-options`` pointing at the validation data.
        args (argparse.Namespace): Demo options (``val_thresholds``,
            ``val_topks``, ``val_modes``).
        keys (Sequence[str]): Metrics the choice compares.
        unit (str): What a group is, for the printed line.

    Returns:
        tuple[dict, dict]: The chosen point, and ``dict(metrics, candidates)``
        of the validation set.
    """
    candidates = operating_points(args.val_thresholds, args.val_modes,
                                  args.val_topks)
    metrics, _ = evaluate_methods({name: config},
                                  base_ckpt,
                                  ddnet_ckpt,
                                  out_dir, {name: options},
                                  ['average'] + list(candidates),
                                  dump_method=None,
                                  settings=candidates)
    chosen = choose_operating_point(metrics[name], candidates, keys)
    print(f"validation-chosen operating point: {chosen['name']} "
          f"(meets average pooling: {chosen['qualified']}; "
          f"{chosen['base_images']:.2f} base images per {unit})")
    return chosen, dict(metrics=metrics[name], candidates=candidates)


def print_ranking(ranking: Dict[str, object], where: str) -> None:
    """Print the DDNet's ranking quality (:func:`ranking_quality`).

    Args:
        ranking (dict): Name -> value.
        where (str): The data it was measured on.
    """
    print(f'DDNet ranking on the {where}: ' +
          ', '.join(f'{k} {v:.4f}' if isinstance(v, float) else f'{k} {v}'
                    for k, v in ranking.items()))
