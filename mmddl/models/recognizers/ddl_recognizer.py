"""Test-time DDL recognition of untrimmed videos (paper Sec. 3.3 / 4.3).

A cheap DDNet scores every clip of a video, the DDL aggregator keeps the most
discriminative clips, the (expensive) base recognizer runs only on those, and
its per-clip class probabilities are fused with the aggregator's weights.

View layout: mmaction's ``FormatShape('NCTHW')`` stacks the views of a video
CROP-MAJOR (``N_crops x N_clips``; ``ThreeCrop``/``TenCrop`` put all frames of
crop 0 first), so view ``v = crop * num_clips + clip``.
"""
import copy
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.runner import load_checkpoint

from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmddl.models.aggregators import DDLAggregator
from mmddl.models.utils import GFlopsCache


def recognizer_views(model: nn.Module, views: torch.Tensor) -> torch.Tensor:
    """Backbone (+neck) + head of an mmaction recognizer on a stack of views.

    Args:
        model: a built mmaction recognizer (e.g. ``Recognizer3D``).
        views: (n, C, T, H, W) views of one video.

    Returns:
        The head's raw output per view: (n, num_classes) logits for a
        classifier, (n,) scores for a DDNet head.
    """
    feats, kwargs = model.extract_feat(views[None], test_mode=True)
    return model.cls_head(feats, **kwargs)


def _norm_params(pre: nn.Module) -> Tuple[Optional[torch.Tensor],
                                          Optional[torch.Tensor], bool]:
    """(mean (C,) or None, std (C,) or None, to_rgb) of a data preprocessor."""
    to_rgb = bool(getattr(pre, 'to_rgb', False))
    if not getattr(pre, '_enable_normalize', False):
        return None, None, to_rgb
    return pre.mean.flatten(), pre.std.flatten(), to_rgb


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


