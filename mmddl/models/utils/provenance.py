"""Provenance of a trained DDNet (its base checkpoint, score table, input
shape and D-score variant): written into its checkpoint by the training hook
and checked by the test-time wrappers."""
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import MMLogger

from mmddl.structures.score_table import to_jsonable
from mmddl.utils.content_hash import checkpoint_sha256, file_sha256

#: Key of the provenance in a DDNet checkpoint's ``meta``.
PROVENANCE_KEY = 'ddl_provenance'
PROVENANCE_VERSION = 1
#: Fields a test run checks; ``provenance_check`` may allow each to differ.
CHECKED_FIELDS = ('base', 'input')
#: Distinct input shapes recorded before only their bounds are kept.
MAX_SHAPES = 16

#: Checkpoints whose missing provenance was already reported (once each).
_REPORTED: Set[Tuple[str, str]] = set()


class ProvenanceError(RuntimeError):
    """A DDNet is used with another base or input than it was trained on."""


def input_module(model: nn.Module) -> nn.Module:
    """The module that receives a DDNet's input elements: its ``backbone``
    (mmaction / mmpretrain recognizers: ``(n, C, T, H, W)`` clips or
    ``(n, C, H, W)`` images, the same at training and at test time), else
    the model itself."""
    backbone = getattr(model, 'backbone', None)
    return backbone if isinstance(backbone, nn.Module) else model


def describe_shape(shape: Sequence[int]) -> str:
    """``'4 frames x 32x32 px (C x T x H x W = 3x4x32x32)'`` for a clip,
    ``'32x32 px (C x H x W = 3x32x32)'`` for an image."""
    dims = 'x'.join(str(int(s)) for s in shape)
    if len(shape) == 4:
        return (f'{shape[1]} frames x {shape[2]}x{shape[3]} px (C x T x H x '
                f'W = {dims})')
    if len(shape) == 3:
        return f'{shape[1]}x{shape[2]} px (C x H x W = {dims})'
    return f'element shape {dims}'


class InputShapes:
    """The distinct element shapes (``x.shape[1:]``) a DDNet's input module
    receives in training mode: a forward pre-hook (:meth:`attach`).

    Args:
        max_shapes (int): Distinct shapes kept; beyond, only the bounds per
            dimension are (``complete`` False).
    """

    def __init__(self, max_shapes: int = MAX_SHAPES) -> None:
        self.max_shapes = max_shapes
        self.shapes: List[Tuple[int, ...]] = []
        self.complete = True
        self.low: Optional[List[int]] = None
        self.high: Optional[List[int]] = None

    def add(self, shape: Sequence[int]) -> None:
        """Record one element shape."""
        shape = tuple(int(s) for s in shape)
        if self.low is not None and len(shape) != len(self.low):
            self.complete = False  # ranks differ: bounds of the first rank
            return
        if shape not in self.shapes:
            if len(self.shapes) < self.max_shapes:
                self.shapes.append(shape)
            else:
                self.complete = False
        self.low = list(shape) if self.low is None else [
            min(a, b) for a, b in zip(self.low, shape)
        ]
        self.high = list(shape) if self.high is None else [
            max(a, b) for a, b in zip(self.high, shape)
        ]

    def __call__(self, module: nn.Module, args: tuple) -> None:
        if module.training and args and torch.is_tensor(args[0]) \
                and args[0].dim() >= 2:
            self.add(args[0].shape[1:])

    def attach(self, model: nn.Module):
        """Record the inputs of ``model``'s :func:`input_module`.

        Returns:
            The hook handle (``remove()`` detaches it).
        """
        return input_module(model).register_forward_pre_hook(self)

    def to_dict(self) -> Dict[str, Any]:
        """``shapes`` (sorted), ``complete``, ``min`` and ``max``."""
        return dict(
            shapes=[list(s) for s in sorted(self.shapes)],
            complete=self.complete,
            min=self.low,
            max=self.high)


