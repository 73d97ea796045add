"""Losses: the batch-hard triplet loss of the re-ID base."""
from .triplet_loss import (BatchHardTripletLoss, batch_hard_triplet_loss,
                           pairwise_euclidean)

__all__ = [
    'BatchHardTripletLoss', 'batch_hard_triplet_loss', 'pairwise_euclidean'
]
