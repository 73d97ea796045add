"""The DDL aggregator: which elements of a group the base runs on and how
their outputs are fused (Eq. 7-11 from :mod:`mmddl.core.fusion`), plus the
paper's baseline samplers (dense, uniform, random, top-1)."""
import logging
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log
from mmengine.registry import MODELS

from mmddl.core import rescale_groups, select_groups, weighted_mean_groups
from mmddl.core.discriminability import as_float_tensor
from mmddl.evaluation.functional import check_finite

#: Modes that rank elements by their D-scores (the DDNet must run).
SCORE_MODES = ('ddl', 'ddl_norescale', 'top1')
#: Modes that choose elements without looking at scores.
BLIND_MODES = ('dense', 'uniform', 'random')
MODES = SCORE_MODES + BLIND_MODES
#: What is fused: the paper's features (Eq. 8) or class probabilities.
FUSION_LEVELS = ('feature', 'prob')
#: What a group whose D-scores are all equal gets (``on_constant_scores``).
ON_CONSTANT = ('error', 'uniform')
#: What to check when a D-score is NaN / inf (no diagnosis available).
DSCORE_HINT = ('the DDNet gave NaN / inf D-scores: check the DDNet '
               'checkpoint (NaN weights, a diverged training run) and the '
               "group's inputs")


class ConstantScoresError(ValueError):
    """Every D-score of a group is equal, so a selection of fewer than all
    of its elements would be arbitrary (the lowest indices)."""


def uniform_indices(k: int,
                    n: int,
                    device: Optional[torch.device] = None) -> torch.Tensor:
    """``k`` of ``n`` indices, ascending: the centre of each of ``k`` equal
    segments (the ``uniform`` mode's choice).

    Args:
        k (int): How many, ``1 <= k <= n``.
        n (int): Elements of the group.
        device (torch.device, optional): Device of the result.
    """
    return ((2 * torch.arange(k, device=device) + 1) * n) // (2 * k)


