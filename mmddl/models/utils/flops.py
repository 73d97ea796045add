"""FLOPs of a model's forward on one input (mmengine's FlopAnalyzer, one
multiply-add = one FLOP), cached per input shape."""
from typing import Callable, Dict, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer

ForwardFn = Callable[[nn.Module, torch.Tensor], torch.Tensor]


class _Call(nn.Module):
    """Module whose forward is ``fn(module, x)`` (lets the analyzer trace a
    non-``forward`` code path such as backbone + head of a recognizer)."""

    def __init__(self, module: nn.Module, fn: ForwardFn) -> None:
        super().__init__()
        self.module = module
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(self.module, x)


def count_gflops(module: nn.Module,
                 x: torch.Tensor,
                 forward_fn: Optional[ForwardFn] = None) -> float:
    """GFLOPs of one forward of ``module`` on ``x``.

    The module is traced in eval mode without gradients (batch-norm running
    statistics stay untouched); its train/eval state is restored afterwards.

    Args:
        module (nn.Module): The model.
        x (Tensor): Its input (batch included).
        forward_fn (Callable, optional): ``fn(module, x)`` to count instead
            of ``module(x)``.

    Returns:
        float: GFLOPs (1e9 multiply-adds).
    """
    target = module if forward_fn is None else _Call(module, forward_fn)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            analyzer = FlopAnalyzer(target, (x, ))
            analyzer.unsupported_ops_warnings(False)
            analyzer.uncalled_modules_warnings(False)
            total = analyzer.total()
    finally:
        module.train(was_training)
    return total / 1e9


class GFlopsCache:
    """GFLOPs of ``module`` on one input, measured once per input shape.

    Args:
        module (nn.Module): The model.
        forward_fn (Callable, optional): ``fn(module, x)`` to count instead
            of ``module(x)``.
    """

    def __init__(self,
                 module: nn.Module,
                 forward_fn: Optional[ForwardFn] = None) -> None:
        self.module = module
        self.forward_fn = forward_fn
        self._cache: Dict[Tuple[int, ...], float] = {}

    def __call__(self, x: torch.Tensor) -> float:
        """GFLOPs of one forward on ``x`` (measured on first sight of its
        shape)."""
        key = tuple(x.shape)
        if key not in self._cache:
            self._cache[key] = count_gflops(self.module, x, self.forward_fn)
        return self._cache[key]

    def __len__(self) -> int:
        return len(self._cache)
