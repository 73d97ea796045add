"""Shared steps of the demos (face, re-ID; the video demo uses them too).

The demos run the project's real tools on real config files: the argument
parsing and config merging of ``tools/train.py`` / ``tools/test.py`` (their
``parse_args`` and ``merge_args``), then ``Runner.from_cfg(cfg).train()`` /
``.test()`` exactly as the tools' ``main`` does, in this process (one Python
start-up instead of a dozen). Everything that makes the demos small is a
config override (``configs/face/demo``, ``configs/reid/demo`` and
``--cfg-options``), not a separate code path.
"""
import contextlib
import importlib.util
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

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
        p: the demo's ``argparse.ArgumentParser``.
    """
    p.add_argument('--base-epochs', type=int, default=None,
                   help='override the base config epochs')
    p.add_argument('--ddnet-epochs', type=int, default=None,
                   help='override the DDNet config epochs')
    p.add_argument('--methods', nargs='+', default=list(METHODS),
                   choices=list(METHODS))
    p.add_argument('--test-log-level', default='WARNING',
                   help='log level of the evaluation runs (the tables are '
                   'printed at the end)')


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
    """Import ``tools/<name>.py`` of the source tree as a module."""
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
    """
    if not options:
        return []
    items = []
    for key, value in options.items():
        if isinstance(value, (list, tuple)):
            value = '[' + ','.join(str(v) for v in value) + ']'
        items.append(f'{key}={value}')
    return ['--cfg-options'] + items


def run_train(config: str, work_dir: str,
              options: Optional[Dict[str, object]] = None) -> str:
    """Train with ``tools/train.py``'s argument handling; return the last
    checkpoint's path.

    Args:
        config: Config file (relative to the source tree or absolute).
        work_dir: Output folder.
        options: ``--cfg-options`` overrides.

    Returns:
        Path of the checkpoint written last.
    """
    from mmengine.config import Config
    from mmengine.runner import Runner
    tool = load_tool('train')
    config = _config_path(config)
    with _argv(['train.py', config, '--work-dir', work_dir] +
               cfg_options(options)):
        args = tool.parse_args()
    cfg = tool.merge_args(Config.fromfile(args.config), args)
    Runner.from_cfg(cfg).train()
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    if not osp.isfile(ckpt):
        raise FileNotFoundError(f'training wrote no checkpoint: {ckpt}')
    return ckpt


def run_test(config: str, checkpoint: str, work_dir: str,
             ddnet_checkpoint: Optional[str] = None,
             options: Optional[Dict[str, object]] = None,
             dump: Optional[str] = None) -> Dict[str, float]:
    """Evaluate with ``tools/test.py``'s argument handling.

    Args:
        config: A ``DDLGroupEncoder`` config.
        checkpoint: The BASE model's checkpoint (positional argument).
        work_dir: Output folder.
        ddnet_checkpoint: ``--ddnet-checkpoint``.
        options: ``--cfg-options`` overrides.
        dump: ``--dump`` pickle of the predictions.

    Returns:
        The metrics of ``runner.test()``.
    """
    from mmengine.config import Config
    from mmengine.runner import Runner
    tool = load_tool('test')
    argv = ['test.py', _config_path(config), checkpoint, '--work-dir',
            work_dir]
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
    """``--cfg-options`` selecting one compared method's aggregator."""
    if method not in METHODS:
        raise ValueError(f'unknown method {method!r}; choose from '
                         f'{list(METHODS)}')
    return {f'model.aggregator.{k}': v for k, v in METHODS[method].items()}


def epoch_options(epochs: Optional[int]) -> Dict[str, object]:
    """``--cfg-options`` changing a demo config's number of epochs.

    The demo configs save one checkpoint at the end and schedule the learning
    rate with ``param_scheduler = [warm-up (iterations), cosine (epochs)]``;
    the cosine's ``T_max`` / ``end`` follow the new epoch count.
    """
    if epochs is None:
        return {}
    if epochs < 1:
        raise ValueError(f'epochs must be >= 1, got {epochs}')
    return {'train_cfg.max_epochs': epochs,
            'default_hooks.checkpoint.interval': epochs,
            'param_scheduler.1.T_max': epochs,
            'param_scheduler.1.end': epochs}


def format_table(title: str, columns: Sequence[Tuple[str, str]],
                 rows: Dict[str, Dict[str, float]],
                 percent: Sequence[str] = ()) -> str:
    """A plain-text table: one row per method, ``columns`` = (key, header).

    Args:
        title: Printed above the table.
        columns: Metric keys and their headers.
        rows: ``{method: {metric key: value}}``.
        percent: Keys printed as percentages.

    Returns:
        The table as text.
    """
    name_w = max(len(METHOD_NAMES.get(m, m)) for m in rows)
    widths = [max(len(h), 8) for _, h in columns]
    lines = [title, '-' * (name_w + sum(w + 3 for w in widths))]
    lines.append('Method'.ljust(name_w) + ''.join(
        ' | ' + h.rjust(w) for (_, h), w in zip(columns, widths)))
    lines.append(lines[1])
    for method, metrics in rows.items():
        cells = []
        for (key, _), w in zip(columns, widths):
            value = metrics.get(key, float('nan'))
            text = (f'{100 * value:.2f}' if key in percent else
                    f'{value:.2f}')
            cells.append(' | ' + text.rjust(w))
        lines.append(METHOD_NAMES.get(method, method).ljust(name_w) +
                     ''.join(cells))
    lines.append(lines[1])
    return '\n'.join(lines)