@MODELS.register_module()
class DDLAggregator:
    """Element selection and weighted fusion of groups.

    Modes:
        * ``ddl``: keep elements by :func:`mmddl.core.select_groups`
          (``threshold`` and/or ``topk``), weight them by
          :func:`mmddl.core.rescale_groups` (Eq. 9-11).
        * ``ddl_norescale``: same selection, raw kept D-scores as weights.
        * ``top1``: the single best-scored element.
        * ``dense``: every element, equal weights.
        * ``uniform``: ``topk`` elements evenly spaced over the group (the
          centre of each of ``topk`` equal segments), equal weights.
        * ``random``: ``topk`` distinct random elements, equal weights. Group
          ``i`` seen by this object uses a generator seeded with
          ``seed + i``, so a run is reproducible and groups get different
          draws.

    ``uniform`` and ``random`` keep all elements of a group that has at most
    ``topk`` of them.

    A group whose D-scores are all equal cannot be ranked: a score mode
    that keeps fewer than all of its elements raises
    :class:`ConstantScoresError` naming the group (a DDNet whose head gives
    a constant: zeroed weights, an inf bias), unless
    ``on_constant_scores='uniform'`` keeps evenly spaced elements instead,
    or the caller says the group's elements are identical (a 1-frame video:
    any choice is the same). NaN / inf D-scores raise
    :class:`~mmddl.evaluation.functional.NonFiniteError` naming the group.
    :meth:`select_and_report` also returns, per group, the fallbacks it
    took (names of :data:`mmddl.evaluation.fallbacks.FALLBACKS`).

    Settings a mode does not use (``topk`` of
    ``dense``/``top1``, ``threshold`` of the blind modes) are ignored with a
    logged warning, so one config can be switched between modes with
    ``--cfg-options model.aggregator.mode=...``.

    Fusion level (read by the test-time wrappers): ``'feature'`` fuses the
    base's features (Eq. 8); for a classifier with a linear head that is
    fusing its logits and applying softmax once. ``'prob'`` fuses per-element
    class probabilities (softmax first); it applies to classifiers only.

    Args:
        mode (str): One of :data:`MODES`. Defaults to ``'ddl'``.
        topk (int, optional): Number of elements to keep (``ddl*``: at most
            this many; required by ``uniform`` and ``random``).
        threshold (float, optional): Eq. 7 threshold on the D-score
            (``ddl*`` only).
        seed (int): Base seed of ``random``. Defaults to 0.
        fusion_level (str): ``'feature'`` (the paper) or ``'prob'``.
            Defaults to ``'feature'``.
        on_constant_scores (str): ``'error'`` (stop) or ``'uniform'``
            (evenly spaced elements, counted as the fallback
            ``constant_scores``) for a group whose D-scores are all equal.
            Defaults to ``'error'``.
    """

    def __init__(self,
                 mode: str = 'ddl',
                 topk: Optional[int] = None,
                 threshold: Optional[float] = None,
                 seed: int = 0,
                 fusion_level: str = 'feature',
                 on_constant_scores: str = 'error') -> None:
        if mode not in MODES:
            raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
        if on_constant_scores not in ON_CONSTANT:
            raise ValueError(f'on_constant_scores must be one of '
                             f'{ON_CONSTANT}, got {on_constant_scores!r}')
        if fusion_level not in FUSION_LEVELS:
            raise ValueError(f'fusion_level must be one of {FUSION_LEVELS}, '
                             f'got {fusion_level!r}')
        if topk is not None and int(topk) < 1:
            raise ValueError(f'topk must be >= 1, got {topk}')
        if mode in ('uniform', 'random') and topk is None:
            raise ValueError(f'mode {mode!r} needs topk (how many elements '
                             'to keep)')
        if mode.startswith('ddl') and topk is None and threshold is None:
            raise ValueError(f'mode {mode!r} needs topk and/or threshold; '
                             "use mode='dense' to keep every element")
        ignored = [
            name for name, value in (('topk', topk), ('threshold', threshold))
            if value is not None and (mode in ('dense', 'top1') or (
                name == 'threshold' and mode in BLIND_MODES))
        ]
        if ignored:
            print_log(
                f'DDLAggregator: mode {mode!r} ignores {ignored}',
                logger='current',
                level=logging.WARNING)
        self.mode = mode
        self.topk = None if topk is None or 'topk' in ignored else int(topk)
        self.threshold = None if 'threshold' in ignored else threshold
        self.seed = int(seed)
        self.fusion_level = fusion_level
        self.on_constant_scores = on_constant_scores
        self._calls = 0

    @property
    def needs_scores(self) -> bool:
        """Whether selection / fusion use D-scores (if not, the caller can
        skip running the DDNet)."""
        return self.mode in SCORE_MODES

    def reset(self) -> None:
        """Restart the per-group seed sequence of ``random``."""
        self._calls = 0

    # ------------------------------------------------------------ selection
    def _blind_select(self, n: int,
                      device: Optional[torch.device]) -> torch.Tensor:
        """Indices chosen by a blind mode (ascending)."""
        if self.mode == 'dense' or self.topk >= n:
            return torch.arange(n, device=device)
        k = self.topk
        if self.mode == 'uniform':
            return uniform_indices(k, n, device)
        gen = torch.Generator().manual_seed(self.seed + self._calls)
        self._calls += 1
        idx = torch.randperm(n, generator=gen)[:k].sort().values
        return idx.to(device) if device is not None else idx

    def select_groups(self, scores: Optional[torch.Tensor],
                      lengths: Sequence[int]) -> List[torch.Tensor]:
        """Indices of the elements to run the base model on, per group
        (:meth:`select_and_report` without the fallbacks).

        Args:
            scores (Tensor, optional): (M,) D-scores of all groups'
                elements, group by group; required when
                :attr:`needs_scores`, ignored otherwise.
            lengths (Sequence[int]): (G,) group sizes, each >= 1.

        Returns:
            list[Tensor]: Per group, the kept indices within the group:
            ``ddl*``/``top1`` in descending score order (ties: lower index
            first), the blind modes ascending.
        """
        return self.select_and_report(scores, lengths)[0]

    def select_and_report(
        self,
        scores: Optional[torch.Tensor],
        lengths: Sequence[int],
        names: Optional[Sequence[str]] = None,
        identical: Optional[Sequence[bool]] = None
    ) -> Tuple[List[torch.Tensor], List[List[str]]]:
        """Indices of the elements to run the base model on, per group, and
        the fallbacks each group took.

        Args:
            scores (Tensor, optional): (M,) D-scores of all groups'
                elements, group by group; required when
                :attr:`needs_scores`, ignored otherwise.
            lengths (Sequence[int]): (G,) group sizes, each >= 1.
            names (Sequence[str], optional): (G,) names of the groups in
                error messages (``"video 'a.mp4'"``); default
                ``group #i``.
            identical (Sequence[bool], optional): (G,) whether all elements
                of a group are identical (their equal D-scores are then no
                error; the group counts ``identical_elements``).

        Returns:
            tuple: Per group the kept indices within the group
            (``ddl*``/``top1`` in descending score order, ties: lower index
            first; the blind modes and the ``constant_scores`` fallback
            ascending), and per group the list of fallback names taken.
        """
        lengths = [int(n) for n in lengths]
        if not lengths or min(lengths) < 1:
            raise ValueError('a group must have at least one element, got '
                             f'lengths {lengths}')
        names = list(names) if names is not None else [
            f'group #{g}' for g in range(len(lengths))
        ]
        identical = [False] * len(lengths) if identical is None else [
            bool(i) and n > 1 for i, n in zip(identical, lengths)
        ]
        if len(names) != len(lengths) or len(identical) != len(lengths):
            raise ValueError(f'{len(names)} names and {len(identical)} '
                             f'identical flags for {len(lengths)} groups')
        if scores is not None:
            scores = as_float_tensor(scores)
            if scores.dim() != 1:
                raise ValueError('scores must be 1-D (M,), got shape '
                                 f'{tuple(scores.shape)}')
            if scores.numel() != sum(lengths):
                raise ValueError(f'{scores.numel()} scores for groups of '
                                 f'num_elements {lengths} (sum '
                                 f'{sum(lengths)})')
        elif self.needs_scores:
            raise ValueError(f'mode {self.mode!r} needs the D-scores')
        fallbacks = [['identical_elements'] if same else []
                     for same in identical]
        if not self.needs_scores:
            device = None if scores is None else scores.device
            for n, fb in zip(lengths, fallbacks):
                if self.topk is not None and self.mode != 'dense' and \
                        self.topk > n:
                    fb.append('topk_over_group')
            return [self._blind_select(n, device) for n in lengths], fallbacks
        per_group = scores.split(lengths)
        for s, name in zip(per_group, names):
            check_finite(s, 'D-scores', name, DSCORE_HINT)
        topk = 1 if self.mode == 'top1' else self.topk
        threshold = None if self.mode == 'top1' else self.threshold
        idx, kept = select_groups(scores, lengths, threshold, topk)
        starts = torch.cumsum(torch.tensor([0] + lengths[:-1]), 0)
        selected = [
            i - int(s) for i, s in zip(idx.split(kept.tolist()), starts)
        ]
        for g, (s, n, k) in enumerate(zip(per_group, lengths, kept.tolist())):
            ranked = s.sort(descending=True).values
            hi, lo = float(ranked[0]), float(ranked[-1])
            fb = fallbacks[g]
            if topk is not None and topk > n:
                fb.append('topk_over_group')
            if threshold is not None and hi <= threshold:
                fb.append('threshold_above_all')
            elif threshold is not None and lo > threshold:
                fb.append('threshold_below_all')
            if k >= n or identical[g]:
                continue
            if hi == lo:
                if self.on_constant_scores == 'error':
                    raise ConstantScoresError(
                        f'every D-score of {names[g]} is {hi:.6g} ({n} '
                        f'elements): the DDNet cannot rank them, and '
                        f'{self!r} would keep the first {k}. A DDNet head '
                        'that outputs a constant (zeroed weights, an inf '
                        'bias) does this: check the DDNet checkpoint. To '
                        'run anyway with evenly spaced elements for such '
                        'groups (counted and logged), set '
                        "model.aggregator.on_constant_scores='uniform'.")
                selected[g] = uniform_indices(k, n, s.device)
                fb.append('constant_scores')
            elif float(ranked[k - 1]) == float(ranked[k]):
                fb.append('tie_at_cut')
        return selected, fallbacks

    def select(self,
               scores: Optional[torch.Tensor] = None,
               num_elements: Optional[int] = None) -> torch.Tensor:
        """One-group view of :meth:`select_groups`.

        Args:
            scores (Tensor, optional): (N,) D-scores; required when
                :attr:`needs_scores`.
            num_elements (int, optional): N, when no scores are given.

        Returns:
            Tensor: Kept indices (see :meth:`select_groups`).
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
        return self.select_groups(scores, [num_elements])[0]

    # ------------------------------------------------------------ fusion
    def weights_groups(self, kept_scores: torch.Tensor,
                       lengths: Sequence[int]) -> torch.Tensor:
        """Fusion weights of the kept elements of all groups.

        Args:
            kept_scores (Tensor): (K,) kept D-scores, group by group (blind
                modes only use its length).
            lengths (Sequence[int]): (G,) kept elements per group.

        Returns:
            Tensor: (K,) weights: Eq. 9-11 per group (``ddl``), raw scores
            (``ddl_norescale``), or ones.
        """
        if self.mode == 'ddl':
            return rescale_groups(kept_scores, lengths)
        if self.mode == 'ddl_norescale':
            if not torch.isfinite(kept_scores).all() or bool(
                (kept_scores < 0).any()):
                raise ValueError('ddl_norescale uses the raw D-scores as '
                                 'weights: they must be finite and >= 0')
            return kept_scores
        return torch.ones_like(kept_scores)

    def weights(self, kept_scores: torch.Tensor) -> torch.Tensor:
        """One-group view of :meth:`weights_groups`.

        Args:
            kept_scores (Tensor): (k,) D-scores of the kept elements.

        Returns:
            Tensor: (k,) weights.
        """
        s = as_float_tensor(kept_scores)
        if s.dim() != 1 or s.numel() == 0:
            raise ValueError('kept_scores must be a non-empty 1-D tensor, got '
                             f'shape {tuple(s.shape)}')
        return self.weights_groups(s, [s.numel()])

    def fuse_groups(self, outputs: torch.Tensor,
                    kept_scores: Optional[torch.Tensor],
                    lengths: Sequence[int]) -> torch.Tensor:
        """Weighted mean of each group's kept outputs (Eq. 8).

        Args:
            outputs (Tensor): (K, d) base outputs of the kept elements, group
                by group, each group's in the order of :meth:`select_groups`.
            kept_scores (Tensor, optional): (K,) their D-scores; may be None
                in blind modes.
            lengths (Sequence[int]): (G,) kept elements per group.

        Returns:
            Tensor: (G, d) fused outputs.
        """
        outputs = as_float_tensor(outputs)
        if outputs.dim() != 2 or outputs.shape[0] == 0:
            raise ValueError('outputs must be (k, d) with k >= 1, got shape '
                             f'{tuple(outputs.shape)}')
        if kept_scores is None:
            if self.needs_scores:
                raise ValueError(f'mode {self.mode!r} needs kept_scores')
            kept_scores = outputs.new_ones(outputs.shape[0])
        kept_scores = as_float_tensor(kept_scores).to(outputs)
        if kept_scores.shape != outputs.shape[:1]:
            raise ValueError(f'kept_scores must be ({outputs.shape[0]},), '
                             f'one per output, got {tuple(kept_scores.shape)}')
        weights = self.weights_groups(kept_scores, lengths)
        return weighted_mean_groups(outputs, weights, lengths)

    def fuse(self,
             outputs: torch.Tensor,
             kept_scores: Optional[torch.Tensor] = None) -> torch.Tensor:
        """One-group view of :meth:`fuse_groups`.

        Args:
            outputs (Tensor): (k, d) base outputs of the kept elements.
            kept_scores (Tensor, optional): (k,) their D-scores.

        Returns:
            Tensor: (d,) fused output.
        """
        return self.fuse_groups(outputs, kept_scores, [len(outputs)])[0]

    def class_scores_to_fuse(self, logits: torch.Tensor) -> torch.Tensor:
        """What a classifier's per-element logits are fused as: the logits
        (``'feature'``) or their softmax (``'prob'``)."""
        logits = logits.float()
        return logits if self.fusion_level == 'feature' else \
            logits.softmax(-1)

    def fused_class_probs(self, fused: torch.Tensor) -> torch.Tensor:
        """Class probabilities from :meth:`class_scores_to_fuse` outputs
        after fusion: softmax once (``'feature'``) or as they are."""
        return fused.softmax(-1) if self.fusion_level == 'feature' else fused

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(mode={self.mode!r}, topk={self.topk}, '
                f'threshold={self.threshold}, seed={self.seed}, '
                f'fusion_level={self.fusion_level!r}, '
                f'on_constant_scores={self.on_constant_scores!r})')