def make_provenance(base_checkpoint: str, base_sha256: Optional[str],
                    table_file: Optional[str], table: Any,
                    inputs: InputShapes) -> Dict[str, Any]:
    """The provenance of a DDNet trained on a score table.

    Args:
        base_checkpoint (str): The base checkpoint the table was computed
            with.
        base_sha256 (str, optional): Its identity as the table's fingerprint
            recorded it; None: computed (:func:`checkpoint_sha256`).
        table_file (str, optional): The score table file (hashed).
        table (ScoreTable, optional): The table (fingerprint, metric, info).
        inputs (InputShapes): What the DDNet's input module received.

    Returns:
        dict: Plain data (``version``, ``base_checkpoint``, ``score_table``,
        ``ddnet_input``, ``dscore``) for ``checkpoint['meta']``.
    """
    info = dict(getattr(table, 'info', None) or {})
    table_rec = None
    if table is not None:
        table_rec = dict(
            path=None if table_file is None else osp.abspath(table_file),
            sha256=(file_sha256(table_file)
                    if table_file and osp.isfile(table_file) else None),
            fingerprint=table.fingerprint,
            num_elements=len(table),
            info={
                k: info[k]
                for k in ('clip_len', 'frame_interval', 'num_classes')
                if k in info
            })
    out = dict(
        version=PROVENANCE_VERSION,
        base_checkpoint=dict(
            path=(osp.abspath(base_checkpoint)
                  if osp.isfile(base_checkpoint) else base_checkpoint),
            sha256=base_sha256 or checkpoint_sha256(base_checkpoint)),
        score_table=table_rec,
        ddnet_input=inputs.to_dict(),
        dscore=dict(
            metric=getattr(table, 'metric', None),
            normalization=(info.get('normalization', 'global')
                           if table is not None else None),
            algorithm=(table.fingerprint.get('algorithm')
                       if table is not None else None)))
    return to_jsonable(out)


def provenance_policy(value: Union[str, Sequence[str]]) -> Set[str]:
    """The fields allowed to differ (logged) by ``provenance_check``.

    Args:
        value (str | Sequence[str]): ``'error'`` (every mismatch stops the
            run), ``'warn'`` (every mismatch is logged, the run goes on) or
            a list of the fields allowed to differ, of
            :data:`CHECKED_FIELDS` (``'base'``, ``'input'``).

    Returns:
        set[str]: The allowed fields.
    """
    if value == 'error':
        return set()
    if value == 'warn':
        return set(CHECKED_FIELDS)
    fields = [value] if isinstance(value, str) else list(value)
    unknown = [f for f in fields if f not in CHECKED_FIELDS]
    if unknown:
        raise ValueError(
            f"provenance_check must be 'error', 'warn' or a list of "
            f'{list(CHECKED_FIELDS)}, got {value!r}')
    return set(fields)


def _logger():
    return MMLogger.get_current_instance()


