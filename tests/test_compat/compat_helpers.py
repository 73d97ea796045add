"""Helpers for the compatibility-layer tests (subprocess runs)."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# Imports mmddl.compat WITHOUT running mmddl/__init__.py (which imports torch
# through mmddl.core), to observe exactly what apply_all() itself does.
COMPAT_ONLY_PRELUDE = f"""
import sys, types
_pkg = types.ModuleType('mmddl')
_pkg.__path__ = [{str(REPO_ROOT / 'mmddl')!r}]
sys.modules['mmddl'] = _pkg
from mmddl.compat import apply_all
"""


def run_python(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter of this venv, from the repo root.

    Args:
        code: Python source (dedented automatically).
        timeout: Seconds before the child is killed.

    Returns:
        The completed process (stdout/stderr as text).
    """
    env = dict(os.environ)
    env.update(PYTHONWARNINGS='ignore',
               OMP_NUM_THREADS='1',
               MKL_NUM_THREADS='1')
    env.pop('PYTHONPATH', None)
    return subprocess.run(
        [sys.executable, '-c', textwrap.dedent(code)],
        cwd=str(REPO_ROOT),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout)
