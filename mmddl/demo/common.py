"""Shared steps of the demos: the real tools' flows, cached stages, tables.

The stage cache and the step-by-step flows are described in docs/demos.md.
"""
import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import os.path as osp
import shutil
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

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
}


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
    """The source tree holding ``configs/`` and ``tools/``.

    Raises:
        FileNotFoundError: When mmddl is not used from its source tree (an
            installed copy has no configs or tools).
    """
    import mmddl
    root = osp.dirname(osp.dirname(osp.abspath(mmddl.__file__)))
    for sub in ('configs', 'tools'):
        if not osp.isdir(osp.join(root, sub)):
            raise FileNotFoundError(
                f'{osp.join(root, sub)} not found: the demos need the mmddl '
                'source tree (pip install -e .).')
    return root


def load_tool(name: str):
    """Import ``tools/<name>.py`` of the source tree as a module.

    Args:
        name (str): The tool's file name without ``.py``.
    """
    path = osp.join(repo_root(), 'tools', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'mmddl_tools_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _argv(argv: Sequence[str]):
    old = sys.argv
    sys.argv = [str(a) for a in argv]
    try:
        yield
    finally:
        sys.argv = old


def cfg_options(options: Dict[str, object]) -> List[str]:
    """``{'a.b': 1}`` -> ``['--cfg-options', 'a.b=1']`` (empty if none).

    Values are written so that mmengine's ``DictAction`` parses them back:
    ``None`` as ``None``, tuples/lists as ``[a,b]``.

    Args:
        options (dict): Dotted keys and their values.
    """
    if not options:
        return []
    items = []
    for key, value in options.items():
        if isinstance(value, (list, tuple)):
            value = '[' + ','.join(str(v) for v in value) + ']'
        items.append(f'{key}={value}')
    return ['--cfg-options'] + items


def train_config(config: str,
                 work_dir: str,
                 options: Optional[Dict[str, object]] = None):
    """The config ``tools/train.py config --work-dir ... --cfg-options``
    would train.

    Args:
        config (str): Config file (relative to the source tree or absolute).
        work_dir (str): Output folder.
        options (dict, optional): ``--cfg-options`` overrides.

    Returns:
        mmengine.Config: The merged config.
    """
    from mmengine.config import Config
    tool = load_tool('train')
    with _argv(
        ['train.py', _config_path(config), '--work-dir', work_dir] +
            cfg_options(options)):
        args = tool.parse_args()
    return tool.merge_args(Config.fromfile(args.config), args)


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
    """SHA-256 of the sources of ``mmddl`` (or one of its subpackages).

    Args:
        subpackage (str): e.g. ``'testing'``; empty for the whole package.

    Returns:
        str: The hex digest over every ``.py`` file's path and bytes.
    """
    import mmddl
    top = osp.join(osp.dirname(osp.abspath(mmddl.__file__)), subpackage)
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d != '__pycache__')
        for name in sorted(f for f in files if f.endswith('.py')):
            path = osp.join(root, name)
            digest.update(osp.relpath(path, top).encode() + b'\0')
            with open(path, 'rb') as f:
                digest.update(f.read())
    return digest.hexdigest()


def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes.

    Args:
        path (str): The file.
    """
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


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
    (``on_stale='recompute'``); a matching one is reused.

    Args:
        base_config (str): The base model's config file.
        base_checkpoint (str): The base model's checkpoint.
    """
    return {
        'custom_hooks.0.base_config': base_config,
        'custom_hooks.0.base_checkpoint': base_checkpoint,
        'custom_hooks.0.on_stale': 'recompute'
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
    from mmengine.config import Config
    from mmengine.runner import Runner
    tool = load_tool('test')
    argv = [
        'test.py',
        _config_path(config), checkpoint, '--work-dir', work_dir
    ]
    if ddnet_checkpoint:
        argv += ['--ddnet-checkpoint', ddnet_checkpoint]
    if dump:
        argv += ['--dump', dump]
    with _argv(argv + cfg_options(options)):
        args = tool.parse_args()
    cfg = tool.merge_args(Config.fromfile(args.config), args)
    return dict(Runner.from_cfg(cfg).test())


def _config_path(config: str) -> str:
    if osp.isabs(config) or osp.isfile(config):
        return config
    return osp.join(repo_root(), config)


def method_options(method: str) -> Dict[str, object]:
    """``--cfg-options`` selecting one compared method's aggregator.

    Args:
        method (str): A key of :data:`METHODS`.
    """
    if method not in METHODS:
        raise ValueError(f'unknown method {method!r}; choose from '
                         f'{list(METHODS)}')
    return {f'model.aggregator.{k}': v for k, v in METHODS[method].items()}


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
    dump_method: str = 'ddl'
) -> Tuple[Dict[str, Dict[str, Dict[str, float]]], Dict[str, str]]:
    """Run ``tools/test.py``'s flow for every data set and method.

    Args:
        configs (dict): ``{data set: DDLGroupEncoder config}``.
        base_ckpt (str): Base model checkpoint.
        ddnet_ckpt (str): DDNet checkpoint.
        work_dir (str): Runs go to ``<work_dir>/<data set>/<method>``.
        options (dict): ``{data set: --cfg-options}`` (data root, sizes).
        methods (Sequence[str]): Keys of :data:`METHODS`.
        dump_method (str): Method whose predictions are dumped
            (``predictions.pkl``, for the Fig. 3 picture).

    Returns:
        tuple: ``(metrics {data set: {method: {metric: value}}}, dumps
        {data set: pickle path})``.
    """
    metrics: Dict[str, Dict[str, Dict[str, float]]] = {}
    dumps: Dict[str, str] = {}
    for name, config in configs.items():
        metrics[name] = {}
        for method in methods:
            out = osp.join(work_dir, name, method)
            dump = (
                osp.join(out, 'predictions.pkl')
                if method == dump_method else None)
            raw = run_test(
                config,
                base_ckpt,
                out,
                ddnet_ckpt, {
                    **options.get(name, {}),
                    **method_options(method)
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
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(results, f, indent=2, sort_keys=True, default=_json_default)
    os.replace(tmp, path)
    return path


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f'{type(obj).__name__} is not JSON serialisable')


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
