"""Batch-hard triplet loss (Hermans et al., In Defense of the Triplet Loss)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS


def pairwise_euclidean(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Pairwise L2 distances ``(N, N)`` of the rows of ``x`` ``(N, d)``.

    The diagonal is exactly 0; the square root is taken of the clamped
    squared distance so the gradient stays finite for identical rows.

    Args:
        x (torch.Tensor): Features ``(N, d)``.
        eps (float): Lower bound of the squared distance.
    """
    sq = (x * x).sum(dim=1)
    d2 = sq[:, None] + sq[None, :] - 2. * x @ x.t()
    d2 = d2.clamp(min=eps)
    eye = torch.eye(x.shape[0], dtype=torch.bool, device=x.device)
    return d2.sqrt().masked_fill(eye, 0.)


def batch_hard_triplet_loss(feats: torch.Tensor,
                            labels: torch.Tensor,
                            margin: Optional[float] = 0.3,
                            normalize: bool = False) -> torch.Tensor:
    """Batch-hard triplet loss.

    For each anchor ``a``: ``d_ap`` = largest distance to another sample of
    the same identity, ``d_an`` = smallest distance to a sample of a different
    identity; loss = mean over anchors of ``max(0, d_ap - d_an + margin)``
    (or ``softplus(d_ap - d_an)`` when ``margin`` is None, the soft margin).

    Anchors that define no triplet (no other sample of their identity, or no
    sample of another identity) are left out of the mean: they have no valid
    triplet. If no anchor in the batch has one, this raises ``ValueError``
    (use ``PKSampler`` with ``num_instances >= 2`` and ``>= 2`` identities).

    Args:
        feats (Tensor): Features ``(N, d)``.
        labels (Tensor): Identity labels ``(N,)``.
        margin (float, optional): Margin; None for soft margin.
        normalize (bool): L2-normalise the features first.

    Returns:
        Tensor: Scalar loss.
    """
    if feats.dim() != 2:
        raise ValueError(f'feats must be (N, d), got {tuple(feats.shape)}.')
    labels = labels.reshape(-1)
    if labels.numel() != feats.shape[0]:
        raise ValueError(f'{labels.numel()} labels for {feats.shape[0]} '
                         'features.')
    if normalize:
        feats = F.normalize(feats, dim=1)
    dist = pairwise_euclidean(feats)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=feats.device)
    pos_mask = same & ~eye
    neg_mask = ~same
    valid = pos_mask.any(dim=1) & neg_mask.any(dim=1)
    if not bool(valid.any()):
        raise ValueError(
            'batch-hard triplet loss: no anchor has both a positive and a '
            'negative in this batch (labels '
            f'{labels.tolist()}); sample P>=2 identities x K>=2 instances, '
            'e.g. with PKSampler.')
    d_ap = dist.masked_fill(~pos_mask, float('-inf')).max(dim=1).values
    d_an = dist.masked_fill(~neg_mask, float('inf')).min(dim=1).values
    diff = d_ap[valid] - d_an[valid]
    if margin is None:
        return F.softplus(diff).mean()
    return F.relu(diff + margin).mean()


@MODELS.register_module()
class BatchHardTripletLoss(nn.Module):
    """Batch-hard triplet loss module (see :func:`batch_hard_triplet_loss`).

    Args:
        margin (float, optional): Margin; None for soft margin.
            Defaults to 0.3.
        normalize (bool): L2-normalise features first. Defaults to False.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 margin: Optional[float] = 0.3,
                 normalize: bool = False,
                 loss_weight: float = 1.0):
        super().__init__()
        self.margin = margin
        self.normalize = normalize
        self.loss_weight = loss_weight

    def forward(self, feats: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        """Weighted batch-hard triplet loss of ``feats`` ``(N, d)``.

        Args:
            feats (torch.Tensor): Features ``(N, d)``.
            labels (torch.Tensor): Identity labels ``(N,)``.
        """
        return self.loss_weight * batch_hard_triplet_loss(
            feats, labels, self.margin, self.normalize)
