"""The DDL sampler / aggregator: which group elements to run the base on, and
how to fuse their outputs (paper Sec. 3.3, Eq. 7-11).

Shared by video (elements = clips of a video) and face / re-ID (elements =
images of a set). It is a thin adapter: selection and weighting come from
:mod:`mmddl.core.fusion`; this class only adds the baseline samplers the
paper compares against (dense, uniform, random, top-1).
"""
import logging
from typing import Optional

import torch
from mmengine.logging import print_log
from mmengine.registry import MODELS

from mmddl.core import rescale_weights, select_elements, weighted_mean
from mmddl.core.discriminability import as_float_tensor

#: Modes that rank elements by their D-scores (the DDNet must run).
SCORE_MODES = ('ddl', 'ddl_norescale', 'top1')
#: Modes that choose elements without looking at scores.
BLIND_MODES = ('dense', 'uniform', 'random')
MODES = SCORE_MODES + BLIND_MODES


@MODELS.register_module()
class DDLAggregator:
    """Element selection and weighted fusion of one group.

    Modes:
        * ``ddl``: keep elements by :func:`mmddl.core.select_elements`
          (``threshold`` and/or ``topk``), weight them by
          :func:`mmddl.core.rescale_weights` (Eq. 9-11).
        * ``ddl_norescale``: same selection, raw kept D-scores as weights.
        * ``top1``: the single best-scored element.
        * ``dense``: every element, equal weights.
        * ``uniform``: ``topk`` elements evenly spaced over the group (the
          centre of each of ``topk`` equal segments), equal weights.
        * ``random``: ``topk`` distinct random elements, equal weights. Call
          ``i`` of this object uses a generator seeded with ``seed + i``, so a
          run is reproducible and different groups get different draws.

    ``uniform`` and ``random`` keep all elements of a group that has at most
    ``topk`` of them (documented fallback, nothing to choose from). Settings
    a mode does not use (``topk`` of ``dense``/``top1``, ``threshold`` of
    the blind modes) are ignored with a logged warning, so one config can be
    switched between modes with ``--cfg-options model.aggregator.mode=...``.

    Args:
        mode: one of :data:`MODES`.
        topk: number of elements to keep (``ddl*``: at most this many;
            required by ``uniform`` and ``random``).
        threshold: Eq. 7 threshold on the D-score (``ddl*`` only).
        seed: base seed of ``random``.
    """

    def __init__(self,
                 mode: str = 'ddl',
                 topk: Optional[int] = None,
                 threshold: Optional[float] = None,
                 seed: int = 0) -> None:
        if mode not in MODES:
            raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
        if topk is not None and int(topk) < 1:
            raise ValueError(f'topk must be >= 1, got {topk}')
        if mode in ('uniform', 'random') and topk is None:
            raise ValueError(f'mode {mode!r} needs topk (how many elements '
                             'to keep)')
        if mode.startswith('ddl') and topk is None and threshold is None:
            raise ValueError(f'mode {mode!r} needs topk and/or threshold; '
                             "use mode='dense' to keep every element")
        ignored = [name for name, value in (('topk', topk),
                                            ('threshold', threshold))
                   if value is not None and (mode in ('dense', 'top1') or (
                       name == 'threshold' and mode in BLIND_MODES))]
        if ignored:
            print_log(f'DDLAggregator: mode {mode!r} ignores {ignored}',
                      logger='current', level=logging.WARNING)
        self.mode = mode
        self.topk = None if topk is None or 'topk' in ignored else int(topk)
        self.threshold = None if 'threshold' in ignored else threshold
        self.seed = int(seed)
        self._calls = 0

    @property
    def needs_scores(self) -> bool:
        """Whether :meth:`select` / :meth:`fuse` use D-scores (if not, the
        caller can skip running the DDNet)."""
        return self.mode in SCORE_MODES

    def reset(self) -> None:
        """Restart the per-call seed sequence of ``random``."""
        self._calls = 0

    def select(self,
               scores: Optional[torch.Tensor] = None,
               num_elements: Optional[int] = None) -> torch.Tensor:
        """Indices of the elements to run the base model on.

        Args:
            scores: (N,) D-scores; required when :attr:`needs_scores`.
            num_elements: N, when no scores are given (blind modes).

        Returns:
            LongTensor of kept indices: ``ddl*``/``top1`` in descending score
            order (see :func:`mmddl.core.select_elements`), the others
            ascending.
        """
        if scores is not None:
            scores = as_float_tensor(scores)
            if scores.dim() != 1:
                raise ValueError('scores must be 1-D (N,), got shape '
                                 f'{tuple(scores.shape)}')
            if num_elements is not None and num_elements != scores.numel():
                raise ValueError(f'num_elements={num_elements} but '
                                 f'{scores.numel()} scores given')
            num_elements = scores.numel()
        elif self.needs_scores:
            raise ValueError(f'mode {self.mode!r} needs the D-scores')
        if num_elements is None or num_elements < 1:
            raise ValueError('a group must have at least one element, got '
                             f'num_elements={num_elements}')
        device = scores.device if scores is not None else None

        if self.mode.startswith('ddl'):
            return select_elements(scores, self.threshold, self.topk)
        if self.mode == 'top1':
            return select_elements(scores, topk=1)
        n = num_elements
        if self.mode == 'dense' or self.topk >= n:
            return torch.arange(n, device=device)
        k = self.topk
        if self.mode == 'uniform':
            return ((2 * torch.arange(k, device=device) + 1) * n) // (2 * k)
        gen = torch.Generator().manual_seed(self.seed + self._calls)
        self._calls += 1
        idx = torch.randperm(n, generator=gen)[:k].sort().values
        return idx.to(device) if device is not None else idx

    def weights(self, kept_scores: torch.Tensor) -> torch.Tensor:
        """Fusion weights of the kept elements.

        Args:
            kept_scores: (k,) D-scores of the kept elements (blind modes only
                use its length).

        Returns:
            (k,) weights: Eq. 9-11 (``ddl``), raw scores
            (``ddl_norescale``), or ones.
        """
        s = as_float_tensor(kept_scores)
        if s.dim() != 1 or s.numel() == 0:
            raise ValueError('kept_scores must be a non-empty 1-D tensor, got '
                             f'shape {tuple(s.shape)}')
        if self.mode == 'ddl':
            return rescale_weights(s)
        if self.mode == 'ddl_norescale':
            if not torch.isfinite(s).all() or bool((s < 0).any()):
                raise ValueError('ddl_norescale uses the raw D-scores as '
                                 'weights: they must be finite and >= 0')
            return s
        return torch.ones_like(s)

    def fuse(self,
             outputs: torch.Tensor,
             kept_scores: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Weighted mean of the kept elements' outputs (Eq. 8).

        Args:
            outputs: (k, d) base-model outputs of the kept elements, in the
                order returned by :meth:`select`.
            kept_scores: (k,) their D-scores; may be None in blind modes.

        Returns:
            (d,) fused output.
        """
        outputs = as_float_tensor(outputs)
        if outputs.dim() != 2 or outputs.shape[0] == 0:
            raise ValueError('outputs must be (k, d) with k >= 1, got shape '
                             f'{tuple(outputs.shape)}')
        if kept_scores is None:
            if self.needs_scores:
                raise ValueError(f'mode {self.mode!r} needs kept_scores')
            kept_scores = torch.ones(outputs.shape[0])
        kept_scores = as_float_tensor(kept_scores).to(outputs.device)
        if kept_scores.shape != outputs.shape[:1]:
            raise ValueError(f'kept_scores must be ({outputs.shape[0]},), '
                             f'one per output, got {tuple(kept_scores.shape)}')
        return weighted_mean(outputs, self.weights(kept_scores))

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(mode={self.mode!r}, topk={self.topk}, '
                f'threshold={self.threshold}, seed={self.seed})')
