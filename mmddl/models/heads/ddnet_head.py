"""DDNetHead: regress the normalized discriminability (D-score) of inputs."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.registry import MODELS, DefaultScope
from mmengine.structures import BaseDataElement

Feats = Union[torch.Tensor, Sequence[torch.Tensor]]

#: Data-sample classes the head can create, by name.
SAMPLE_TYPES = ('ActionDataSample', 'DataSample', 'BaseDataElement')


def _sample_class(name: Optional[str]) -> type:
    """Resolve a data-sample class; None picks it from the default scope."""
    if name is None:
        scope = DefaultScope.get_current_instance()
        name = ('ActionDataSample' if scope is not None
                and scope.scope_name == 'mmaction' else 'DataSample')
    if name == 'ActionDataSample':
        from mmaction.structures import ActionDataSample
        return ActionDataSample
    if name == 'DataSample':
        from mmpretrain.structures import DataSample
        return DataSample
    if name == 'BaseDataElement':
        return BaseDataElement
    raise ValueError(
        f'data_sample_type must be None or one of {SAMPLE_TYPES}, got {name!r}'
    )


@MODELS.register_module()
class DDNetHead(BaseModule):
    """Pooled features -> one D-score in (0, 1) per input, MSE-trained (Eq. 6).

    Works as ``cls_head`` of mmaction2's ``Recognizer3D`` / ``Recognizer2D``
    and as ``head`` of mmpretrain's ``ImageClassifier``. Feature maps of shape
    (N, C, H, W) or (N, C, T, H, W) are averaged globally; (N, C) is used as
    is; for a tuple (a backbone's multi-stage output) the last element is used.

    Views: when the caller stacks V views per data sample (mmaction's
    ``num_clips x num_crops``), ``N = V * len(data_samples)`` in sample-major
    order. Training targets ``gt_dscore`` may then be one value (shared by all
    views of the sample, e.g. crops of one clip) or V values (one per view).
    Predictions: ``pred_dscore`` is a 0-d tensor when V == 1, else the (V,)
    vector of per-view scores in view order (never averaged).

    Args:
        in_channels (int): Channels of the input features.
        dropout_ratio (float): Dropout before the linear layer (0 disables it).
        loss_weight (float): Factor of the MSE loss.
        data_sample_type (str, optional): Class of the data samples created by
            :meth:`predict` when none are given: ``'ActionDataSample'``,
            ``'DataSample'`` (mmpretrain) or ``'BaseDataElement'``; None picks
            ``ActionDataSample`` under default scope ``mmaction``, else
            mmpretrain's ``DataSample``.
        init_cfg (dict | list[dict], optional): mmengine init config.
    """

    def __init__(
        self,
        in_channels: int,
        dropout_ratio: float = 0.0,
        loss_weight: float = 1.0,
        data_sample_type: Optional[str] = None,
        init_cfg: Optional[Union[dict, list]] = dict(
            type='Normal', layer='Linear', std=0.01)
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if in_channels < 1:
            raise ValueError(
                f'in_channels must be positive, got {in_channels}')
        if not 0.0 <= dropout_ratio < 1.0:
            raise ValueError(
                f'dropout_ratio must be in [0, 1), got {dropout_ratio}')
        if (data_sample_type is not None
                and data_sample_type not in SAMPLE_TYPES):
            raise ValueError(
                f'data_sample_type must be None or one of {SAMPLE_TYPES}, '
                f'got {data_sample_type!r}')
        self.in_channels = in_channels
        self.loss_weight = loss_weight
        self.data_sample_type = data_sample_type
        self.dropout = nn.Dropout(
            dropout_ratio) if dropout_ratio > 0 else nn.Identity()
        self.fc = nn.Linear(in_channels, 1)

    def pre_logits(self, feats: Feats) -> torch.Tensor:
        """Pool features to (N, C).

        Args:
            feats (Tensor | Sequence[Tensor]): (N, C), (N, C, H, W) or
                (N, C, T, H, W) features, or a tuple whose last one is used.

        Returns:
            Tensor: (N, in_channels) pooled features.
        """
        if isinstance(feats, (tuple, list)):
            if len(feats) == 0:
                raise ValueError('DDNetHead got an empty feature tuple')
            feats = feats[-1]
        if not isinstance(feats, torch.Tensor):
            raise TypeError(
                'DDNetHead expects a tensor or tuple of tensors, got '
                f'{type(feats)}')
        if feats.dim() in (4, 5):
            feats = feats.mean(dim=tuple(range(2, feats.dim())))
        elif feats.dim() != 2:
            raise ValueError(
                'DDNetHead expects (N, C), (N, C, H, W) or (N, C, T, H, W) '
                f'features, got shape {tuple(feats.shape)}')
        if feats.shape[1] != self.in_channels:
            raise ValueError(
                f'DDNetHead was built with in_channels={self.in_channels} '
                f'but got features with {feats.shape[1]} channels')
        return feats

    def forward(self, feats: Feats, **kwargs) -> torch.Tensor:
        """Predict D-scores.

        Args:
            feats (Tensor | Sequence[Tensor]): Backbone features.
            **kwargs: Ignored (mmaction passes e.g. ``num_segs``).

        Returns:
            Tensor: (N,) scores in (0, 1).
        """
        x = self.dropout(self.pre_logits(feats))
        return torch.sigmoid(self.fc(x)).squeeze(1)

    @staticmethod
    def _num_views(num_outputs: int, num_samples: int) -> int:
        if num_samples == 0 or num_outputs % num_samples != 0:
            raise ValueError(
                f'DDNetHead got {num_outputs} feature rows for {num_samples} '
                'data samples; rows must be a multiple of the samples (views)')
        return num_outputs // num_samples

    def _targets(self, data_samples: Sequence[BaseDataElement], views: int,
                 device: torch.device) -> torch.Tensor:
        """Stack the samples' ``gt_dscore`` into (len(samples) * views,)."""
        targets = []
        for i, sample in enumerate(data_samples):
            if 'gt_dscore' not in sample:
                raise KeyError(
                    f'data sample {i} has no field "gt_dscore" (the D-score '
                    'regression target); pack it with '
                    "algorithm_keys=('gt_dscore',)")
            value = torch.as_tensor(
                sample.gt_dscore, dtype=torch.float32,
                device=device).reshape(-1)
            if value.numel() == 1:
                value = value.expand(views)
            elif value.numel() != views:
                raise ValueError(
                    f'data sample {i}: gt_dscore has {value.numel()} values '
                    f'but the sample has {views} views; give 1 value or one '
                    'per view')
            if not torch.isfinite(value).all():
                raise ValueError(f'data sample {i}: gt_dscore is not finite: '
                                 f'{value.tolist()}')
            targets.append(value)
        return torch.cat(targets)

    def loss(self, feats: Feats, data_samples: Sequence[BaseDataElement],
             **kwargs) -> dict:
        """MSE between predicted and target D-scores (Eq. 6).

        Args:
            feats (Tensor | Sequence[Tensor]): Backbone features.
            data_samples (Sequence[BaseDataElement]): Samples carrying
                ``gt_dscore``.
            **kwargs: Ignored (e.g. mmaction's ``loss_aux``, ``num_segs``).

        Returns:
            dict: ``{'loss_dscore': loss_weight * mean squared error}``.
        """
        if not data_samples:
            raise ValueError(
                'DDNetHead.loss needs data samples carrying gt_dscore')
        scores = self(feats)
        views = self._num_views(scores.shape[0], len(data_samples))
        targets = self._targets(data_samples, views, scores.device)
        return dict(loss_dscore=self.loss_weight * F.mse_loss(scores, targets))

    def predict(self,
                feats: Feats,
                data_samples: Optional[List[BaseDataElement]] = None,
                **kwargs) -> List[BaseDataElement]:
        """Write the predicted D-scores into the samples as ``pred_dscore``.

        Args:
            feats (Tensor | Sequence[Tensor]): Backbone features.
            data_samples (list[BaseDataElement], optional): Samples to fill;
                None creates one per feature row (see ``data_sample_type``).
            **kwargs: Ignored (e.g. mmaction's ``fcn_test``).

        Returns:
            list[BaseDataElement]: The samples, each with ``pred_dscore``: a
            0-d tensor for one view, else the (V,) per-view scores.
        """
        scores = self(feats).detach()
        if data_samples is None:
            cls = _sample_class(self.data_sample_type)
            data_samples = [cls() for _ in range(scores.shape[0])]
        views = self._num_views(scores.shape[0], len(data_samples))
        per_sample: Tuple[torch.Tensor,
                          ...] = tuple(scores.view(len(data_samples), views))
        for sample, value in zip(data_samples, per_sample):
            sample.set_field(value[0] if views == 1 else value, 'pred_dscore')
        return data_samples
