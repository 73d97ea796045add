"""DDL group encoder: one feature per face template, video or re-ID
tracklet from the base (an mmpretrain classifier) run on the selected
elements only (paper Sec. 3.3, Eq. 7-11)."""
import inspect
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS
from mmpretrain.structures import DataSample

from mmddl.evaluation.functional import media_template_pool
from mmddl.models.aggregators import DDLAggregator
from mmddl.models.utils import GFlopsCache
from mmddl.models.utils.pooling import pool_last
from .base import BaseDDLModel, build_part, part_config

GroupInputs = Union[torch.Tensor, Sequence[Union[torch.Tensor,
                                                 Sequence[torch.Tensor]]]]


@MODELS.register_module()
class DDLGroupEncoder(BaseDDLModel):
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
    their own ``data_preprocessor``; this model's own preprocessor only moves
    data to the device. The DDNet sees every element resized to
    ``ddnet_input_size`` (bilinear, antialiased; not resized when it has
    that size already), the base the full-size kept elements.

    Two-stage reading (``LoadGroupImages(two_stage=True, ddnet_size=...)``
    in the test pipeline): the inputs hold every image at the DDNet's size
    only and the data samples a ``ddl_group_source``
    (:class:`~mmddl.datasets.transforms.GroupImageSource`);
    :meth:`element_inputs` reads the selected images at the base's size
    from it (identical to one-stage reading; its time is ``time_decode_s``).

    Data-sample fields: the contract of :class:`BaseDDLModel` (elements =
    images) and ``pred_feature`` ``(d,)``, the fused feature.

    Media pooling (``media_pooling=True``, insightface's IJB-B/C template
    protocol): each sample must carry ``media_ids`` (one per image). With
    ``w_i`` the aggregator's weight of kept image ``i`` (Eq. 9-11 in mode
    ``ddl``) and ``K_j`` the kept images of media ``j``, the template
    feature is ``sum_j W_j m_j / sum_j W_j`` with the media feature
    ``m_j = sum_{i in K_j} w_i f_i / sum_{i in K_j} w_i`` and the media
    weight ``W_j = mean_{i in K_j} w_i``: a media counts once, scaled by
    the mean weight of its kept images. This is
    :func:`mmddl.evaluation.functional.media_template_pool` with the weights
    in its detection-score slot, divided by ``sum_j W_j`` (equal weights if
    that is 0). Medias without a kept image do not contribute.

    Args:
        base (str | dict | nn.Module, optional): mmpretrain classifier
            (e.g. ``ImageClassifier`` with an ``ArcFaceClsHead`` or
            ``ReIDHead``): a module, a model or full config dict, a config
            file, a package path (``'mmpretrain::...'``) or None (the config
            saved in ``base_checkpoint``). Features:
            ``extract_feat(x, stage=feature_stage)``; a tuple gives its last
            item, feature maps are average-pooled.
        aggregator (dict | DDLAggregator): Aggregator config; its
            ``fusion_level`` must be ``'feature'``. Defaults to ``dense``.
        ddnet (str | dict | nn.Module, optional): ``ImageClassifier`` +
            ``DDNetResNet`` + ``DDNetHead``, in the same forms (None: the
            config in ``ddnet_checkpoint``, or no DDNet); ``model(x,
            mode='tensor')`` must return ``(n,)`` D-scores. Required by
            score modes.
        base_checkpoint (str, optional): Checkpoint of the base, loaded
            strictly (bare or ``base.*`` keys).
        ddnet_checkpoint (str, optional): Checkpoint of the DDNet, likewise.
        ddnet_input_size (int | tuple[int, int], optional): DDNet input size;
            None feeds the images unchanged. Defaults to 112.
        ddnet_flip (bool): Score each image as the mean of the DDNet's
            D-scores of the image and of its horizontal mirror (test-time
            flip; twice the DDNet's GFLOPs). Defaults to False.
        feature_stage (str): ``extract_feat`` stage of the base:
            ``'pre_logits'``, ``'neck'`` or ``'backbone'``. Defaults to
            ``'pre_logits'``.
        normalize_elements (bool): L2-normalise each element feature before
            fusion. Defaults to True.
        normalize_output (bool): L2-normalise the fused feature.
            Defaults to False.
        media_pooling (bool): Pool within each media first (see above).
            Defaults to False.
        max_batch (int): Largest batch of images per forward pass.
            Defaults to 256.
        count_flops (bool): Report GFLOPs. Defaults to False.
        allow_random_weights (bool): Allow predicting without loaded
            checkpoints (tests only). Defaults to False.
        data_preprocessor (dict, optional): Defaults to mmengine's
            ``BaseDataPreprocessor`` (device transfer only).
        init_cfg (dict, optional): Initialisation config.
        provenance_check (str | Sequence[str]): ``'error'`` (default),
            ``'warn'`` or the fields allowed to differ from the DDNet
            checkpoint's provenance (see :class:`BaseDDLModel`).
    """
    data_sample_type = DataSample
    source_key = 'ddl_group_source'

    def __init__(self,
                 base: Union[None, str, dict, torch.nn.Module],
                 aggregator: Union[dict, DDLAggregator] = dict(
                     type='DDLAggregator', mode='dense'),
                 ddnet: Union[None, str, dict, torch.nn.Module] = None,
                 base_checkpoint: Optional[str] = None,
                 ddnet_checkpoint: Optional[str] = None,
                 ddnet_input_size: Optional[Union[int, Tuple[int, int]]] = 112,
                 ddnet_flip: bool = False,
                 feature_stage: str = 'pre_logits',
                 normalize_elements: bool = True,
                 normalize_output: bool = False,
                 media_pooling: bool = False,
                 max_batch: int = 256,
                 count_flops: bool = False,
                 allow_random_weights: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 provenance_check: Union[str, Sequence[str]] = 'error'):
        if feature_stage not in ('pre_logits', 'neck', 'backbone'):
            raise ValueError('feature_stage must be pre_logits, neck or '
                             f'backbone, got {feature_stage!r}.')
        if max_batch < 1:
            raise ValueError(f'max_batch must be >= 1, got {max_batch}.')
        # the remaining BaseDDLModel arguments, in its order
        common = (aggregator, base_checkpoint, ddnet_checkpoint, count_flops,
                  allow_random_weights, data_preprocessor, init_cfg)
        super().__init__(
            build_part(self._config(base, base_checkpoint, 'base')),
            build_part(self._config(ddnet, ddnet_checkpoint, 'ddnet')),
            *common,
            provenance_check=provenance_check)
        if self.aggregator.fusion_level != 'feature':
            raise ValueError(
                f'{self.aggregator!r}: DDLGroupEncoder fuses features '
                "(fusion_level='feature'); 'prob' needs class probabilities "
                'of a closed set (DDLRecognizer)')
        if isinstance(ddnet_input_size, int):
            ddnet_input_size = (ddnet_input_size, ddnet_input_size)
        self.ddnet_input_size = (None if ddnet_input_size is None else tuple(
            int(s) for s in ddnet_input_size))
        self.ddnet_flip = bool(ddnet_flip)
        self.feature_stage = feature_stage
        self.normalize_elements = normalize_elements
        self.normalize_output = normalize_output
        self.media_pooling = bool(media_pooling)
        self.max_batch = int(max_batch)
        self._gflops = dict(
            base=GFlopsCache(self.base, self._extract),
            ddnet=None if self.ddnet is None else GFlopsCache(
                self.ddnet, lambda m, x: m(x, mode='tensor')))

    @staticmethod
    def _config(ref, checkpoint: Optional[str], part: str):
        """A module as is, else :func:`part_config` in mmpretrain's
        scope."""
        if isinstance(ref, torch.nn.Module):
            return ref
        return part_config(
            ref, checkpoint, part, 'mmpretrain', required=part == 'base')

    # ------------------------------------------------------------ inputs
    def split_groups(self, inputs: GroupInputs,
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

    # ------------------------------------------------------------ two-stage
    def element_inputs(self, groups: List[torch.Tensor],
                       selected: List[torch.Tensor],
                       data_samples: Optional[list]) -> List[torch.Tensor]:
        """The selected images at the base's size: read from the data
        samples' ``ddl_group_source`` when there is one (two-stage reading:
        the groups hold the DDNet's inputs), else the groups' own images.

        Args:
            groups (list[Tensor]): (n_i, C, H, W) per group.
            selected (list[Tensor]): Image indices per group.
            data_samples (list, optional): One per group.

        Returns:
            list[Tensor]: (len(selected[i]), C, H', W') per group, of the
            groups' dtype and device.
        """
        sources = self.two_stage_sources(data_samples)
        if sources is None:
            return super().element_inputs(groups, selected, data_samples)
        out = []
        for source, imgs, sel in zip(sources, groups, selected):
            if source.num_images != imgs.shape[0]:
                raise ValueError(
                    f'group {source.group!r}: the inputs have '
                    f'{imgs.shape[0]} images, its ddl_group_source '
                    f'{source.num_images}')
            if (self.ddnet_input_size is not None
                    and tuple(imgs.shape[-2:]) != self.ddnet_input_size):
                raise ValueError(
                    f'group {source.group!r}: stage 1 read the images at '
                    f'{tuple(imgs.shape[-2:])}, the DDNet sees '
                    f'{self.ddnet_input_size} (model.ddnet_input_size); set '
                    'LoadGroupImages.ddnet_size to the same size')
            out.append(
                source.load(sel).to(device=imgs.device, dtype=imgs.dtype))
        return out

    # ------------------------------------------------------------ forwards
    @staticmethod
    def _preprocess(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Normalise raw images with ``model``'s own data preprocessor."""
        pre = getattr(model, 'data_preprocessor', None)
        if pre is None:
            return x.float()
        return pre(dict(inputs=x), False)['inputs']

    def _ddnet_input(self, x: torch.Tensor) -> torch.Tensor:
        """Raw images resized to ``ddnet_input_size`` and normalised."""
        x = x.float()
        if (self.ddnet_input_size is not None
                and tuple(x.shape[-2:]) != self.ddnet_input_size):
            x = F.interpolate(
                x,
                size=self.ddnet_input_size,
                mode='bilinear',
                align_corners=False,
                antialias=True)
        return self._preprocess(self.ddnet, x)

    def _ddnet_scores(self, x: torch.Tensor) -> torch.Tensor:
        """D-scores ``(n,)`` of a batch of raw images (with ``ddnet_flip``
        the mean over each image and its mirror)."""
        n = x.shape[0]
        x = self._ddnet_input(x)
        if self.ddnet_flip:
            x = torch.cat([x, x.flip(-1)])
        out = self.ddnet(x, mode='tensor')
        if isinstance(out, (tuple, list)):
            out = out[-1]
        if out.dim() == 2 and out.shape[1] == 1:
            out = out[:, 0]
        if out.shape != (x.shape[0], ):
            mirrors = ' and their mirrors' if self.ddnet_flip else ''
            raise ValueError('the DDNet must give one score per image, got '
                             f'shape {tuple(out.shape)} for {x.shape[0]} '
                             f'inputs ({n} images{mirrors}).')
        out = out.float()
        return (out[:n] + out[n:]) / 2 if self.ddnet_flip else out

    def _extract(self, base: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Pooled ``(n, d)`` features of normalised images."""
        extract = base.extract_feat
        if 'stage' in inspect.signature(extract).parameters:
            return pool_last(extract(x, stage=self.feature_stage)).float()
        return pool_last(extract(x)).float()

    def _base_features(self, x: torch.Tensor) -> torch.Tensor:
        """Element features ``(n, d)`` of a batch of raw images."""
        feats = self._extract(self.base, self._preprocess(self.base, x))
        if self.normalize_elements:
            feats = F.normalize(feats, dim=1)
        return feats

    # ------------------------------------------------------------ loop
    def score_elements(self, x: torch.Tensor) -> torch.Tensor:
        """D-scores ``(n,)`` of raw images, ``max_batch`` at a time."""
        return self.chunked(self._ddnet_scores, x, self.max_batch)

    def element_outputs(self, x: torch.Tensor) -> torch.Tensor:
        """Base features ``(n, d)`` of raw images, ``max_batch`` at a
        time."""
        return self.chunked(self._base_features, x, self.max_batch)

    def element_gflops(self, part: str, image: torch.Tensor) -> float:
        """GFLOPs of ``part`` on one raw image ``(1, C, H, W)``."""
        if part == 'ddnet':
            return self._gflops['ddnet'](
                self._ddnet_input(image)) * (2 if self.ddnet_flip else 1)
        return self._gflops['base'](self._preprocess(self.base, image))

    def fuse(self, outputs: torch.Tensor, kept_scores: Optional[torch.Tensor],
             selected: List[torch.Tensor],
             data_samples: Optional[list]) -> torch.Tensor:
        """Aggregator fusion, or media-then-template pooling (see the class
        docstring) when ``media_pooling``."""
        if not self.media_pooling:
            return super().fuse(outputs, kept_scores, selected, data_samples)
        lengths = [len(s) for s in selected]
        if kept_scores is None:
            kept_scores = outputs.new_ones(outputs.shape[0])
        weights = self.aggregator.weights_groups(
            kept_scores.to(outputs), lengths)
        fused = []
        for g, (feats, w, sel) in enumerate(
                zip(outputs.split(lengths), weights.split(lengths), selected)):
            sample = None if data_samples is None else data_samples[g]
            if sample is None or 'media_ids' not in sample:
                raise ValueError(f'group {g}: media_pooling needs the '
                                 'media_ids of its images in the data sample '
                                 '(PackGroupInputs meta key media_ids)')
            mids = torch.as_tensor(sample.media_ids).flatten()
            if mids.numel() <= int(sel.max()):
                raise ValueError(f'group {g}: {mids.numel()} media_ids for '
                                 f'a group with image index {int(sel.max())}')
            mids = mids[sel.cpu()].to(feats.device)
            if float(w.sum()) <= 0:
                w = torch.ones_like(w)
            pooled = media_template_pool(
                feats, mids, det_scores=w, normalize=False)
            media_weight = sum(
                float(w[mids == m].mean()) for m in torch.unique(mids))
            fused.append(pooled / media_weight)
        return torch.stack(fused)

    def fused_prediction(self, fused: torch.Tensor) -> torch.Tensor:
        """The fused features, L2-normalised if ``normalize_output``."""
        return F.normalize(fused, dim=1) if self.normalize_output else fused

    def set_prediction(self, sample: DataSample, pred: torch.Tensor) -> None:
        """``pred_feature``."""
        sample.set_field(pred, 'pred_feature')
