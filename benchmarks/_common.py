"""Shared helpers of the benchmark scripts: machine description, timing, JSON.

Every benchmark reports *ratios measured in one run on one machine*; absolute
times are printed for context but are never a pass/fail criterion.
"""
import json
import os
import os.path as osp
import platform
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional

import torch


def machine_info() -> Dict[str, Any]:
    """CPU model (``lscpu``), core counts, load, torch and Python versions."""
    model = platform.processor() or platform.machine()
    try:
        out = subprocess.run(['lscpu'],
                             capture_output=True,
                             text=True,
                             timeout=10).stdout
        for line in out.splitlines():
            if line.startswith('Model name:'):
                model = line.split(':', 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    info = dict(
        cpu_model=model,
        logical_cpus=os.cpu_count(),
        usable_cpus=len(os.sched_getaffinity(0)) if hasattr(
            os, 'sched_getaffinity') else os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        torch=torch.__version__,
        python=platform.python_version(),
        load_avg_1min=os.getloadavg()[0]
        if hasattr(os, 'getloadavg') else None)
    if torch.cuda.is_available():
        info['gpu'] = torch.cuda.get_device_name(0)
    return info


def sync(device: Optional[torch.device] = None) -> None:
    """Wait for queued CUDA work (no-op on the CPU)."""
    if device is not None and torch.device(device).type == 'cuda':
        torch.cuda.synchronize(device)


def time_interleaved(fns: Dict[str, Callable[[], Any]],
                     repeat: int,
                     warmup: int = 1,
                     device: Optional[torch.device] = None
                     ) -> Dict[str, List[float]]:
    """Seconds per call of each function, measured round-robin.

    Interleaving (a, b, a, b, ...) exposes every function to the same load
    from other processes, which keeps their *ratio* meaningful on a shared
    machine.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
            sync(device)
    times: Dict[str, List[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            sync(device)
            t0 = time.perf_counter()
            fn()
            sync(device)
            times[name].append(time.perf_counter() - t0)
    return times


def median(xs: List[float]) -> float:
    """Median of a non-empty list."""
    return float(statistics.median(xs))


def write_json(path: Optional[str], result: Dict[str, Any]) -> None:
    """Print the result and, when ``path`` is given, write it as JSON."""
    result = dict(
        result,
        command=' '.join([osp.basename(sys.executable)] + sys.argv),
        machine=machine_info())
    text = json.dumps(result, indent=2, sort_keys=True)
    print(text)
    if path:
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text + '\n')


def build_random_ddl(cfg, **overrides):
    """The config's ``DDLRecognizer`` with random weights, in eval mode.

    Args:
        cfg (Config): A DDL config.
        **overrides: Model arguments to set (``num_crops``, ...).
    """
    from mmengine.registry import MODELS, DefaultScope
    with DefaultScope.overwrite_default_scope('mmaction'):
        import mmaction.models  # noqa: F401
        model_cfg = cfg.model.to_dict()
        model_cfg.update(
            base_checkpoint=None,
            ddnet_checkpoint=None,
            count_flops=True,
            allow_random_weights=True)
        model_cfg.update(overrides)
        return MODELS.build(model_cfg).eval()
