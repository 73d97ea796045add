"""Base class of the test-time DDL wrappers: one output contract, one strict
checkpoint loader, one score -> select -> run -> fuse loop (Eq. 7-11)."""
import contextlib
import copy
import time
from abc import ABCMeta, abstractmethod
from typing import (Any, Callable, Dict, Iterator, List, Optional, Sequence,
                    Union)

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.registry import MODELS
from mmengine.structures import BaseDataElement

from mmddl.evaluation.fallbacks import FIELD as FALLBACK_FIELD
from mmddl.evaluation.functional import NonFiniteError
from mmddl.models.aggregators import DDLAggregator
from mmddl.models.utils import (PROVENANCE_KEY, ProvenanceCheck,
                                load_submodule_checkpoint,
                                resolve_model_config, wrapper_state)
from mmddl.models.utils.provenance import provenance_policy

#: Sub-models of a wrapper, by attribute name.
PARTS = ('base', 'ddnet')
#: Data-sample fields tried, in order, to name a group in error messages.
NAME_KEYS = ('filename', 'video_id', 'frame_dir', 'group_name', 'group_id',
             'template_id', 'img_key')
#: Data-sample flag set when a group's layout could not be checked (it
#: counts the fallback ``unchecked_layout``).
UNCHECKED_FIELD = 'ddl_unchecked_layout'


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def cat_keep_layout(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """``torch.cat`` along dim 0 that keeps the first tensor's memory layout
    (e.g. mmaction's ``FormatShape`` clips, whose channels are innermost:
    ``channels_last_3d``) instead of making the result contiguous.

    Args:
        tensors (Sequence[Tensor]): Tensors of equal ``shape[1:]``.

    Returns:
        Tensor: Their concatenation, laid out in memory with dim 0
        outermost and the other dims in the order of the first tensor's
        strides.
    """
    first = tensors[0]
    # size-1 dims have no say in the layout: put them last
    order = [0] + sorted(
        range(1, first.dim()),
        key=lambda d: -first.stride(d) if first.shape[d] > 1 else 1)
    if order == sorted(order):
        return torch.cat(list(tensors))
    out = torch.cat([t.permute(order) for t in tensors])
    return out.permute([order.index(d) for d in range(first.dim())])


def take_elements(group: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``group[idx]``, or ``group`` itself when ``idx`` is ``0..n-1`` in
    order (every element, e.g. the dense baseline: no copy).

    Args:
        group (Tensor): (n, ...) elements.
        idx (Tensor): (k,) indices into them.

    Returns:
        Tensor: (k, ...) the indexed elements.
    """
    idx = idx.to(group.device)
    n = group.shape[0]
    if idx.numel() == n and torch.equal(
            idx, torch.arange(n, device=idx.device, dtype=idx.dtype)):
        return group
    return group[idx]


def build_aggregator(cfg: Union[dict, DDLAggregator]) -> DDLAggregator:
    """A :class:`DDLAggregator` from its config (or the instance itself)."""
    agg = cfg if isinstance(cfg, DDLAggregator) else MODELS.build(cfg)
    if not isinstance(agg, DDLAggregator):
        raise TypeError('aggregator must build a DDLAggregator, got '
                        f'{type(agg).__name__}')
    return agg


def part_config(ref: Union[None, str, dict],
                checkpoint: Optional[str],
                part: str,
                scope: str,
                required: bool = True) -> Optional[dict]:
    """Model config of a wrapper's part, with its ``_scope_``.

    Args:
        ref (str | dict | None): See
            :func:`mmddl.models.utils.resolve_model_config`.
        checkpoint (str, optional): The part's checkpoint.
        part (str): ``'base'`` or ``'ddnet'`` (for error messages).
        scope (str): Scope when the config names none.
        required (bool): False: None and no checkpoint give None (no such
            part). Defaults to True.

    Returns:
        dict | None: The model config.
    """
    if ref is None and not checkpoint and not required:
        return None
    cfg, cfg_scope = resolve_model_config(ref, checkpoint, part, scope)
    cfg.setdefault('_scope_', cfg_scope or scope)
    return cfg


def build_part(cfg: Union[None, dict, nn.Module]) -> Optional[nn.Module]:
    """Build a part from :func:`part_config` (a module is kept)."""
    if cfg is None or isinstance(cfg, nn.Module):
        return cfg
    return MODELS.build(copy.deepcopy(cfg))


class BaseDDLModel(BaseModel, metaclass=ABCMeta):
    """Test-time DDL around a frozen base model and a DDNet.

    Per batch of groups (a video's clips, a face template's images, a
    tracklet's frames): the DDNet scores every element (skipped by the
    aggregator's blind modes), the aggregator selects elements (Eq. 7), the
    base runs on the selected ones only and their outputs are fused with the
    aggregator's weights (Eq. 8-11). Subclasses say what an element is and
    what the base's output of one is.

    Written into each data sample (the output contract):

    * ``ddl_scores`` (n,) D-scores of all candidate elements (empty when the
      DDNet was skipped);
    * ``ddl_selected`` (k,) indices of the elements the base ran on, in the
      aggregator's order;
    * ``base_elements`` (int, k), ``ddnet_elements`` (int, n or 0);
    * ``time_ddnet_s``, ``time_base_s`` and ``time_model_s`` (their sum):
      wall seconds of the model forwards (CUDA-synchronised) for the batch,
      divided evenly among its groups (batch size 1: the group's own time);
    * ``time_decode_s``: seconds :meth:`element_inputs` spent making the
      base's inputs beyond indexing (two-stage decoding of the selected
      elements; 0.0 when the inputs are the groups' own elements), divided
      likewise and not part of ``time_model_s``;
    * ``gflops_base``, ``gflops_ddnet`` when ``count_flops``: GFLOPs of one
      element (as each model sees it) x elements run, measured once per
      input shape;
    * ``ddl_fallbacks``: the names of the fallbacks the group took (see
      :mod:`mmddl.evaluation.fallbacks`; the metrics count them);
    * the fused prediction (see the subclass).

    NaN / inf D-scores stop the run with
    :class:`~mmddl.evaluation.functional.NonFiniteError` naming the group
    and the cause (non-finite DDNet weights, inputs, or an overflow);
    D-scores all equal within a group stop it too, unless the aggregator's
    ``on_constant_scores`` says otherwise or the group's elements are
    identical (see :class:`~mmddl.models.aggregators.DDLAggregator`).

    Args:
        base (nn.Module): The built base model.
        ddnet (nn.Module, optional): The built DDNet; required by the
            aggregator's score modes.
        aggregator (dict | DDLAggregator): Aggregator config or instance.
        base_checkpoint (str, optional): Checkpoint of the base, loaded
            strictly (bare or wrapper keys, see
            :func:`mmddl.models.utils.submodule_state`).
        ddnet_checkpoint (str, optional): Checkpoint of the DDNet, likewise.
        count_flops (bool): Report GFLOPs. Defaults to False.
        allow_random_weights (bool): Allow predicting with a base / DDNet
            whose weights were never loaded (tests only). Defaults to False.
        data_preprocessor (dict, optional): This model's preprocessor.
        init_cfg (dict, optional): mmengine init config.
        provenance_check (str | Sequence[str]): What a DDNet checkpoint's
            provenance (the base it was trained for, its input shape) may
            disagree with in this run: ``'error'`` (default: a mismatch
            stops, naming both values), ``'warn'`` (logged, the run goes
            on) or a list of the fields allowed to differ (logged):
            ``['base']``, ``['input']``. See
            :class:`mmddl.models.utils.ProvenanceCheck`.
    """
    #: Class of the data samples made when none are given.
    data_sample_type: type = BaseDataElement
    #: What a group is, in messages.
    group_noun: str = 'group'
    #: Metainfo key of a data sample's two-stage handle, from which
    #: :meth:`element_inputs` loads the selected elements (None: one-stage).
    source_key: Optional[str] = None

    def __init__(self,
                 base: nn.Module,
                 ddnet: Optional[nn.Module],
                 aggregator: Union[dict, DDLAggregator],
                 base_checkpoint: Optional[str] = None,
                 ddnet_checkpoint: Optional[str] = None,
                 count_flops: bool = False,
                 allow_random_weights: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 provenance_check: Union[str, Sequence[str]] = 'error'
                 ) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.aggregator = build_aggregator(aggregator)
        if self.aggregator.needs_scores and ddnet is None:
            raise ValueError(f'aggregator {self.aggregator!r} ranks elements '
                             'by D-score: a `ddnet` is required.')
        self.base = base
        self.ddnet = ddnet
        self.base_checkpoint = base_checkpoint
        self.ddnet_checkpoint = ddnet_checkpoint
        self.count_flops = bool(count_flops)
        self.allow_random_weights = bool(allow_random_weights)
        self._weights_loaded = dict.fromkeys(PARTS, False)
        provenance_policy(provenance_check)  # a bad value fails now
        self.provenance_check = provenance_check
        self._provenance: Optional[ProvenanceCheck] = None
        self._provenance_hook = None
        self.load_checkpoints()

    # ------------------------------------------------------------ weights
    def load_checkpoints(self) -> None:
        """Load ``base_checkpoint`` / ``ddnet_checkpoint`` strictly; check
        the DDNet checkpoint's provenance against the base checkpoint (now
        when the aggregator runs the DDNet, else at its first forward) and
        against every input shape the DDNet receives."""
        for part in PARTS:
            ckpt, model = getattr(self,
                                  f'{part}_checkpoint'), getattr(self, part)
            if ckpt and model is not None:
                meta = load_submodule_checkpoint(model, ckpt, part)
                self._weights_loaded[part] = True
                if part == 'ddnet':
                    self._attach_provenance(meta.get(PROVENANCE_KEY), ckpt)
        if self._provenance is None:
            return
        if self.base_checkpoint and self._weights_loaded['base']:
            self._provenance.set_base(self.base_checkpoint, 'its checkpoint')
            if self.aggregator.needs_scores:
                self._provenance.check_base()
        else:  # weights from a state dict later, or untrained
            self._provenance.set_base(None, 'no base checkpoint file')

    def _attach_provenance(self, provenance: Optional[dict],
                           source: str) -> None:
        """Check the DDNet against ``provenance`` (None: it has none, a
        warning once) from now on, replacing an earlier check."""
        if self._provenance_hook is not None:
            self._provenance_hook.remove()
        self._provenance = ProvenanceCheck(provenance, source,
                                           self.provenance_check,
                                           type(self).__name__)
        self._provenance_hook = self._provenance.attach(self.ddnet)

    def init_weights(self) -> None:
        """Initialise, then re-load the checkpoints (so a Runner's weight
        initialisation cannot overwrite the trained base / DDNet)."""
        super().init_weights()
        self._weights_loaded = dict.fromkeys(PARTS, False)
        self.load_checkpoints()

    def _load_from_state_dict(self, state_dict, prefix, *args,
                              **kwargs) -> None:
        """Load a wrapper state dict or a bare base / DDNet one (what a
        Runner's ``load_from``, mmaction2's / mmpretrain's stock
        ``tools/test.py``, ``init_recognizer`` or ``init_model`` pass),
        strictly (see :func:`mmddl.models.utils.wrapper_state`); a part the
        state dict does not hold keeps its weights."""
        mine = [k for k in state_dict if k.startswith(prefix)]
        if mine:
            state, given = wrapper_state(
                {k[len(prefix):]: state_dict.pop(k)
                 for k in mine}, {p: getattr(self, p)
                                  for p in PARTS},
                f'state dict loaded into {type(self).__name__}')
            for part in PARTS:
                model = getattr(self, part)
                if part not in given and model is not None:
                    state.update((f'{part}.{k}', v)
                                 for k, v in model.state_dict().items())
            state_dict.update((prefix + k, v) for k, v in state.items())
            for part in given:
                self._weights_loaded[part] = True
            if 'ddnet' in given:
                self._attach_provenance(
                    None, f'state dict loaded into {type(self).__name__}')
            if 'base' in given and self._provenance is not None:
                self._provenance.set_base(
                    None, "a state dict (e.g. the Runner's load_from)")
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _check_weights(self) -> None:
        parts = PARTS if self.aggregator.needs_scores else PARTS[:1]
        for part in parts:
            if not (self._weights_loaded[part] or self.allow_random_weights):
                raise RuntimeError(
                    f'{type(self).__name__}: the {part} has no trained '
                    f'weights (no {part}_checkpoint was loaded). Set '
                    f'{part}_checkpoint (tools/test.py: the positional '
                    'checkpoint / --ddnet-checkpoint), load a wrapper '
                    'checkpoint, or pass allow_random_weights=True (tests).')

    def train(self, mode: bool = True) -> 'BaseDDLModel':
        """Set the mode; the base and the DDNet always stay in eval mode
        (frozen BN statistics): this is a test-time model."""
        super().train(mode)
        for part in PARTS:
            if getattr(self, part) is not None:
                getattr(self, part).eval()
        return self

    # ------------------------------------------------------------ subclass
    @abstractmethod
    def split_groups(self, inputs,
                     data_samples: Optional[list]) -> List[torch.Tensor]:
        """The collated inputs as one ``(n_i, ...)`` element stack per
        group."""

    @abstractmethod
    def score_elements(self, x: torch.Tensor) -> torch.Tensor:
        """D-scores ``(n,)`` of a stack of elements (the DDNet)."""

    @abstractmethod
    def element_outputs(self, x: torch.Tensor) -> torch.Tensor:
        """Base outputs ``(n, d)`` of a stack of elements, as fused."""

    @abstractmethod
    def element_gflops(self, part: str, element: torch.Tensor) -> float:
        """GFLOPs of ``part`` (``'base'`` / ``'ddnet'``) on one element (for
        ``'base'`` as :meth:`element_inputs` gives it)."""

    def element_inputs(self, groups: List[torch.Tensor],
                       selected: List[torch.Tensor],
                       data_samples: Optional[list]) -> List[torch.Tensor]:
        """The base's inputs of the selected elements of each group.

        Args:
            groups (list[Tensor]): ``(n_i, ...)`` elements per group (what
                the DDNet scores).
            selected (list[Tensor]): Indices of the elements to run, per
                group (all of ``range(n_i)`` for every candidate).
            data_samples (list, optional): One per group.

        Returns:
            list[Tensor]: ``(len(selected[i]), ...)`` per group; by default
            the selected elements themselves (subclasses may load them at
            another resolution): the group itself when all of its elements
            are selected in order (no copy), else an indexed copy.
        """
        return [take_elements(g, s) for g, s in zip(groups, selected)]

    def two_stage_sources(self,
                          data_samples: Optional[list]) -> Optional[list]:
        """The two-stage handle (:attr:`source_key`) of each data sample, or
        None when no sample has one (one-stage inputs).

        Args:
            data_samples (list, optional): One per group.

        Returns:
            list | None: One handle per group, or None.

        Raises:
            ValueError: Some samples carry a handle and others not.
        """
        key = self.source_key
        if not data_samples or key is None:
            return None
        sources = [
            None if s is None else s.metainfo.get(key) for s in data_samples
        ]
        have = sum(src is not None for src in sources)
        if have == 0:
            return None
        if have != len(sources):
            raise ValueError(f'{have} of {len(sources)} {self.group_noun}s of '
                             f'the batch carry a {key}: two-stage and '
                             'one-stage inputs cannot be mixed in a batch')
        return sources

    def inputs_are_elements(self, data_samples: Optional[list]) -> bool:
        """Whether :meth:`element_inputs` only indexes the groups (its time
        then counts as the base's, not as decoding): False when the data
        samples carry two-stage handles.

        Args:
            data_samples (list, optional): One per group.
        """
        return self.two_stage_sources(data_samples) is None

    def fuse(self, outputs: torch.Tensor, kept_scores: Optional[torch.Tensor],
             selected: List[torch.Tensor],
             data_samples: Optional[list]) -> torch.Tensor:
        """Fuse the kept outputs of all groups: ``(G, d)``.

        Args:
            outputs (Tensor): (K, d) kept elements' outputs, group by group.
            kept_scores (Tensor, optional): (K,) their D-scores.
            selected (list[Tensor]): Kept indices per group.
            data_samples (list, optional): One per group.

        Returns:
            Tensor: (G, d) fused outputs.
        """
        return self.aggregator.fuse_groups(outputs, kept_scores,
                                           [len(s) for s in selected])

    def fused_prediction(self, fused: torch.Tensor) -> torch.Tensor:
        """The model's prediction from the fused outputs ``(G, d)``."""
        return fused

    @abstractmethod
    def set_prediction(self, sample: BaseDataElement,
                       pred: torch.Tensor) -> None:
        """Write one group's prediction into its data sample."""

    # ------------------------------------------------------------ loop
    @staticmethod
    def chunked(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                step: Optional[int]) -> torch.Tensor:
        """``fn`` over ``x`` in chunks of ``step`` rows (None: at once)."""
        step = step or x.shape[0]
        return torch.cat(
            [fn(x[i:i + step]) for i in range(0, x.shape[0], step)])

    @staticmethod
    def map_groups(fn: Callable[[torch.Tensor], torch.Tensor],
                   groups: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        """``fn`` over the elements of all groups, in one call when their
        elements share a shape; split back per group (one group is passed
        as is, without a concatenating copy)."""
        if len(groups) == 1:
            return [fn(groups[0])]
        if len({tuple(g.shape[1:]) for g in groups}) == 1:
            return list(
                fn(cat_keep_layout(groups)).split([g.shape[0]
                                                   for g in groups]))
        return [fn(g) for g in groups]

    def group_names(self, data_samples: Optional[list],
                    num_groups: int) -> List[str]:
        """Each group's name in messages: ``"video 'a.mp4'"`` from the first
        of :data:`NAME_KEYS` its data sample has, else its batch position.

        Args:
            data_samples (list, optional): One per group.
            num_groups (int): Groups of the batch.
        """
        names = []
        for i in range(num_groups):
            sample = None if not data_samples else data_samples[i]
            key = None if sample is None else next(
                (k for k in NAME_KEYS if k in sample), None)
            names.append(f'{self.group_noun} {sample.get(key)!r}'
                         if key else f'{self.group_noun} #{i} of the batch')
        return names

    @staticmethod
    def identical_groups(groups: List[torch.Tensor]) -> List[bool]:
        """Whether all elements of each group are identical (e.g. the clips
        of a 1-frame video): a cheap sum per element first, exact
        comparison only when those agree.

        Args:
            groups (list[Tensor]): ``(n_i, ...)`` elements per group.
        """
        out = []
        for g in groups:
            same = g.shape[0] > 1 and g.dim() > 1
            if same:
                sums = g.sum(dim=tuple(range(1, g.dim())), dtype=torch.float64)
                same = bool((sums == sums[0]).all()) and all(
                    torch.equal(g[i], g[0]) for i in range(1, g.shape[0]))
            out.append(same)
        return out

    def check_scores(self, scores: List[torch.Tensor],
                     groups: List[torch.Tensor], names: List[str]) -> None:
        """Raise :class:`NonFiniteError` naming the first group with a NaN /
        inf D-score and the cause: non-finite DDNet weights (named, with
        the checkpoint), non-finite inputs, or an overflow in the DDNet.

        Args:
            scores (list[Tensor]): (n_i,) D-scores per group.
            groups (list[Tensor]): The groups' elements.
            names (list[str]): The groups' names.
        """
        for s, g, name in zip(scores, groups, names):
            bad = ~torch.isfinite(s)
            if not bool(bad.any()):
                continue
            nan = int(torch.isnan(s).sum())
            weights = [
                k for k, v in self.ddnet.state_dict().items()
                if v.is_floating_point() and not bool(torch.isfinite(v).all())
            ]
            if weights:
                cause = (f'the DDNet holds {len(weights)} non-finite weight '
                         f'tensors (first: {weights[:3]}) loaded from '
                         f'{self.ddnet_checkpoint!r}: retrain or use another '
                         'checkpoint')
            elif g.is_floating_point() and not bool(torch.isfinite(g).all()):
                cause = ('its inputs hold NaN / inf: check the file and the '
                         'test pipeline')
            else:
                cause = ('the DDNet weights and the inputs are finite, so '
                         'its forward overflowed: check the input '
                         'normalisation / size against what the DDNet was '
                         'trained with')
            raise NonFiniteError(
                f'the D-scores of {name} hold {nan} NaN and '
                f'{int(bad.sum()) - nan} inf of {s.numel()} (first at '
                f'elements {torch.nonzero(bad).flatten()[:5].tolist()}): '
                f'{cause}.')

    @contextlib.contextmanager
    def operating_point(self, aggregator: Union[dict, DDLAggregator]
                        ) -> Iterator[DDLAggregator]:
        """Use another aggregator (mode, K, t, fusion level) inside the
        ``with`` block, then restore the wrapper's own.

        Args:
            aggregator (dict | DDLAggregator): The operating point.

        Yields:
            DDLAggregator: The aggregator in use.
        """
        saved = self.aggregator
        self.aggregator = build_aggregator(copy.deepcopy(aggregator))
        try:
            yield self.aggregator
        finally:
            self.aggregator = saved

    def encode_groups(self,
                      groups: List[torch.Tensor],
                      data_samples: Optional[list] = None,
                      source: Optional[Any] = None) -> List[Dict]:
        """Score, select, run the base on the selected elements, fuse.

        Args:
            groups (list[Tensor]): ``(n_i, ...)`` elements per group.
            data_samples (list, optional): One per group (read by
                :meth:`fuse` of subclasses that need meta information).
            source (object, optional): Where the elements' D-scores, base
                outputs and GFLOPs come from: an object with this class's
                element interface (``identical_groups``, ``score_elements``,
                ``element_inputs``, ``inputs_are_elements``,
                ``element_outputs``, ``element_gflops``, ``count_flops``),
                e.g. a sweep dump's recorded values
                (:class:`mmddl.analysis.sweep.DumpElements`). Default: the
                wrapper's own forwards. Selection, weights and fusion are
                always the wrapper's.

        Returns:
            list[dict]: Per group ``pred`` and the contract's fields.
        """
        src = self if source is None else source
        if source is None:
            self._check_weights()
        agg = self.aggregator
        device = groups[0].device
        names = self.group_names(data_samples, len(groups))
        identical = src.identical_groups(groups)  # not part of the timing
        _sync(device)
        t0 = time.perf_counter()
        scores = (
            self.map_groups(src.score_elements, groups)
            if agg.needs_scores else None)
        _sync(device)
        t1 = time.perf_counter()
        if scores is not None:
            self.check_scores(scores, groups, names)
        selected, fallbacks = agg.select_and_report(
            None if scores is None else torch.cat(scores),
            [g.shape[0] for g in groups], names, identical)
        for fb, sample in zip(fallbacks, data_samples or []):
            if sample is not None and sample.get(UNCHECKED_FIELD, False):
                fb.append('unchecked_layout')
        selected = [s.to(g.device) for s, g in zip(selected, groups)]
        t_in = time.perf_counter()
        inputs = src.element_inputs(groups, selected, data_samples)
        _sync(device)
        decode_s = 0.0 if src.inputs_are_elements(data_samples) else \
            time.perf_counter() - t_in
        outputs = self.map_groups(src.element_outputs, inputs)
        kept = None if scores is None else torch.cat(
            [sc[s.to(sc.device)] for sc, s in zip(scores, selected)])
        preds = self.fused_prediction(
            self.fuse(torch.cat(outputs), kept, selected, data_samples))
        _sync(device)
        t2 = time.perf_counter()
        n_groups = len(groups)
        base_s = t2 - t1 - decode_s
        results = []
        for i, (group, sel) in enumerate(zip(groups, selected)):
            res = dict(
                pred=preds[i],
                ddl_scores=(torch.zeros(0) if scores is None else
                            scores[i].detach().float().cpu()),
                ddl_selected=sel.cpu(),
                base_elements=int(sel.numel()),
                ddnet_elements=0 if scores is None else int(group.shape[0]),
                time_ddnet_s=(t1 - t0) / n_groups,
                time_base_s=base_s / n_groups,
                time_model_s=(t1 - t0 + base_s) / n_groups,
                time_decode_s=decode_s / n_groups)
            res[FALLBACK_FIELD] = fallbacks[i]
            if src.count_flops:
                res['gflops_base'] = (
                    src.element_gflops('base', inputs[i][:1]) *
                    res['base_elements'] if res['base_elements'] else 0.0)
                res['gflops_ddnet'] = (
                    src.element_gflops('ddnet', group[:1]) *
                    res['ddnet_elements'] if scores is not None else 0.0)
            results.append(res)
        return results

    # ------------------------------------------------------------ interface
    def _groups(self,
                inputs,
                data_samples: Optional[list],
                source: Optional[Any] = None) -> List[torch.Tensor]:
        """:meth:`split_groups` (the source's), checked against the data
        samples."""
        groups = (self if source is None else source).split_groups(
            inputs, data_samples)
        if data_samples is not None and len(data_samples) != len(groups):
            raise ValueError(f'{len(data_samples)} data samples for '
                             f'{len(groups)} groups')
        return groups

    def predict(self,
                inputs,
                data_samples: Optional[list] = None,
                source: Optional[Any] = None) -> list:
        """Data samples with the fused prediction and the contract's fields.

        Args:
            inputs (Tensor | list): Collated groups (see the subclass), or
                the source's groups when ``source`` is given.
            data_samples (list, optional): One per group; filled in place.
            source (object, optional): Recorded elements instead of the
                wrapper's forwards (see :meth:`encode_groups`).

        Returns:
            list: The data samples.
        """
        groups = self._groups(inputs, data_samples, source)
        with torch.no_grad():
            results = self.encode_groups(groups, data_samples, source)
        if data_samples is None:
            data_samples = [None] * len(groups)
        out = []
        for sample, res in zip(data_samples, results):
            sample = self.data_sample_type() if sample is None else sample
            self.set_prediction(sample, res.pop('pred'))
            for name, value in res.items():
                sample.set_field(value, name)
            out.append(sample)
        return out

    def forward(self,
                inputs,
                data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        """``'predict'``: data samples (:meth:`predict`); ``'tensor'``: the
        stacked fused predictions; ``'loss'`` is refused (a test-time model:
        train the base and the DDNet with their own configs)."""
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            groups = self._groups(inputs, data_samples)
            with torch.no_grad():
                return torch.stack([
                    r['pred']
                    for r in self.encode_groups(groups, data_samples)
                ])
        if mode == 'loss':
            raise RuntimeError(
                f"{type(self).__name__} is a test-time model and has no "
                "mode='loss'; train the base and the DDNet separately with "
                'their own configs.')
        raise RuntimeError(f'Invalid mode {mode!r}; only predict and tensor.')
