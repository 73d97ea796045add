"""DDL group encoder: test-time set/template/tracklet representation.

For every group (a face template, a video's frames, a re-ID tracklet) the
DDNet scores all elements, the aggregator keeps a few, the base model
(an mmpretrain classifier: face recogniser or re-ID network) runs ONLY on the
kept elements and their features are fused with the aggregator's weights
(paper Sec. 3.3, Eq. 7-11; the equations live in :mod:`mmddl.core.fusion`).
"""
import inspect
import logging
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModel
from mmengine.registry import MODELS
from mmengine.runner.checkpoint import load_checkpoint
from mmengine.structures import BaseDataElement
from mmpretrain.registry import MODELS as PRETRAIN_MODELS
from mmpretrain.structures import DataSample

from mmddl.models.aggregators import DDLAggregator  # noqa: F401  (registers it)

GroupInputs = Union[torch.Tensor, Sequence[Union[torch.Tensor,
                                                 Sequence[torch.Tensor]]]]


def _build_pretrain_model(
        cfg: Union[dict, torch.nn.Module]) -> torch.nn.Module:
    """Build an mmpretrain-scoped model (works under any default scope)."""
    if isinstance(cfg, torch.nn.Module):
        return cfg
    cfg = dict(cfg)
    cfg.setdefault('_scope_', 'mmpretrain')
    return PRETRAIN_MODELS.build(cfg)


def _pool_feature(x: Union[torch.Tensor, Tuple[torch.Tensor]]) -> torch.Tensor:
    """Last feature of a tuple, global-average pooled to ``(n, d)``."""
    if isinstance(x, (tuple, list)):
        x = x[-1]
    if x.dim() > 2:
        x = x.flatten(2).mean(dim=2)
    if x.dim() != 2:
        raise ValueError(f'base features must be (n, d), got {tuple(x.shape)}')
    return x