@MODELS.register_module()
class DDLRecognizer(BaseModel):
    """DDNet-guided clip selection in front of a stock mmaction recognizer.

    Per video (inputs ``(V, C, T, H, W)``, ``V = num_crops * N`` views,
    crop-major): the DDNet scores all V views (on a cheaper copy, see
    ``ddnet_input``); a clip's D-score is the mean over its crops; the
    aggregator selects clips; the base runs on all crops of the selected
    clips only; per clip its softmax probabilities are averaged over crops and
    the clips are fused with the aggregator's weights. Modes of the aggregator
    that need no scores (dense / uniform / random) skip the DDNet.

    Written into each data sample: ``pred_score`` (num_classes,) fused class
    probabilities, ``pred_label``, ``ddl_selected`` (k,) selected clip
    indices (aggregator order), ``ddl_clip_scores`` (N,) clip D-scores (NaN
    when the DDNet was skipped), ``base_clips`` (k), ``ddnet_clips`` (N or 0),
    ``base_views``/``ddnet_views`` (views run), ``time_ddnet_s``,
    ``time_base_s``, ``model_time_s`` (their sum; wall time of the two model
    forwards, CUDA-synchronised), and with ``count_flops`` ``gflops_base`` /
    ``gflops_ddnet`` (per-view GFLOPs x views run, measured once per input
    shape with :mod:`mmddl.models.utils.flops`).

    Args:
        base: model cfg (or a config file path whose ``model`` is used) of
            a stock mmaction recognizer (e.g. ``Recognizer3D``
            with SlowFast / R(2+1)D / I3D).
        ddnet: model cfg of the DDNet (stock ``Recognizer3D`` with a
            ``DDNetResNet3d`` backbone and ``DDNetHead``).
        aggregator: :class:`DDLAggregator` cfg (or instance).
        base_checkpoint: checkpoint of ``base`` (keys as saved by the Runner
            for the recognizer alone), loaded strictly.
        ddnet_checkpoint: checkpoint of ``ddnet``, loaded strictly.
        num_crops: spatial crops per clip (3 for ``ThreeCrop``).
        ddnet_input: ``dict(num_frames=None|int, size=None|int|(h, w))``: the
            DDNet sees the decoded views temporally subsampled to
            ``num_frames`` (frames ``floor(i * T / num_frames)``) and resized
            with bilinear ``F.interpolate`` (an int is the short side, aspect
            kept). If the DDNet's own data preprocessor normalises differently
            from this model's, its input is re-normalised to match it.
        data_preprocessor: preprocessor cfg of this model; None takes
            ``base``'s. Views are re-normalised for the base too if its own
            preprocessor differs.
        max_testing_views: run at most this many views per forward (memory
            cap); None runs all views of a video at once.
        count_flops: measure and report GFLOPs.
        init_cfg: mmengine init cfg.
    """

    def __init__(self,
                 base: Union[str, dict],
                 ddnet: Union[str, dict],
                 aggregator: Union[dict, DDLAggregator],
                 base_checkpoint: Optional[str] = None,
                 ddnet_checkpoint: Optional[str] = None,
                 num_crops: int = 1,
                 ddnet_input: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 max_testing_views: Optional[int] = None,
                 count_flops: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        base = self._model_cfg(base, 'base')
        ddnet = self._model_cfg(ddnet, 'ddnet')
        if data_preprocessor is None:
            data_preprocessor = copy.deepcopy(
                base.get('data_preprocessor',
                         dict(type='ActionDataPreprocessor',
                              format_shape='NCTHW')))
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if int(num_crops) < 1:
            raise ValueError(f'num_crops must be >= 1, got {num_crops}')
        if max_testing_views is not None and int(max_testing_views) < 1:
            raise ValueError('max_testing_views must be >= 1 or None, got '
                             f'{max_testing_views}')
        self.num_crops = int(num_crops)
        self.max_testing_views = (None if max_testing_views is None else
                                  int(max_testing_views))
        self.num_frames, self.size = self._parse_ddnet_input(ddnet_input)
        self.count_flops = count_flops

        self.base = MODELS.build(base)
        self.ddnet = MODELS.build(ddnet)
        if isinstance(aggregator, DDLAggregator):
            self.aggregator = aggregator
        else:
            self.aggregator = MODELS.build(aggregator)
            if not isinstance(self.aggregator, DDLAggregator):
                raise TypeError('aggregator must build a DDLAggregator, got '
                                f'{type(self.aggregator).__name__}')
        self.base_checkpoint = base_checkpoint
        self.ddnet_checkpoint = ddnet_checkpoint
        self._load_checkpoints()
        self._base_gflops = GFlopsCache(self.base, recognizer_views)
        self._ddnet_gflops = GFlopsCache(self.ddnet, recognizer_views)

    @staticmethod
    def _model_cfg(cfg: Union[str, dict], name: str) -> dict:
        """A model config dict, or the ``model`` of a config file path."""
        if isinstance(cfg, str):
            from mmengine.config import Config
            if not osp.isfile(cfg):
                raise FileNotFoundError(f'{name}: config file {cfg!r} not '
                                        'found')
            cfg = Config.fromfile(cfg).get('model')
            if cfg is None:
                raise ValueError(f'{name}: the config file has no `model`')
        if not isinstance(cfg, dict) or 'type' not in cfg:
            raise TypeError(f'{name} must be a model config dict (with a '
                            f'type) or a config file path, got {cfg!r}')
        return copy.deepcopy(dict(cfg))

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

    def _load_checkpoints(self) -> None:
        for model, ckpt in ((self.base, self.base_checkpoint),
                            (self.ddnet, self.ddnet_checkpoint)):
            if ckpt is not None:
                load_checkpoint(model, ckpt, map_location='cpu', strict=True)

    def init_weights(self) -> None:
        """Initialise, then (re)load the given checkpoints on top."""
        super().init_weights()
        self._load_checkpoints()

    # ----------------------------------------------------------- DDNet input
    def ddnet_views(self, views: torch.Tensor) -> torch.Tensor:
        """The cheap copy of the views the DDNet sees.

        Args:
            views: (V, C, T, H, W) preprocessed by this model's preprocessor.

        Returns:
            (V, C, T', H', W') in the DDNet preprocessor's normalisation.
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
                frames = views.transpose(1, 2).reshape(V * T, C, H, W)
                frames = F.interpolate(
                    frames, size=out, mode='bilinear', align_corners=False)
                views = frames.reshape(V, T, C, *out).transpose(1, 2)
        return self._renormalize(views, self.ddnet)

    def _renormalize(self, x: torch.Tensor, model: nn.Module) -> torch.Tensor:
        """Map views from this model's input normalisation (mean/std,
        BGR/RGB) to the one of ``model``'s own data preprocessor."""
        mean_b, std_b, rgb_b = _norm_params(self.data_preprocessor)
        mean_d, std_d, rgb_d = _norm_params(model.data_preprocessor)
        same = rgb_b == rgb_d and (mean_b is None) == (mean_d is None) and (
            mean_b is None or (torch.equal(mean_b, mean_d)
                               and torch.equal(std_b, std_d)))
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

    # ------------------------------------------------------------- running
    def _run_views(self, model: nn.Module,
                   views: torch.Tensor) -> torch.Tensor:
        """Head outputs of ``model`` on all views, chunked by
        ``max_testing_views``."""
        step = self.max_testing_views or views.shape[0]
        outs = [
            recognizer_views(model, views[i:i + step])
            for i in range(0, views.shape[0], step)
        ]
        return torch.cat(outs)

    def _video(self, views: torch.Tensor) -> Dict:
        """DDL inference on the (V, C, T, H, W) views of one video."""
        V = views.shape[0]
        if V % self.num_crops:
            raise ValueError(f'{V} views per video is not a multiple of '
                             f'num_crops={self.num_crops}')
        N, crops = V // self.num_crops, self.num_crops
        agg = self.aggregator

        _sync(views.device)
        t0 = time.perf_counter()
        if agg.needs_scores:
            dd_views = self.ddnet_views(views)
            view_scores = self._run_views(self.ddnet, dd_views).reshape(-1)
            if view_scores.numel() != V:
                raise RuntimeError(
                    f'the DDNet head gave {view_scores.numel()} scores for '
                    f'{V} views; it must output one D-score per view')
            clip_scores = view_scores.float().view(crops, N).mean(0)
            selected = agg.select(clip_scores)
            kept = clip_scores[selected]
        else:
            clip_scores = torch.full((N, ), float('nan'), device=views.device)
            selected = agg.select(num_elements=N).to(views.device)
            kept = None
        _sync(views.device)
        t1 = time.perf_counter()
        view_idx = (torch.arange(crops, device=views.device)[:, None] * N +
                    selected[None, :]).reshape(-1)
        logits = self._run_views(
            self.base, self._renormalize(views[view_idx], self.base))
        k = selected.numel()
        if logits.dim() != 2 or logits.shape[0] != crops * k:
            raise RuntimeError(f'the base head gave shape '
                               f'{tuple(logits.shape)} for {crops * k} views; '
                               'expected (views, num_classes)')
        probs = logits.float().softmax(-1).view(crops, k, -1).mean(0)
        fused = agg.fuse(probs, kept)
        _sync(views.device)
        t2 = time.perf_counter()

        ddnet_views = V if agg.needs_scores else 0
        out = dict(
            pred_score=fused,
            ddl_selected=selected,
            ddl_clip_scores=clip_scores,
            base_clips=k,
            ddnet_clips=N if agg.needs_scores else 0,
            base_views=crops * k,
            ddnet_views=ddnet_views,
            time_ddnet_s=t1 - t0,
            time_base_s=t2 - t1,
            model_time_s=t2 - t0)
        if self.count_flops:
            out['gflops_base'] = self._base_gflops(views[:1]) * crops * k
            out['gflops_ddnet'] = (
                self._ddnet_gflops(dd_views[:1]) * V if ddnet_views else 0.0)
        return out

    def _forward_videos(self, inputs: torch.Tensor) -> List[Dict]:
        if inputs.dim() != 6:
            raise ValueError(
                'DDLRecognizer expects inputs (B, V, C, T, H, W) (format '
                f'NCTHW), got shape {tuple(inputs.shape)}')
        with torch.no_grad():
            return [self._video(video) for video in inputs]

    # ------------------------------------------------------------ interface
    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[Sequence] = None) -> List:
        """Fused predictions, one data sample per video (fields: see the
        class doc)."""
        results = self._forward_videos(inputs)
        if data_samples is None:
            data_samples = [ActionDataSample() for _ in results]
        if len(data_samples) != len(results):
            raise ValueError(f'{len(data_samples)} data samples for '
                             f'{len(results)} videos')
        for sample, res in zip(data_samples, results):
            score = res.pop('pred_score')
            sample.set_pred_score(score)
            sample.set_pred_label(score.argmax(-1, keepdim=True))
            for name, value in res.items():
                sample.set_field(value, name)
        return list(data_samples)

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[Sequence] = None,
                mode: str = 'tensor',
                **kwargs):
        """``predict``: data samples with the fused result; ``tensor``:
        (B, num_classes) fused class probabilities; ``loss``: not supported
        (DDLRecognizer is a test-time model).
        """
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return torch.stack(
                [r['pred_score'] for r in self._forward_videos(inputs)])
        if mode == 'loss':
            raise RuntimeError(
                "DDLRecognizer is a test-time model and has no mode='loss'; "
                'train the base and the DDNet separately with the stock '
                'Recognizer3D (DDNet: DDNetResNet3d + DDNetHead on gt_dscore)')
        raise RuntimeError(f'Invalid mode "{mode}". Only supports predict '
                           'and tensor mode')
