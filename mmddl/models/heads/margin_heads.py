"""Margin-based softmax heads for face recognition: CosFace and SphereFace."""
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmengine.runner import autocast
from mmpretrain.models.heads import ArcFaceClsHead, ClsHead
from mmpretrain.models.heads.margin_head import NormProduct
from mmpretrain.models.losses import convert_to_one_hot
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample


def _last_feature(feats: Union[torch.Tensor,
                               Tuple[torch.Tensor]]) -> torch.Tensor:
    """Return the last-stage feature, which must be pooled ``(N, C)``."""
    x = feats if isinstance(feats, torch.Tensor) else feats[-1]
    if x.dim() != 2:
        raise ValueError(
            'margin heads expect pooled features of shape (N, C), got '
            f'{tuple(x.shape)}; add a neck such as GlobalAveragePooling.')
    return x


def _pack_targets(data_samples: List[DataSample]):
    """Return (index targets, loss targets) as ArcFaceClsHead does."""
    label_target = torch.cat([i.gt_label for i in data_samples])
    if 'gt_score' in data_samples[0]:
        return label_target, torch.stack([i.gt_score for i in data_samples])
    return label_target, label_target


@MODELS.register_module()
class CosFaceClsHead(ArcFaceClsHead):
    """CosFace (large margin cosine loss) classifier head.

    Training logits are ``s * (cos(theta_j) - m * [j == y])``
    (Wang et al., CosFace, CVPR 2018); test logits are ``s * cos(theta_j)``.
    Features and class weights are L2-normalised (``NormProduct``).

    Args:
        num_classes (int): Number of identities.
        in_channels (int): Feature dimension.
        margins (float | Sequence[float] | str): Additive cosine margin ``m``:
            one float, one per class, or a ``.txt`` file with one per line.
            Defaults to 0.35 (the paper's value).
        **kwargs: The other arguments of ``ArcFaceClsHead`` but
            ``easy_margin``: ``num_subcenters`` (sub-centres per class, max
            over them; default 1), ``scale`` (logit scale ``s``; default
            64), ``loss`` (classification loss config) and ``init_cfg``.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 margins: Union[float, Sequence[float], str] = 0.35,
                 **kwargs):
        if isinstance(margins, int):
            margins = float(margins)
        super().__init__(
            num_classes,
            in_channels,
            margins=margins,
            easy_margin=False,
            **kwargs)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Return the last-stage pooled feature ``(N, C)``.

        Args:
            feats (Tuple[torch.Tensor]): Backbone / neck features; the last
                one must be pooled ``(N, C)``.
        """
        return _last_feature(feats)

    def _get_logit_with_margin(self, pre_logits: torch.Tensor,
                               target: torch.Tensor) -> torch.Tensor:
        """Subtract the cosine margin from the target-class cosine.

        Args:
            pre_logits (Tensor): Features ``(N, C)``.
            target (Tensor): Class indices ``(N,)`` or ``(N, 1)``.

        Returns:
            Tensor: Unscaled logits ``(N, num_classes)``.
        """
        if not (target.dim() == 1 or
                (target.dim() == 2 and target.shape[1] == 1)):
            raise ValueError('CosFaceClsHead needs index targets (N,), got '
                             f'shape {tuple(target.shape)}.')
        cosine = self.norm_product(pre_logits)
        one_hot = convert_to_one_hot(target, self.num_classes).to(cosine)
        return cosine - one_hot * self.margins


