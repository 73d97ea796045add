"""Re-ID head: BN-neck feature, identity classifier, CE + triplet losses."""
from typing import List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mmddl.models.utils.pooling import pool_last


@MODELS.register_module()
class ReIDHead(BaseModule):
    """BN-neck re-ID head for mmpretrain's ``ImageClassifier``.

    Example::

        head=dict(
            type='ReIDHead', num_classes=625, in_channels=2048,
            loss_cls=dict(type='LabelSmoothLoss', label_smooth_val=0.1,
                          mode='original', loss_weight=1.0),
            loss_triplet=dict(type='BatchHardTripletLoss', margin=0.3))

    Args:
        num_classes (int): Number of training identities.
        in_channels (int): Feature dimension. 4D feature maps are
            global-average pooled; pooled ``(N, C)`` inputs are used as is.
        loss_cls (dict): Identity classification loss config.
            Defaults to plain cross-entropy.
        loss_triplet (dict, optional): Triplet loss config; None disables it.
            Defaults to batch-hard with margin 0.3.
        triplet_feature (str): ``'before_bn'`` (``f_t``, the BoT choice) or
            ``'after_bn'`` (``f_i``) for the triplet loss.
        test_feature (str): ``'after_bn'`` or ``'before_bn'`` for
            ``pre_logits`` / ``predict``. Defaults to ``'after_bn'``.
        init_cfg (dict, optional): Initialisation config (classifier weights
            ``std=0.001`` normal, BN weight 1, as in BoT).
    """

    _FEATURES = ('before_bn', 'after_bn')

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss_cls: dict = dict(
                     type='CrossEntropyLoss', loss_weight=1.0),
                 loss_triplet: Optional[dict] = dict(
                     type='BatchHardTripletLoss', margin=0.3, loss_weight=1.0),
                 triplet_feature: str = 'before_bn',
                 test_feature: str = 'after_bn',
                 init_cfg: Optional[dict] = dict(
                     type='Normal', layer='Linear', std=0.001)):
        super().__init__(init_cfg=init_cfg)
        for name, value in (('triplet_feature', triplet_feature),
                            ('test_feature', test_feature)):
            if value not in self._FEATURES:
                raise ValueError(
                    f'{name} must be one of {self._FEATURES}, got {value!r}.')
        if num_classes < 1 or in_channels < 1:
            raise ValueError('num_classes and in_channels must be >= 1.')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.triplet_feature = triplet_feature
        self.test_feature = test_feature
        self.bnneck = nn.BatchNorm1d(in_channels)
        self.bnneck.bias.requires_grad_(False)
        self.classifier = nn.Linear(in_channels, num_classes, bias=False)
        self.loss_cls = (
            loss_cls
            if isinstance(loss_cls, nn.Module) else MODELS.build(loss_cls))
        if loss_triplet is None or isinstance(loss_triplet, nn.Module):
            self.loss_triplet = loss_triplet
        else:
            self.loss_triplet = MODELS.build(loss_triplet)

    def _pool(self, feats: Union[torch.Tensor,
                                 Tuple[torch.Tensor]]) -> torch.Tensor:
        """Last-stage feature, globally average-pooled to ``(N, C)``."""
        x = pool_last(feats)
        if x.shape[1] != self.in_channels:
            raise ValueError(f'ReIDHead expects features with '
                             f'{self.in_channels} channels, got '
                             f'{tuple(x.shape)}.')
        return x

    def features(self, feats) -> Tuple[torch.Tensor, torch.Tensor]:
        """Return ``(f_t, f_i)``: pooled feature and its BN-neck output.

        Args:
            feats (Tensor | Tuple[Tensor]): ``(N, C)`` or ``(N, C, H, W)``
                features, or a tuple whose last one is used.
        """
        f_t = self._pool(feats)
        return f_t, self.bnneck(f_t)

    def pre_logits(self, feats) -> torch.Tensor:
        """The retrieval feature selected by ``test_feature``.

        Args:
            feats (Tensor | Tuple[Tensor]): See :meth:`features`.
        """
        f_t, f_i = self.features(feats)
        return f_i if self.test_feature == 'after_bn' else f_t

    def forward(self, feats) -> torch.Tensor:
        """Identity logits ``(N, num_classes)`` from the BN-neck feature.

        Args:
            feats (Tensor | Tuple[Tensor]): See :meth:`features`.
        """
        return self.classifier(self.features(feats)[1])

    def loss(self, feats, data_samples: List[DataSample], **kwargs) -> dict:
        """Cross-entropy on the logits plus the triplet loss.

        Args:
            feats (tuple[Tensor] | Tensor): Backbone/neck features.
            data_samples (list[DataSample]): Samples carrying ``gt_label``
                (identity index).
            **kwargs: Unused (kept for the mmpretrain head interface).

        Returns:
            dict[str, Tensor]: ``loss_cls`` and, if enabled, ``loss_triplet``.
        """
        if not data_samples or 'gt_label' not in data_samples[0]:
            raise KeyError('ReIDHead.loss needs `gt_label` (identity index) '
                           'in every data sample.')
        labels = torch.cat([ds.gt_label for ds in data_samples])
        f_t, f_i = self.features(feats)
        labels = labels.to(f_t.device)
        logits = self.classifier(f_i)
        losses = dict(
            loss_cls=self.loss_cls(logits, labels, avg_factor=logits.size(0)))
        if self.loss_triplet is not None:
            trip_feat = f_t if self.triplet_feature == 'before_bn' else f_i
            losses['loss_triplet'] = self.loss_triplet(trip_feat, labels)
        return losses

    def predict(
        self,
        feats,
        data_samples: Optional[List[Optional[DataSample]]] = None
    ) -> List[DataSample]:
        """Write the retrieval feature into ``pred_feature`` of each sample.

        Args:
            feats (tuple[Tensor] | Tensor): Backbone/neck features.
            data_samples (list[DataSample | None], optional): Samples to
                fill; new ``DataSample`` objects are made when None.

        Returns:
            list[DataSample]: Samples with ``pred_feature`` ``(d,)``.
        """
        out = self.pre_logits(feats).detach()
        if data_samples is None:
            data_samples = [None] * out.shape[0]
        if len(data_samples) != out.shape[0]:
            raise ValueError(f'{len(data_samples)} data samples for '
                             f'{out.shape[0]} features.')
        results = []
        for ds, feat in zip(data_samples, out):
            ds = DataSample() if ds is None else ds
            ds.set_field(feat, 'pred_feature')
            results.append(ds)
        return results
