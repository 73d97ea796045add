"""ReIDHead: losses and predict against independent computations."""
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

from mmddl.models.heads import ReIDHead
from mmddl.models.losses import batch_hard_triplet_loss



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
    triplet = batch_hard_triplet_loss(torch.as_tensor(f_t),
                                      torch.as_tensor(labels), 0.3)
    assert float(losses['loss_triplet']) == pytest.approx(float(triplet),
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
