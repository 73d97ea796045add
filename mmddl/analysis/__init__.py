"""Offline analysis of DDL: one dense pass, every operating point, and the
choice of a point under a compute budget."""
from .budget import (budget_gflops, budget_report, cfg_options_line,
                     choose_point, config_snippet, select_point)
from .sweep import (SweepDump, SweepRun, load_sweep_dump, run_sweep,
                    save_sweep_dump)

__all__ = [
    'SweepDump', 'SweepRun', 'budget_gflops', 'budget_report',
    'cfg_options_line', 'choose_point', 'config_snippet', 'load_sweep_dump',
    'run_sweep', 'save_sweep_dump', 'select_point'
]
