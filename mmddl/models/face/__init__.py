"""Face / re-ID base-model pieces and the DDL group encoder.

Registered: ``CosFaceClsHead``, ``SphereFaceClsHead``, ``ReIDHead``,
``BatchHardTripletLoss`` (mmpretrain ``MODELS``); ``DDLGroupEncoder``
(mmengine ROOT ``MODELS``); ``PKSampler`` (mmengine ROOT ``DATA_SAMPLERS``);
``group_collate`` (mmengine ROOT ``FUNCTIONS``).
"""
from .group_collate import group_collate
from .group_encoder import DDLGroupEncoder
from .margin_heads import CosFaceClsHead, SphereFaceClsHead
from .pk_sampler import PKSampler
from .reid_head import ReIDHead
from .triplet_loss import (BatchHardTripletLoss, batch_hard_triplet_loss,
                           pairwise_euclidean)

__all__ = [
    'CosFaceClsHead', 'SphereFaceClsHead', 'ReIDHead', 'BatchHardTripletLoss',
    'batch_hard_triplet_loss', 'pairwise_euclidean', 'PKSampler',
    'DDLGroupEncoder', 'group_collate'
]
