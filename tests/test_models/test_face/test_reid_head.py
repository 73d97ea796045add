"""Batch-hard triplet loss vs a naive O(N^2) loop; ReIDHead losses/predict."""
import math

import mmddl  # noqa: F401  (compat fixes, registration)
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mmddl.models.face import (BatchHardTripletLoss, ReIDHead,
                               batch_hard_triplet_loss)


@pytest.fixture(autouse=True)
def _one_thread():
    """2 shared CPU cores: avoid torch thread oversubscription."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


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


def _bn_train_np(x, weight, bias, eps):
    mean = x.mean(0)
    var = x.var(0)  # biased, as BN normalises with
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def test_reid_head_losses_and_predict():
    torch.manual_seed(0)
    head = ReIDHead(num_classes=4,
                    in_channels=6,
                    loss_cls=dict(type='LabelSmoothLoss',
                                  label_smooth_val=0.1,
                                  mode='original'))
    head.init_weights()
    assert not head.bnneck.bias.requires_grad
    labels = [0, 0, 1, 1, 3, 3]
    fmap = torch.randn(6, 6, 2, 2)  # 4D: pooled by the head
    samples = [DataSample().set_gt_label(t) for t in labels]
    head.train()
    losses = head.loss((fmap, ), samples)
    assert set(losses) == {'loss_cls', 'loss_triplet'}

    f_t = fmap.double().mean(dim=(2, 3)).numpy()
    f_i = _bn_train_np(f_t,
                       head.bnneck.weight.detach().double().numpy(),
                       head.bnneck.bias.detach().double().numpy(),
                       head.bnneck.eps)
    logits = f_i @ head.classifier.weight.detach().double().numpy().T
    # label smoothing 0.1 over 4 classes ('original': eps/num_classes)
    target = np.full((6, 4), 0.1 / 4)
    target[np.arange(6), labels] += 0.9
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    ce = float(np.mean(-(target * logp).sum(1)))
    assert float(losses['loss_cls']) == pytest.approx(ce, rel=1e-4)
    assert float(losses['loss_triplet']) == pytest.approx(naive_batch_hard(
        f_t, labels, 0.3),
                                                          rel=1e-4)
    sum(losses.values()).backward()
    assert head.classifier.weight.grad is not None

    head.eval()
    out = head.predict((fmap, ))
    bn = head.bnneck
    expect = (
        (torch.tensor(f_t) - bn.running_mean.double()) /
        torch.sqrt(bn.running_var.double() + bn.eps) * bn.weight.double() +
        bn.bias.double())
    got = torch.stack([ds.pred_feature for ds in out]).double()
    torch.testing.assert_close(got, expect.detach(), rtol=1e-5, atol=1e-5)
    # test_feature='before_bn' returns the pooled feature itself
    head.test_feature = 'before_bn'
    np.testing.assert_allclose(head.pre_logits(fmap).numpy(), f_t, rtol=1e-6)


def test_reid_head_checks():
    with pytest.raises(ValueError, match='triplet_feature'):
        ReIDHead(4, 6, triplet_feature='middle')
    head = ReIDHead(4, 6, loss_triplet=None)
    with pytest.raises(ValueError, match='6 channels'):
        head.pre_logits(torch.randn(2, 5))
    with pytest.raises(KeyError, match='gt_label'):
        head.loss(torch.randn(2, 6), [DataSample(), DataSample()])
    losses = head.loss(torch.randn(4, 6),
                       [DataSample().set_gt_label(i % 2) for i in range(4)])
    assert set(losses) == {'loss_cls'}


def test_reid_head_in_image_classifier():
    cfg = dict(type='ImageClassifier',
               backbone=dict(type='ResNet',
                             depth=18,
                             stem_channels=8,
                             base_channels=8,
                             out_indices=(3, )),
               head=dict(type='ReIDHead', num_classes=3, in_channels=64))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg)
    x = torch.rand(6, 3, 32, 16) * 255
    samples = [DataSample().set_gt_label(i // 2) for i in range(6)]
    data = model.data_preprocessor(dict(inputs=x, data_samples=samples), True)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss_cls'] + losses['loss_triplet'])
    model.eval()
    preds = model(**model.data_preprocessor(dict(inputs=x), False),
                  mode='predict')
    assert preds[0].pred_feature.shape == (64, )
    feats = model.extract_feat(x, stage='pre_logits')
    torch.testing.assert_close(
        torch.stack([p.pred_feature for p in preds]),
        model.extract_feat(model.data_preprocessor(dict(inputs=x),
                                                   False)['inputs'],
                           stage='pre_logits'))
    assert feats.shape == (6, 64)
