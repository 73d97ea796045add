"""Test-time DDL recognition of untrimmed videos (paper Sec. 3.3 / 4.3)."""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.logging import MMLogger

from mmddl.models.aggregators import DDLAggregator
from mmddl.models.utils import GFlopsCache
from .base import UNCHECKED_FIELD, BaseDDLModel, build_part, part_config


def recognizer_views(model: nn.Module, views: torch.Tensor) -> torch.Tensor:
    """Backbone (+neck) + head of an mmaction recognizer on a stack of views.

    Args:
        model (nn.Module): A built mmaction recognizer (``Recognizer3D``).
        views (Tensor): (n, C, T, H, W) views.

    Returns:
        Tensor: The head's raw output per view: (n, num_classes) logits for
        a classifier, (n,) scores for a DDNet head.
    """
    feats, kwargs = model.extract_feat(views[None], test_mode=True)
    return model.cls_head(feats, **kwargs)


def resize_frames(views: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """Bilinear resize (``align_corners=False``) of every frame of views.

    The frames are resized as one channels-last (NHWC) image batch: the
    values equal ``F.interpolate`` on each (C, H, W) frame, one permuting
    copy of the input is the only extra pass, and the result is already in
    ``channels_last_3d`` memory.

    Args:
        views (Tensor): (V, C, T, H, W) views.
        size (tuple[int, int]): Output (h, w).

    Returns:
        Tensor: (V, C, T, h, w) views in ``channels_last_3d`` memory.
    """
    V, C, T, H, W = views.shape
    frames = views.permute(0, 2, 3, 4, 1).reshape(V * T, H, W, C)
    frames = F.interpolate(
        frames.permute(0, 3, 1, 2),
        size=tuple(size),
        mode='bilinear',
        align_corners=False)
    return frames.permute(0, 2, 3, 1).reshape(V, T, *size,
                                              C).permute(0, 4, 1, 2, 3)


def _channels_innermost(clips: torch.Tensor) -> bool:
    """Whether (N, crops, C, T, H, W) clips have C as their innermost
    dimension in memory (``channels_last_3d`` views)."""
    return clips.dim() == 6 and clips.shape[2] > 1 and clips.stride(2) == 1


def flatten_views(clips: torch.Tensor) -> torch.Tensor:
    """(n, crops, C, T, H, W) clips -> their (n * crops, C, T, H, W) views,
    clip-major, in ``channels_last_3d`` memory when the clips have their
    channels innermost (as ``FormatShape`` and two-stage decoding give
    them; a view when the layout allows it, else one copy), else as
    ``flatten`` gives them. One layout for one-stage and two-stage inputs,
    so the models' outputs are bit-identical."""
    if not _channels_innermost(clips):
        return clips.flatten(0, 1)
    n, crops, C, T, H, W = clips.shape
    return clips.permute(0, 1, 3, 4, 5, 2).reshape(n * crops, T, H, W,
                                                   C).permute(0, 4, 1, 2, 3)


def match_conv_layout(model: nn.Module, views: torch.Tensor) -> None:
    """Store the 3D conv weights of a (frozen, test-time) model in the
    memory layout of its input views: ``channels_last_3d`` for
    channels-last views, else contiguous. Values are unchanged; a weight in
    the other layout would be copied into the input's at every call. Done
    once per change of layout (recorded on the model).

    Args:
        model (nn.Module): The base or the DDNet.
        views (Tensor): (n, C, T, H, W) views it is about to run on.
    """
    cl = views.dim() == 5 and views.shape[1] > 1 and not views.is_contiguous(
    ) and views.is_contiguous(memory_format=torch.channels_last_3d)
    if getattr(model, '_ddl_conv_channels_last', False) == cl:
        return
    fmt = torch.channels_last_3d if cl else torch.contiguous_format
    for m in model.modules():
        if isinstance(m, nn.Conv3d):
            m.weight.data = m.weight.data.contiguous(memory_format=fmt)
    model._ddl_conv_channels_last = cl


def _norm_params(
    pre: nn.Module
) -> Tuple[Optional[torch.Tensor], Optional[torch.Tensor], bool]:
    """(mean (C,) or None, std (C,) or None, to_rgb) of a data preprocessor."""
    to_rgb = bool(getattr(pre, 'to_rgb', False))
    if not getattr(pre, '_enable_normalize', False):
        return None, None, to_rgb
    return pre.mean.flatten(), pre.std.flatten(), to_rgb


@MODELS.register_module()
class DDLRecognizer(BaseDDLModel):
    """DDNet-guided clip selection in front of a stock mmaction recognizer.

    A group is a video, an element one of its N clips with its ``num_crops``
    views (mmaction's ``FormatShape('NCTHW')`` stacks them crop-major: view
    ``v = crop * num_clips + clip``; ``num_clips`` in the metainfo lets
    :meth:`check_layout` verify the count). The DDNet scores all views (on
    a cheaper copy, see ``ddnet_input``), a clip's D-score is the mean over
    its crops; the base runs on all crops of the selected clips only.
    Without ``num_clips`` (or ``frame_inds`` and ``clip_len``) in a sample's
    metainfo the views cannot be told apart into clips and crops (a 1-crop
    pipeline run with ``num_crops=3`` would fuse clips as crops and count a
    third of the clips that ran), so the video stops with an error unless
    ``allow_unchecked_layout=True`` (videos passed without data samples
    are split by ``num_crops``, see :meth:`check_layout`). Per
    clip, the base's class scores are averaged over crops and the clips are
    fused with the aggregator's weights: at ``fusion_level='feature'`` (the
    paper's Eq. 8; equal to fusing features for a linear head) the logits,
    with softmax once after fusion; at ``'prob'`` the per-view softmax
    probabilities.

    Data-sample fields: the contract of :class:`BaseDDLModel` (elements =
    clips), ``pred_score`` (num_classes,) fused class probabilities,
    ``pred_label``, and ``base_views`` / ``ddnet_views`` (views run).

    Two-stage decoding (``DDLTwoStageDecode`` in the test pipeline): the
    inputs hold only the DDNet's frames of each clip and the data samples a
    ``ddl_clip_source`` (:class:`~mmddl.datasets.transforms.ClipSource`);
    :meth:`element_inputs` decodes the selected clips from it and
    preprocesses them with this model's ``data_preprocessor``, so the
    D-scores, the selection and the prediction equal one-stage decoding's.

    Args:
        base (str | dict, optional): A stock mmaction recognizer (e.g.
            ``Recognizer3D`` with SlowFast / R(2+1)D / I3D): a model or
            full config dict, a config file (``'{{ fileDirname }}/x.py'``
            in a config), a package path (``'mmaction::...'``), or None:
            the config saved in ``base_checkpoint``.
        ddnet (str | dict, optional): The DDNet (``Recognizer3D`` with a
            ``DDNetResNet3d`` backbone and ``DDNetHead``), in the same
            forms (None: ``ddnet_checkpoint``'s config, or no DDNet).
        aggregator (dict | DDLAggregator): Aggregator config or instance.
        base_checkpoint (str, optional): Checkpoint of ``base``, loaded
            strictly (bare keys as the Runner saves the recognizer alone, or
            ``base.*`` keys).
        ddnet_checkpoint (str, optional): Checkpoint of ``ddnet``, likewise.
        num_crops (int): Spatial crops per clip (3 for ``ThreeCrop``).
            Defaults to 1.
        ddnet_input (dict, optional): ``dict(num_frames=None|int,
            size=None|int|(h, w))``: the DDNet sees the views temporally
            subsampled to ``num_frames`` (frames ``floor(i * T /
            num_frames)``) and resized with bilinear ``F.interpolate`` (an
            int is the short side, aspect kept), re-normalised to the DDNet's
            own data preprocessor if it differs from this model's.
        data_preprocessor (dict, optional): This model's preprocessor; None
            takes ``base``'s. Views are re-normalised for the base too if
            its own preprocessor differs.
        max_testing_views (int, optional): Run at most this many views per
            forward (memory cap); None runs them all at once.
        count_flops (bool): Measure and report GFLOPs. Defaults to True.
        allow_random_weights (bool): Allow predicting without loaded
            checkpoints (tests only). Defaults to False.
        allow_unchecked_layout (bool): Without ``num_clips`` in a sample,
            split its views by ``num_crops`` anyway (warned once, counted in
            ``unchecked_layouts`` and as the fallback ``unchecked_layout``)
            instead of stopping. Defaults to False.
        init_cfg (dict, optional): mmengine init config.
        provenance_check (str | Sequence[str]): ``'error'`` (default),
            ``'warn'`` or the fields allowed to differ from the DDNet
            checkpoint's provenance (see :class:`BaseDDLModel`).
    """
    data_sample_type = ActionDataSample
    group_noun = 'video'
    source_key = 'ddl_clip_source'

    def __init__(self,
                 base: Optional[Union[str, dict]],
                 ddnet: Optional[Union[str, dict]],
                 aggregator: Union[dict, DDLAggregator],
                 base_checkpoint: Optional[str] = None,
                 ddnet_checkpoint: Optional[str] = None,
                 num_crops: int = 1,
                 ddnet_input: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 max_testing_views: Optional[int] = None,
                 count_flops: bool = True,
                 allow_random_weights: bool = False,
                 init_cfg: Optional[dict] = None,
                 provenance_check: Union[str, Sequence[str]] = 'error',
                 allow_unchecked_layout: bool = False) -> None:
        base = part_config(base, base_checkpoint, 'base', 'mmaction')
        ddnet = part_config(
            ddnet, ddnet_checkpoint, 'ddnet', 'mmaction', required=False)
        if data_preprocessor is None:
            data_preprocessor = copy.deepcopy(
                base.get(
                    'data_preprocessor',
                    dict(type='ActionDataPreprocessor', format_shape='NCTHW')))
        if int(num_crops) < 1:
            raise ValueError(f'num_crops must be >= 1, got {num_crops}')
        if max_testing_views is not None and int(max_testing_views) < 1:
            raise ValueError('max_testing_views must be >= 1 or None, got '
                             f'{max_testing_views}')
        self.num_crops = int(num_crops)
        self.allow_unchecked_layout = bool(allow_unchecked_layout)
        self.unchecked_layouts = 0
        self.max_testing_views = (None if max_testing_views is None else
                                  int(max_testing_views))
        # the remaining BaseDDLModel arguments, in its order
        common = (aggregator, base_checkpoint, ddnet_checkpoint, count_flops,
                  allow_random_weights, data_preprocessor, init_cfg)
        super().__init__(
            build_part(base),
            build_part(ddnet),
            *common,
            provenance_check=provenance_check)
        self.num_frames, self.size = self._parse_ddnet_input(ddnet_input)
        self._base_gflops = GFlopsCache(self.base, recognizer_views)
        self._ddnet_gflops = GFlopsCache(self.ddnet, recognizer_views)

    @staticmethod
    def _parse_ddnet_input(
        cfg: Optional[dict]
    ) -> Tuple[Optional[int], Optional[Union[int, Tuple[int, int]]]]:
        cfg = dict(cfg or {})
        unknown = set(cfg) - {'num_frames', 'size'}
        if unknown:
            raise ValueError(f'ddnet_input: unknown keys {sorted(unknown)}; '
                             'allowed: num_frames, size')
        num_frames, size = cfg.get('num_frames'), cfg.get('size')
        if num_frames is not None and int(num_frames) < 1:
            raise ValueError(f'ddnet_input.num_frames must be >= 1, got '
                             f'{num_frames}')
        if size is not None:
            sizes = (size, ) if isinstance(size, int) else tuple(size)
            if len(sizes) not in (1, 2) or min(sizes) < 1:
                raise ValueError('ddnet_input.size must be an int (short '
                                 f'side) or (h, w) >= 1, got {size}')
            size = sizes[0] if isinstance(size, int) else sizes
        return (None if num_frames is None else int(num_frames)), size

    # ----------------------------------------------------------- DDNet input
    def ddnet_views(self, views: torch.Tensor) -> torch.Tensor:
        """The cheap copy of the views the DDNet sees.

        Args:
            views (Tensor): (V, C, T, H, W), preprocessed by this model's
                preprocessor.

        Returns:
            Tensor: (V, C, T', H', W') in the DDNet preprocessor's
            normalisation; resized views are in ``channels_last_3d``
            memory (what the 3D DDNet runs in, so it needs no copy).
        """
        V, C, T, H, W = views.shape
        if self.num_frames is not None and self.num_frames != T:
            if self.num_frames > T:
                raise ValueError(f'ddnet_input.num_frames={self.num_frames} '
                                 f'exceeds the clip length T={T}')
            idx = torch.arange(self.num_frames, device=views.device) * T \
                // self.num_frames
            views = views[:, :, idx]
            T = self.num_frames
        if self.size is not None:
            if isinstance(self.size, int):
                scale = self.size / min(H, W)
                out = (self.size, round(W * scale)) if H <= W else \
                    (round(H * scale), self.size)
            else:
                out = tuple(self.size)
            if out != (H, W):
                views = resize_frames(views, out)
        return self._renormalize(views, self.ddnet)

    def _renormalize(self, x: torch.Tensor, model: nn.Module) -> torch.Tensor:
        """Map views from this model's input normalisation (mean/std,
        BGR/RGB) to the one of ``model``'s own data preprocessor."""
        mean_b, std_b, rgb_b = _norm_params(self.data_preprocessor)
        mean_d, std_d, rgb_d = _norm_params(model.data_preprocessor)
        same = rgb_b == rgb_d and (mean_b is None) == (mean_d is None) and (
            mean_b is None or
            (torch.equal(mean_b, mean_d) and torch.equal(std_b, std_d)))
        if same:
            return x
        shape = (1, -1, 1, 1, 1)
        if mean_b is not None:
            x = x * std_b.view(shape) + mean_b.view(shape)
        if rgb_b != rgb_d:
            x = x.flip(1)
        if mean_d is not None:
            x = (x - mean_d.view(shape)) / std_d.view(shape)
        return x

    # ------------------------------------------------------------- elements
    def split_groups(self, inputs: torch.Tensor,
                     data_samples: Optional[list]) -> List[torch.Tensor]:
        """(B, V, C, T, H, W) crop-major views -> per video its clips
        ``(N, num_crops, C, T, H, W)``."""
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 6:
            shape = tuple(getattr(inputs, 'shape', ()))
            raise ValueError(
                'DDLRecognizer expects inputs (B, V, C, T, H, W) (format '
                f'NCTHW), got shape {shape}')
        V = inputs.shape[1]
        if (not data_samples and self.num_frames is not None
                and inputs.shape[3] == self.num_frames):
            # two-stage inputs hold only the DDNet's frames; their handles
            # travel in the data samples, so the base would see them
            raise ValueError(
                f'inputs have {self.num_frames} frames per clip, the '
                "DDNet's ddnet_input.num_frames, and no data samples: "
                'two-stage inputs (DDLTwoStageDecode) need their data '
                "samples (ddl_clip_source) to decode the base's clips; "
                'pass data_samples, or decode in one stage')
        self.check_layout(V, data_samples or [None] * inputs.shape[0])
        return [
            video.view(self.num_crops, V // self.num_crops,
                       *video.shape[1:]).transpose(0, 1) for video in inputs
        ]

    @staticmethod
    def sample_num_clips(meta: dict) -> Optional[int]:
        """Clips of a video by its metainfo: ``num_clips``, else
        ``len(frame_inds) / clip_len``, else None.

        Args:
            meta (dict): A data sample's metainfo.
        """
        if meta.get('num_clips') is not None:
            return int(meta['num_clips'])
        inds, clip_len = meta.get('frame_inds'), meta.get('clip_len')
        if inds is None or not clip_len:
            return None
        total = int(np.asarray(inds).size)
        return total // int(clip_len) if total % int(clip_len) == 0 else None

    def check_layout(self, num_views: int, data_samples: list) -> None:
        """Check that each video has ``num_clips x num_crops`` views.

        ``num_clips`` is read from the data samples' metainfo (add it to
        ``PackActionInputs``' ``meta_keys``; ``frame_inds`` and ``clip_len``
        do too). A data sample without it stops the video, unless
        ``allow_unchecked_layout``; a video without a data sample (a
        ``mode='tensor'`` call on bare inputs: no cost is reported) and the
        allowed ones are split by ``num_crops``: only divisibility is
        checked, a warning is logged once, the video is counted in
        ``unchecked_layouts`` and its data sample flagged (the fallback
        ``unchecked_layout``).

        Args:
            num_views (int): Views per video in the batch.
            data_samples (list): One per video (None entries allowed).

        Raises:
            ValueError: The numbers do not agree (both are named), or the
                clips are unknown and ``allow_unchecked_layout`` is False.
        """
        for i, sample in enumerate(data_samples):
            meta = {} if sample is None else sample.metainfo
            clips = self.sample_num_clips(meta)
            video = meta.get('video_id', meta.get('filename'))
            name = f'video {video!r}' if video else f'video #{i} of the batch'
            if (clips is None and sample is not None
                    and not self.allow_unchecked_layout):
                raise ValueError(
                    f'{name}: no num_clips in its data sample, so its '
                    f'{num_views} views cannot be split into clips x crops '
                    f'(model.num_crops={self.num_crops} would make '
                    f'{num_views // max(1, self.num_crops)} clips, and count '
                    'them as such); add \'num_clips\' to PackActionInputs\' '
                    'meta_keys, or set model.allow_unchecked_layout=True '
                    'to split by num_crops unchecked (counted).')
            if clips is None:
                self.unchecked_layouts += 1
                if sample is not None:
                    sample.set_field(True, UNCHECKED_FIELD)
                if self.unchecked_layouts == 1:
                    MMLogger.get_current_instance().warning(
                        'DDLRecognizer: no num_clips in the data samples, '
                        'so views = clips x num_crops cannot be checked '
                        '(allow_unchecked_layout=True); add \'num_clips\' '
                        "to PackActionInputs' meta_keys.")
                if num_views % self.num_crops:
                    raise ValueError(
                        f'{name}: {num_views} views per video is not a '
                        f'multiple of num_crops={self.num_crops}')
            elif clips * self.num_crops != num_views:
                raise ValueError(
                    f'{name}: {num_views} views, but num_clips={clips} x '
                    f'num_crops={self.num_crops} = '
                    f'{clips * self.num_crops}; set model.num_crops '
                    'to the crops of the test pipeline (ThreeCrop: 3, '
                    'CenterCrop: 1).')

    def _run_views(self, model: nn.Module,
                   views: torch.Tensor) -> torch.Tensor:
        """Head outputs of ``model`` on views, ``max_testing_views`` at a
        time."""
        match_conv_layout(model, views)
        return self.chunked(lambda v: recognizer_views(model, v), views,
                            self.max_testing_views)

    def score_elements(self, clips: torch.Tensor) -> torch.Tensor:
        """Clip D-scores ``(n,)``: the DDNet's view scores, mean over
        crops."""
        views = flatten_views(clips)
        scores = self._run_views(self.ddnet,
                                 self.ddnet_views(views)).reshape(-1)
        if scores.numel() != views.shape[0]:
            raise RuntimeError(
                f'the DDNet head gave {scores.numel()} scores for '
                f'{views.shape[0]} views; it must output one D-score per '
                'view')
        return scores.float().view(clips.shape[:2]).mean(1)

    def element_outputs(self, clips: torch.Tensor) -> torch.Tensor:
        """Per clip the base's class scores, as the aggregator fuses them
        (logits or probabilities), averaged over crops: ``(n, classes)``."""
        views = flatten_views(clips)
        logits = self._run_views(self.base,
                                 self._renormalize(views, self.base))
        if logits.dim() != 2 or logits.shape[0] != views.shape[0]:
            raise RuntimeError(f'the base head gave shape '
                               f'{tuple(logits.shape)} for {views.shape[0]} '
                               'views; expected (views, num_classes)')
        scores = self.aggregator.class_scores_to_fuse(logits)
        return scores.view(*clips.shape[:2], -1).mean(1)

    # ------------------------------------------------------------ two-stage
    def check_clip_source(self, source, clips: torch.Tensor) -> None:
        """Check that a two-stage video's DDNet inputs match its handle.

        Args:
            source (ClipSource): The video's clip source.
            clips (Tensor): (N, num_crops, C, T, H, W) stage-1 views.

        Raises:
            ValueError: Clips, crops or frames disagree (all named).
        """
        n, crops, _, t = clips.shape[:4]
        want_t = self.num_frames or source.clip_len
        name = source.filename
        if source.num_clips != n or source.num_crops != crops:
            raise ValueError(
                f'video {name!r}: the inputs have {n} clips x {crops} crops, '
                f'its ddl_clip_source {source.num_clips} clips x '
                f'{source.num_crops} crops (model.num_crops='
                f'{self.num_crops})')
        if t != source.ddnet_frames or t != want_t:
            raise ValueError(
                f'video {name!r}: stage 1 decoded {t} frames per clip '
                f'(DDLTwoStageDecode.ddnet_frames={source.ddnet_frames}), '
                f'but the DDNet sees {want_t} (model.ddnet_input.num_frames'
                f'={self.num_frames}, clip_len={source.clip_len}); set '
                'ddnet_frames to the same number')

    def element_inputs(self, groups: List[torch.Tensor],
                       selected: List[torch.Tensor],
                       data_samples: Optional[list]) -> List[torch.Tensor]:
        """The selected clips as the base sees them: ``(k, num_crops, C, T,
        H, W)`` per video, decoded and preprocessed from the data samples'
        ``ddl_clip_source`` when there is one, else the groups' own clips.

        Args:
            groups (list[Tensor]): (N, num_crops, C, T, H, W) per video.
            selected (list[Tensor]): Clip indices per video.
            data_samples (list, optional): One per video.

        Returns:
            list[Tensor]: (len(selected[i]), num_crops, C, T, H, W) per video.
        """
        sources = self.two_stage_sources(data_samples)
        if sources is None:
            return super().element_inputs(groups, selected, data_samples)
        out = []
        for source, clips, sel in zip(sources, groups, selected):
            self.check_clip_source(source, clips)
            if sel.numel() == 0:
                out.append(
                    clips.new_zeros((0, ) + clips.shape[1:3] +
                                    (source.clip_len, ) + clips.shape[4:]))
                continue
            views = source.load(sel)
            innermost = _channels_innermost(clips)
            if innermost:
                # stage 1's layout: FormatShape's NCTHW is a transposed
                # NTHWC array (channels_last_3d)
                views = views.contiguous(memory_format=torch.channels_last_3d)
            views = self.data_preprocessor(
                dict(inputs=[views], data_samples=None))['inputs'][0]
            k = sel.numel()
            views = views.view(self.num_crops, k,
                               *views.shape[1:]).transpose(0, 1)
            if innermost:
                # the layout one-stage indexing gives, (k, crops, T, H, W,
                # C) in memory, so the base computes bit-identically (a
                # view for one crop)
                views = views.permute(0, 1, 3, 4, 5, 2).contiguous().permute(
                    0, 1, 5, 2, 3, 4)
            out.append(views)
        return out

    def fused_prediction(self, fused: torch.Tensor) -> torch.Tensor:
        """Fused class probabilities ``(B, num_classes)``."""
        return self.aggregator.fused_class_probs(fused)

    def element_gflops(self, part: str, clip: torch.Tensor) -> float:
        """GFLOPs of ``part`` on the ``num_crops`` views of one clip."""
        views = clip.flatten(0, 1)
        if part == 'ddnet':
            return self._ddnet_gflops(self.ddnet_views(views[:1])) * len(views)
        return self._base_gflops(views[:1]) * len(views)

    def encode_groups(self,
                      groups: List[torch.Tensor],
                      data_samples: Optional[list] = None,
                      source: Optional[object] = None) -> List[Dict]:
        """:meth:`BaseDDLModel.encode_groups` plus the views run; a label
        outside the base head's classes stops the batch before any model
        runs on it, naming the video."""
        self.check_labels(data_samples, len(groups))
        results = super().encode_groups(groups, data_samples, source)
        for res in results:
            res['base_views'] = self.num_crops * res['base_elements']
            res['ddnet_views'] = self.num_crops * res['ddnet_elements']
        return results

    def check_labels(self, data_samples: Optional[list],
                     num_groups: int) -> None:
        """Raise ``ValueError`` naming the first video whose ground-truth
        label is not below the base head's ``num_classes`` (the metric
        would otherwise fail after the model ran, naming no video).

        Args:
            data_samples (list, optional): One per video.
            num_groups (int): Videos of the batch.
        """
        num_classes = getattr(getattr(self.base, 'cls_head', None),
                              'num_classes', None)
        if not data_samples or num_classes is None:
            return
        names = self.group_names(data_samples, num_groups)
        for name, sample in zip(names, data_samples):
            label = sample.get('gt_label') if sample is not None else None
            if label is None:
                continue
            values = torch.as_tensor(label).reshape(-1)
            bad = values[(values < 0) | (values >= int(num_classes))]
            if bad.numel():
                raise ValueError(
                    f'{name}: label {int(bad[0])} is outside the base '
                    f"head's classes [0, {int(num_classes)}); check the test "
                    'list (a CheckedVideoDataset with num_classes names its '
                    'line before any model runs)')

    def set_prediction(self, sample: ActionDataSample,
                       pred: torch.Tensor) -> None:
        """``pred_score`` and ``pred_label`` (its argmax)."""
        sample.set_pred_score(pred)
        sample.set_pred_label(pred.argmax(-1, keepdim=True))