@MODELS.register_module()
class DDLGroupEncoder(BaseModel):
    """Encode groups of images into one feature each with DDL.

    Inputs (``forward(inputs, data_samples, mode='predict')``), one entry per
    group (each data-set item is a group packed by ``PackInputs``):

    * a list of ``(n_i, C, H, W)`` tensors (what ``group_collate`` makes of
      ``PackInputs`` items holding a list of images: use
      ``collate_fn=dict(type='group_collate')``, since mmengine's default
      ``pseudo_collate`` fails on groups of different sizes), or a list of
      lists of ``(C, H, W)`` tensors (a group's images of one size), or
    * a padded ``(G, n_max, C, H, W)`` tensor; then each data sample may carry
      ``num_elements`` (its real group size; the padding is cut off).

    Raw pixel values are expected: the base and the DDNet each normalise with
    their own ``data_preprocessor`` (e.g. ``ClsDataPreprocessor`` mean/std);
    this model's own preprocessor only moves data to the device. The DDNet
    sees every element resized to ``ddnet_input_size`` (bilinear,
    antialiased), the base the full-size kept elements.

    Output per group (fields of its data sample): ``pred_feature`` ``(d,)``
    fused feature, ``base_images`` (int, elements the base ran on),
    ``ddnet_images`` (int, elements the DDNet scored; 0 in dense / uniform /
    random modes, which skip it), ``ddl_selected`` (LongTensor, kept element
    indices in the aggregator's order), ``ddl_scores`` ``(n_i,)`` D-scores
    (empty when the DDNet was skipped).

    Args:
        base (dict | nn.Module): mmpretrain classifier config (e.g.
            ``ImageClassifier`` with an ``ArcFaceClsHead`` or ``ReIDHead``).
            Features: ``extract_feat(x, stage=feature_stage)``; a tuple gives
            its last item, feature maps are average-pooled.
        aggregator (dict): ``DDLAggregator`` config (modes ddl,
            ddl_norescale, top1, dense, uniform, random).
        ddnet (dict | nn.Module, optional): ``ImageClassifier`` +
            ``DDNetResNet`` + ``DDNetHead`` config; ``model(x, mode='tensor')``
            must return ``(n,)`` D-scores. Required by score modes.
        base_checkpoint (str, optional): Checkpoint of the base.
        ddnet_checkpoint (str, optional): Checkpoint of the DDNet.
        ddnet_input_size (int | tuple[int, int], optional): DDNet input size;
            None feeds the images unchanged. Defaults to 112.
        feature_stage (str): ``extract_feat`` stage of the base:
            ``'pre_logits'`` (head's ``pre_logits``), ``'neck'`` or
            ``'backbone'``. Defaults to ``'pre_logits'``.
        normalize_elements (bool): L2-normalise each element feature before
            fusion (face recognition). Defaults to True.
        normalize_output (bool): L2-normalise the fused feature.
            Defaults to False.
        max_batch (int): Largest batch of images per forward pass.
        data_preprocessor (dict, optional): Defaults to mmengine's
            ``BaseDataPreprocessor`` (device transfer only).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 base: Union[dict, torch.nn.Module],
                 aggregator: dict = dict(type='DDLAggregator', mode='dense'),
                 ddnet: Optional[Union[dict, torch.nn.Module]] = None,
                 base_checkpoint: Optional[str] = None,
                 ddnet_checkpoint: Optional[str] = None,
                 ddnet_input_size: Optional[Union[int, Tuple[int, int]]] = 112,
                 feature_stage: str = 'pre_logits',
                 normalize_elements: bool = True,
                 normalize_output: bool = False,
                 max_batch: int = 256,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if feature_stage not in ('pre_logits', 'neck', 'backbone'):
            raise ValueError('feature_stage must be pre_logits, neck or '
                             f'backbone, got {feature_stage!r}.')
        if max_batch < 1:
            raise ValueError(f'max_batch must be >= 1, got {max_batch}.')
        self.aggregator = (MODELS.build(aggregator) if isinstance(
            aggregator, dict) else aggregator)
        if self.aggregator.needs_scores and ddnet is None:
            raise ValueError(
                f'aggregator {self.aggregator!r} ranks elements by D-score: '
                'a `ddnet` config is required.')
        self.base = _build_pretrain_model(base)
        self.ddnet = None if ddnet is None else _build_pretrain_model(ddnet)
        self.base_checkpoint = base_checkpoint
        self.ddnet_checkpoint = ddnet_checkpoint
        if isinstance(ddnet_input_size, int):
            ddnet_input_size = (ddnet_input_size, ddnet_input_size)
        self.ddnet_input_size = (None if ddnet_input_size is None else tuple(
            int(s) for s in ddnet_input_size))
        self.feature_stage = feature_stage
        self.normalize_elements = normalize_elements
        self.normalize_output = normalize_output
        self.max_batch = int(max_batch)
        self._load_checkpoints()

    # ------------------------------------------------------------ weights
    def _load_checkpoints(self) -> None:
        """Load the base / DDNet checkpoints given in the config."""
        if self.base_checkpoint:
            load_checkpoint(self.base,
                            self.base_checkpoint,
                            map_location='cpu')
        if self.ddnet is not None and self.ddnet_checkpoint:
            load_checkpoint(self.ddnet,
                            self.ddnet_checkpoint,
                            map_location='cpu')
        elif self.ddnet is not None and self.aggregator.needs_scores:
            print_log(
                'DDLGroupEncoder: no ddnet_checkpoint given, the DDNet '
                'keeps its initial weights.', 'current', logging.WARNING)

    def train(self, mode: bool = True) -> 'DDLGroupEncoder':
        """Set the mode; the base and the DDNet always stay in eval mode
        (frozen BN statistics), as this is a test-time model."""
        super().train(mode)
        self.base.eval()
        if self.ddnet is not None:
            self.ddnet.eval()
        return self

    def init_weights(self) -> None:
        """Initialise, then re-load the checkpoints (so a Runner's weight
        initialisation cannot overwrite the trained base / DDNet)."""
        super().init_weights()
        self._load_checkpoints()

    # ------------------------------------------------------------ inputs
    @staticmethod
    def _split_groups(inputs: GroupInputs,
                      data_samples: Optional[list]) -> List[torch.Tensor]:
        """Turn the collated inputs into a list of ``(n_i, C, H, W)``."""
        if isinstance(inputs, torch.Tensor):
            if inputs.dim() != 5:
                raise ValueError('a batched group tensor must be (G, n, C, H,'
                                 f' W), got {tuple(inputs.shape)}.')
            groups = list(inputs.unbind(0))
            if data_samples is not None:
                for g, ds in enumerate(data_samples):
                    if ds is not None and 'num_elements' in ds:
                        n = int(ds.num_elements)
                        if not 0 < n <= groups[g].shape[0]:
                            raise ValueError(
                                f'group {g}: num_elements={n} outside '
                                f'[1, {groups[g].shape[0]}].')
                        groups[g] = groups[g][:n]
            return groups
        groups = []
        for g, item in enumerate(inputs):
            if isinstance(item, (list, tuple)):
                shapes = {tuple(t.shape) for t in item}
                if len(shapes) > 1:
                    raise ValueError(f'group {g}: images of different sizes '
                                     f'{sorted(shapes)}; resize them in the '
                                     'pipeline.')
                item = torch.stack(list(item)) if item else None
            if item is None or item.dim() != 4 or item.shape[0] == 0:
                shape = None if item is None else tuple(item.shape)
                raise ValueError(f'group {g}: expected a non-empty (n, C, H, '
                                 f'W) stack of images, got {shape}.')
            groups.append(item)
        return groups

    # ------------------------------------------------------------ forwards
    def _chunked(self, fn, x: torch.Tensor) -> torch.Tensor:
        """Apply ``fn`` to ``x`` in chunks of ``max_batch`` rows."""
        return torch.cat([
            fn(x[i:i + self.max_batch])
            for i in range(0, x.shape[0], self.max_batch)
        ])

    @staticmethod
    def _preprocess(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Normalise raw images with ``model``'s own data preprocessor."""
        pre = getattr(model, 'data_preprocessor', None)
        if pre is None:
            return x.float()
        return pre(dict(inputs=x), False)['inputs']

    def _ddnet_scores(self, x: torch.Tensor) -> torch.Tensor:
        """D-scores ``(n,)`` of a batch of raw images."""
        x = x.float()
        if (self.ddnet_input_size is not None
                and tuple(x.shape[-2:]) != self.ddnet_input_size):
            x = F.interpolate(x,
                              size=self.ddnet_input_size,
                              mode='bilinear',
                              align_corners=False,
                              antialias=True)
        out = self.ddnet(self._preprocess(self.ddnet, x), mode='tensor')
        if isinstance(out, (tuple, list)):
            out = out[-1]
        if out.dim() == 2 and out.shape[1] == 1:
            out = out[:, 0]
        if out.shape != (x.shape[0], ):
            raise ValueError('the DDNet must give one score per image, got '
                             f'shape {tuple(out.shape)} for {x.shape[0]}.')
        return out.float()

    def _base_features(self, x: torch.Tensor) -> torch.Tensor:
        """Element features ``(n, d)`` of a batch of raw images."""
        x = self._preprocess(self.base, x)
        extract = self.base.extract_feat
        if 'stage' in inspect.signature(extract).parameters:
            feats = extract(x, stage=self.feature_stage)
        else:
            feats = extract(x)
        feats = _pool_feature(feats).float()
        if self.normalize_elements:
            feats = F.normalize(feats, dim=1)
        return feats

    def _run_on_groups(self, fn,
                       groups: List[torch.Tensor]) -> List[torch.Tensor]:
        """Run ``fn`` over the elements of all groups, batched across groups
        when they share an image size; split the result back per group."""
        if not groups:
            return []
        sizes = [g.shape[0] for g in groups]
        if len({tuple(g.shape[1:]) for g in groups}) == 1:
            return list(self._chunked(fn, torch.cat(groups)).split(sizes))
        return [self._chunked(fn, g) for g in groups]

    # ------------------------------------------------------------ API
    def encode(self, groups: List[torch.Tensor]) -> List[dict]:
        """DDL-encode a list of groups of raw images.

        Args:
            groups (list[Tensor]): ``(n_i, C, H, W)`` per group.

        Returns:
            list[dict]: Per group ``pred_feature``, ``base_images``,
            ``ddnet_images``, ``ddl_selected``, ``ddl_scores``.
        """
        if self.aggregator.needs_scores:
            scores = self._run_on_groups(self._ddnet_scores, groups)
        else:
            scores = [None] * len(groups)
        selected = [
            self.aggregator.select(s, num_elements=g.shape[0])
            for g, s in zip(groups, scores)
        ]
        kept = [g[idx.to(g.device)] for g, idx in zip(groups, selected)]
        feats = self._run_on_groups(self._base_features, kept)
        results = []
        for g, s, idx, f in zip(groups, scores, selected, feats):
            kept_scores = None if s is None else s[idx.to(s.device)]
            fused = self.aggregator.fuse(f, kept_scores)
            if self.normalize_output:
                fused = F.normalize(fused, dim=0)
            results.append(
                dict(pred_feature=fused,
                     base_images=int(idx.numel()),
                     ddnet_images=0 if s is None else int(g.shape[0]),
                     ddl_selected=idx.cpu(),
                     ddl_scores=(torch.zeros(0) if s is None else s.cpu())))
        return results

    def forward(self,
                inputs: GroupInputs,
                data_samples: Optional[List[BaseDataElement]] = None,
                mode: str = 'predict'):
        """Test-time entry.

        Args:
            inputs: Groups (see the class docstring).
            data_samples (list, optional): One per group; filled in place.
            mode (str): ``'predict'`` (data samples) or ``'tensor'``
                (stacked fused features ``(G, d)``). ``'loss'`` is refused:
                train the base and the DDNet with their own models.

        Returns:
            list[DataSample] | Tensor: Results.
        """
        if mode == 'loss':
            raise RuntimeError(
                'DDLGroupEncoder is a test-time model; train the base with '
                'its own ImageClassifier config and the DDNet with '
                'ImageClassifier + DDNetResNet + DDNetHead.')
        if mode not in ('predict', 'tensor'):
            raise RuntimeError(f'Invalid mode {mode!r}.')
        groups = self._split_groups(inputs, data_samples)
        if data_samples is not None and len(data_samples) != len(groups):
            raise ValueError(f'{len(data_samples)} data samples for '
                             f'{len(groups)} groups.')
        with torch.no_grad():
            results = self.encode(groups)
        if mode == 'tensor':
            return torch.stack([r['pred_feature'] for r in results])
        if data_samples is None:
            data_samples = [DataSample() for _ in groups]
        out = []
        for ds, res in zip(data_samples, results):
            ds = DataSample() if ds is None else ds
            for key, value in res.items():
                ds.set_field(value, key)
            out.append(ds)
        return out
