"""Batch-hard triplet loss against a naive O(N^2) loop."""
import math

import mmddl  # noqa: F401  (compat fixes, registration)

# isort: split
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mmddl.models.losses import BatchHardTripletLoss, batch_hard_triplet_loss



def naive_batch_hard(x, labels, margin):
    """Straightforward loops in float64; anchors without a triplet skipped."""
    x = np.asarray(x, dtype=np.float64)
    n = len(labels)
    terms = []
    for a in range(n):
        hardest_pos, hardest_neg = None, None
        for j in range(n):
            d = math.sqrt(
                sum((x[a, t] - x[j, t])**2 for t in range(x.shape[1])))
            if j != a and labels[j] == labels[a]:
                hardest_pos = d if hardest_pos is None else max(hardest_pos, d)
            if labels[j] != labels[a]:
                hardest_neg = d if hardest_neg is None else min(hardest_neg, d)
        if hardest_pos is None or hardest_neg is None:
            continue
        diff = hardest_pos - hardest_neg
        terms.append(
            math.log1p(math.exp(diff)) if margin is
            None else max(0.0, diff + margin))
    return sum(terms) / len(terms)


@pytest.mark.parametrize('margin', [0.3, 1.0, None])
@pytest.mark.parametrize(
    'labels',
    [
        [0, 0, 1, 1, 2, 2, 3, 3],  # PK batch
        [0, 0, 0, 1, 2, 2, 5, 5, 7],  # singletons 1 and 7 have no positive
    ])
def test_triplet_matches_naive(margin, labels):
    g = torch.Generator().manual_seed(len(labels))
    x = torch.randn(len(labels), 5, generator=g)
    got = batch_hard_triplet_loss(x, torch.tensor(labels), margin)
    assert float(got) == pytest.approx(naive_batch_hard(
        x.numpy(), labels, margin),
                                       rel=1e-5)


def test_triplet_normalize_weight_and_gradients():
    labels = torch.tensor([0, 0, 1, 1])
    x = torch.randn(4, 3)
    x[1] = x[0]  # identical positives: distance 0, gradient must stay finite
    x.requires_grad_(True)
    loss_mod = BatchHardTripletLoss(margin=0.3,
                                    normalize=True,
                                    loss_weight=2.0)
    loss = loss_mod(x, labels)
    expected = 2.0 * naive_batch_hard(
        F.normalize(x.detach(), dim=1).numpy(), labels.tolist(), 0.3)
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    loss.backward()
    assert torch.isfinite(x.grad).all()


def test_triplet_no_valid_anchor_is_an_error():
    with pytest.raises(ValueError, match='PKSampler'):
        batch_hard_triplet_loss(torch.randn(3, 4), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match='PKSampler'):
        batch_hard_triplet_loss(torch.randn(3, 4), torch.tensor([4, 4, 4]))
    with pytest.raises(ValueError, match='labels'):
        batch_hard_triplet_loss(torch.randn(3, 4), torch.tensor([0, 1]))