class ProvenanceCheck:
    """Checks one loaded DDNet against the run: the base checkpoint (once)
    and the shape of every distinct input (a forward pre-hook on the
    DDNet's input module, so the check runs at its first forward whatever
    calls it: the wrapper's forward, the sweep's dense pass).

    Args:
        provenance (dict, optional): ``meta['ddl_provenance']`` of the DDNet
            checkpoint; None: an older checkpoint without one (a warning
            once, nothing is checked).
        ddnet_checkpoint (str): The DDNet checkpoint (for messages).
        policy (str | Sequence[str]): ``provenance_check`` (see
            :func:`provenance_policy`).
        owner (str): The wrapper's class name (for messages).
    """

    def __init__(self,
                 provenance: Optional[Dict[str, Any]],
                 ddnet_checkpoint: str,
                 policy: Union[str, Sequence[str]] = 'error',
                 owner: str = 'DDL wrapper') -> None:
        self.provenance = provenance
        self.ddnet_checkpoint = ddnet_checkpoint
        self.policy = policy
        self.allowed = provenance_policy(policy)
        self.owner = owner
        #: the base's checkpoint file; None: weights from elsewhere
        self.base_file: Optional[str] = None
        self.base_source = 'no base checkpoint'
        self.base_checked = False
        self._shapes_seen: Set[Tuple[int, ...]] = set()
        self._logged: Set[str] = set()
        if provenance is None:
            self._once_per_process(
                'missing',
                f'{owner}: the DDNet checkpoint {ddnet_checkpoint!r} has no '
                f"provenance (meta['{PROVENANCE_KEY}']; an older "
                'checkpoint): the base it was trained for, its input size '
                'and D-score variant are unknown and not compared with this '
                'run. Retrain it '
                'with tools/train.py (DiscriminabilityHook records them) or '
                'add them with tools/analysis/ddnet_provenance.py.')
        elif self.allowed:
            _logger().warning(
                f'{owner}: provenance_check={policy!r}: a different '
                f'{" / ".join(sorted(self.allowed))} than the DDNet '
                f'{ddnet_checkpoint!r} was trained for is logged, not '
                'refused')

    def _once_per_process(self, what: str, message: str) -> None:
        key = (osp.abspath(self.ddnet_checkpoint), what)
        if key not in _REPORTED:
            _REPORTED.add(key)
            _logger().warning(message)

    def _mismatch(self, field: str, message: str) -> None:
        how = (f"Set model.provenance_check=['{field}'] (or 'warn') to run "
               'anyway; the mismatch is then logged.')
        if field not in self.allowed:
            raise ProvenanceError(f'{self.owner}: {message} {how}')
        if message not in self._logged:
            self._logged.add(message)
            _logger().warning(f'{self.owner}: {message} Running anyway as '
                              f'provenance_check={self.policy!r} allows it.')

    # ------------------------------------------------------------ base
    def set_base(self, base_file: Optional[str], source: str) -> None:
        """Where the base's weights come from (before the check).

        Args:
            base_file (str, optional): Its checkpoint file; None: the
                weights were not loaded from a file.
            source (str): Description for messages (``'a state dict'``).
        """
        self.base_file, self.base_source = base_file, source
        self.base_checked = False

    def check_base(self) -> None:
        """Compare the base checkpoint's SHA-256 with the recorded one."""
        if self.provenance is None or self.base_checked:
            return
        self.base_checked = True
        rec = self.provenance.get('base_checkpoint') or {}
        want = rec.get('sha256')
        if want is None:
            return
        if self.base_file is None:
            self._once_per_process(
                'base-unknown', f'{self.owner}: the base weights come from '
                f'{self.base_source}, not a checkpoint file, so the base '
                f'the DDNet {self.ddnet_checkpoint!r} was trained for '
                f'(sha256 {want}, {rec.get("path")!r}) is not compared')
            return
        have = checkpoint_sha256(self.base_file)
        if have != want:
            self._mismatch(
                'base', f'the DDNet checkpoint {self.ddnet_checkpoint!r} was '
                f'trained for another base model: trained with base sha256 '
                f'{want} ({rec.get("path")!r}), this run\'s base is sha256 '
                f'{have} ({self.base_file!r}). A DDNet ranks elements by '
                "its base's features: use the DDNet trained for this base "
                '(or train one: tools/train.py with DiscriminabilityHook).')

    # ------------------------------------------------------------ input
    def check_input(self, shape: Sequence[int]) -> None:
        """Compare one element shape the DDNet receives with the recorded
        training shapes.

        Args:
            shape (Sequence[int]): ``x.shape[1:]`` of the DDNet's input.
        """
        shape = tuple(int(s) for s in shape)
        if self.provenance is None or shape in self._shapes_seen:
            return
        self._shapes_seen.add(shape)
        rec = self.provenance.get('ddnet_input') or {}
        shapes = [tuple(s) for s in rec.get('shapes') or []]
        if not shapes:
            return  # nothing was recorded (no training iteration)
        if rec.get('complete', True):
            ok = shape in shapes
        else:
            low, high = rec.get('min') or [], rec.get('max') or []
            ok = len(shape) == len(low) and all(
                lo <= s <= hi for s, lo, hi in zip(shape, low, high))
        if ok:
            return
        trained = ' or '.join(describe_shape(s) for s in shapes)
        if not rec.get('complete', True):
            trained = f'shapes between {rec.get("min")} and {rec.get("max")}'
        self._mismatch(
            'input',
            f'the DDNet checkpoint {self.ddnet_checkpoint!r} was trained on '
            f'inputs of {trained}; this run feeds it '
            f'{describe_shape(shape)}. Set the DDNet input of the model '
            '(DDLRecognizer: ddnet_input num_frames / size and the test '
            "pipeline's DDLTwoStageDecode.ddnet_frames; DDLGroupEncoder: "
            'ddnet_input_size) to what it was trained on.')

    def __call__(self, module: nn.Module, args: tuple) -> None:
        """Forward pre-hook of the DDNet's input module."""
        if torch.jit.is_tracing() or not args or not torch.is_tensor(
                args[0]) or args[0].dim() < 2:
            return
        self.check_base()
        self.check_input(args[0].shape[1:])
        if self.provenance is not None and 'checked' not in self._logged:
            self._logged.add('checked')
            _logger().info(f'{self.owner}: DDNet {self.ddnet_checkpoint!r} '
                           f'provenance checked ({self.summary()})')

    def attach(self, model: nn.Module):
        """Check at every forward of ``model``'s :func:`input_module`.

        Returns:
            The hook handle (``remove()`` detaches it).
        """
        return input_module(model).register_forward_pre_hook(self)

    def summary(self) -> str:
        """One line: what the DDNet was trained for."""
        p = self.provenance or {}
        base = (p.get('base_checkpoint') or {}).get('sha256')
        shapes = (p.get('ddnet_input') or {}).get('shapes') or []
        d = p.get('dscore') or {}
        return (f'base sha256 {base}, input '
                f'{", ".join(describe_shape(s) for s in shapes) or "?"}, '
                f'D-score {d.get("metric")}/{d.get("normalization")}')