@MODELS.register_module()
class SphereFaceClsHead(ClsHead):
    """SphereFace (A-Softmax, multiplicative angular margin) classifier head.

    The target-class cosine is replaced by the monotonic extension of
    ``cos(m * theta)`` (Liu et al., SphereFace, CVPR 2017)::

        psi(theta) = (-1)^k * cos(m * theta) - 2k,
        theta in [k * pi / m, (k + 1) * pi / m],  k in {0, ..., m - 1}.

    ``cos(m * theta)`` is evaluated as the Chebyshev polynomial
    ``T_m(cos theta)`` and ``k`` is computed without gradient, as in the
    original implementation. Class weights are L2-normalised. The logit
    magnitude is the feature norm ``||x||`` (the original A-Softmax, used
    when ``scale=None``) or a fixed ``scale`` (normalised-feature variant,
    ``s * psi`` / ``s * cos``). Test logits are ``magnitude * cos(theta_j)``.

    Optional annealing (the paper's training recipe): the target logit becomes
    ``(lambda * cos(theta) + psi(theta)) / (1 + lambda)`` with
    ``lambda = max(lambda_min, base * (1 + gamma * it) ** (-power))``, where
    ``it`` counts training ``loss`` calls (stored in the buffer
    ``anneal_iter``, so it is saved in checkpoints and restored on resume).
    The paper's values are ``dict(base=1000., gamma=0.12, power=1.,
    lambda_min=5.)``.

    Args:
        num_classes (int): Number of identities.
        in_channels (int): Feature dimension.
        num_subcenters (int): Sub-centres per class. Defaults to 1.
        margin (int): Integer angular margin ``m >= 1``. Defaults to 4.
        scale (float, optional): Fixed logit scale; ``None`` uses the feature
            norm. Defaults to None.
        anneal (dict, optional): Annealing with keys ``base``, ``gamma``,
            ``power``, ``lambda_min``; ``None`` disables it. Defaults to None.
        loss (dict): Classification loss config.
        init_cfg (dict, optional): Initialisation config.
    """

    _ANNEAL_KEYS = ('base', 'gamma', 'power', 'lambda_min')

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 num_subcenters: int = 1,
                 margin: int = 4,
                 scale: Optional[float] = None,
                 anneal: Optional[dict] = None,
                 loss: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 init_cfg: Optional[dict] = None):
        super().__init__(loss=loss, init_cfg=init_cfg)
        if int(margin) != margin or margin < 1:
            raise ValueError(
                f'SphereFace margin must be an integer >= 1, got {margin}.')
        if num_subcenters < 1 or num_classes < 1:
            raise ValueError('num_classes and num_subcenters must be >= 1.')
        if scale is not None and scale <= 0:
            raise ValueError(f'scale must be positive or None, got {scale}.')
        if anneal is not None:
            missing = set(self._ANNEAL_KEYS) - set(anneal)
            extra = set(anneal) - set(self._ANNEAL_KEYS)
            if missing or extra:
                raise ValueError(
                    f'anneal needs exactly the keys {self._ANNEAL_KEYS}; '
                    f'missing {sorted(missing)}, unknown {sorted(extra)}.')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.num_subcenters = num_subcenters
        self.margin = int(margin)
        self.scale = scale
        self.anneal = None if anneal is None else dict(anneal)
        self.norm_product = NormProduct(in_channels, num_classes,
                                        num_subcenters)
        self.register_buffer('anneal_iter', torch.zeros((), dtype=torch.long))

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Return the last-stage pooled feature ``(N, C)``.

        Args:
            feats (Tuple[torch.Tensor]): Backbone / neck features; the last
                one must be pooled ``(N, C)``.
        """
        return _last_feature(feats)

    def current_lambda(self) -> float:
        """Annealing weight at the current iteration (0 when disabled)."""
        if self.anneal is None:
            return 0.
        a = self.anneal
        lam = a['base'] * (1. +
                           a['gamma'] * float(self.anneal_iter))**(-a['power'])
        return max(a['lambda_min'], lam)

    def psi(self, cosine: torch.Tensor) -> torch.Tensor:
        """Monotonic extension ``(-1)^k cos(m theta) - 2k`` of cos(m theta).

        Args:
            cosine (Tensor): ``cos(theta)`` values in [-1, 1].

        Returns:
            Tensor: ``psi(theta)`` with the shape of ``cosine``.
        """
        c = cosine.clamp(-1., 1.)
        t_prev, t_cur = torch.ones_like(c), c
        for _ in range(self.margin - 1):  # Chebyshev: T_m(cos) = cos(m theta)
            t_prev, t_cur = t_cur, 2. * c * t_cur - t_prev
        with torch.no_grad():
            theta = torch.acos(c)
            k = torch.floor(self.margin * theta /
                            math.pi).clamp(max=self.margin - 1)
            sign = 1. - 2. * torch.remainder(k, 2.)
        return sign * t_cur - 2. * k

    def forward(self,
                feats: Tuple[torch.Tensor],
                target: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Logits: margin on the target class when ``target`` is given.

        Args:
            feats (tuple[Tensor] | Tensor): Features; the last is used.
            target (Tensor, optional): Class indices ``(N,)``.

        Returns:
            Tensor: Logits ``(N, num_classes)``.
        """
        with autocast(enabled=False):
            x = self.pre_logits(feats)
            cosine = self.norm_product(x)
            if self.scale is None:
                magnitude = x.norm(dim=1, keepdim=True)
            else:
                magnitude = self.scale
            if target is None:
                return magnitude * cosine
            if not (target.dim() == 1 or
                    (target.dim() == 2 and target.shape[1] == 1)):
                raise ValueError('SphereFaceClsHead needs index targets (N,),'
                                 f' got shape {tuple(target.shape)}.')
            target_logit = self.psi(cosine)
            lam = self.current_lambda()
            if lam > 0:
                target_logit = (lam * cosine + target_logit) / (1. + lam)
            one_hot = convert_to_one_hot(target, self.num_classes).to(cosine)
            logit = one_hot * target_logit + (1. - one_hot) * cosine
        return magnitude * logit

    def loss(self, feats: Tuple[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> dict:
        """A-Softmax loss; advances the annealing counter in training.

        Args:
            feats (tuple[Tensor]): Backbone/neck features.
            data_samples (list[DataSample]): Samples carrying ``gt_label``.
            **kwargs: Passed to the loss module.

        Returns:
            dict[str, Tensor]: ``{'loss': ...}``.
        """
        label_target, target = _pack_targets(data_samples)
        cls_score = self(feats, label_target)
        if self.training and self.anneal is not None:
            self.anneal_iter += 1
        loss = self.loss_module(
            cls_score, target, avg_factor=cls_score.size(0), **kwargs)
        return dict(loss=loss)