def strip_prefix(metrics: Dict[str, float]) -> Dict[str, float]:
    """``'group_verif/tar@far=0.01'`` -> ``'tar@far=0.01'``."""
    return {k.split('/', 1)[-1]: float(v) for k, v in metrics.items()}


def evaluate_methods(configs: Dict[str, str], base_ckpt: str,
                     ddnet_ckpt: str, work_dir: str,
                     options: Dict[str, Dict[str, object]],
                     methods: Sequence[str], dump_method: str = 'ddl'
                     ) -> Tuple[Dict[str, Dict[str, Dict[str, float]]],
                                Dict[str, str]]:
    """Run ``tools/test.py``'s flow for every data set and method.

    Args:
        configs: ``{data set: DDLGroupEncoder config}``.
        base_ckpt: Base model checkpoint.
        ddnet_ckpt: DDNet checkpoint.
        work_dir: Runs go to ``<work_dir>/<data set>/<method>``.
        options: ``{data set: --cfg-options}`` (data root, sizes ...).
        methods: Keys of :data:`METHODS`.
        dump_method: Method whose predictions are dumped
            (``predictions.pkl``, for the Fig. 3 picture).

    Returns:
        ``(metrics {data set: {method: {metric: value}}}, dumps {data set:
        pickle path})``.
    """
    metrics: Dict[str, Dict[str, Dict[str, float]]] = {}
    dumps: Dict[str, str] = {}
    for name, config in configs.items():
        metrics[name] = {}
        for method in methods:
            out = osp.join(work_dir, name, method)
            dump = (osp.join(out, 'predictions.pkl')
                    if method == dump_method else None)
            raw = run_test(config, base_ckpt, out, ddnet_ckpt,
                           {**options.get(name, {}),
                            **method_options(method)}, dump=dump)
            metrics[name][method] = strip_prefix(raw)
            if dump:
                dumps[name] = dump
    return metrics, dumps


def build_results(task: str,
                  metrics: Dict[str, Dict[str, Dict[str, float]]],
                  data: dict, settings: dict, target: Tuple[str, str]
                  ) -> dict:
    """The results.json content.

    Holds ``metrics`` ({data set: {method: {metric: value}}}), the flat
    ``entries`` list (one per data set, method and metric),
    ``base_images_per_group`` ({data set: {method: images}}), the generated
    ``data``, the ``settings`` and the ``target`` check.
    """
    entries: List[dict] = []
    base_images: Dict[str, Dict[str, float]] = {}
    for dataset, per_method in metrics.items():
        base_images[dataset] = {}
        for method, values in per_method.items():
            base_images[dataset][method] = values.get('base_images')
            for metric, value in values.items():
                entries.append(dict(dataset=dataset, method=method,
                                    metric=metric, value=value))
    return dict(task=task, data=data, metrics=metrics, entries=entries,
                base_images_per_group=base_images,
                target=target_check(metrics, target), settings=settings)


def target_check(metrics: Dict[str, Dict[str, Dict[str, float]]],
                 target: Tuple[str, str]) -> dict:
    """Whether DDL beats average pooling on ``target`` = (data set,
    metric), and how many images top-1 ran the base on per group."""
    dataset, metric = target
    per = metrics.get(dataset, {})
    out: Dict[str, object] = dict(dataset=dataset, metric=metric)
    if 'ddl' in per and 'average' in per:
        out.update(ddl=per['ddl'].get(metric),
                   average=per['average'].get(metric))
        out['ddl_above_average'] = bool(out['ddl'] > out['average'])
    if 'top1' in per:
        out['top1_base_images_per_group'] = per['top1'].get('base_images')
    return out


def target_line(target: dict) -> str:
    """One line on the issue's target (empty if not measured)."""
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
    """Write the demo's results JSON (atomically)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(results, f, indent=2, sort_keys=True,
                  default=_json_default)
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
        """Time a stage; print its name before and its duration after."""
        print(f'\n===== {name} =====', flush=True)
        t0 = time.time()
        yield
        self.stages[name] = round(time.time() - t0, 1)
        print(f'===== {name}: {self.stages[name]:.1f} s =====', flush=True)

    @property
    def total(self) -> float:
        """Seconds since the timer was created."""
        return round(time.time() - self.start, 1)
