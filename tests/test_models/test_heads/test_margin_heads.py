"""CosFace / SphereFace heads against independent float64 numpy formulas."""
import math

import mmddl  # noqa: F401  (compat fixes, registration)

# isort: split
import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mmddl.models.heads import CosFaceClsHead, SphereFaceClsHead



def _np_cosine(x, w):
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    w = w / np.linalg.norm(w, axis=1, keepdims=True)
    return x @ w.T


def _np_psi(c, m):
    """(-1)^k cos(m theta) - 2k from theta = arccos(c), no Chebyshev."""
    theta = np.arccos(np.clip(c, -1, 1))
    k = np.minimum(np.floor(m * theta / np.pi), m - 1)
    return (-1.0)**k * np.cos(m * theta) - 2 * k


def _data(n=6, d=16, c=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = torch.randint(0, c, (n, ), generator=g)
    return x, y


@pytest.mark.parametrize('margins', [0.35, [0.1, 0.2, 0.3, 0.4, 0.5]])
def test_cosface_logits(margins):
    x, y = _data()
    head = CosFaceClsHead(num_classes=5,
                          in_channels=16,
                          scale=30.,
                          margins=margins)
    w = head.norm_product.weight.detach().double().numpy()
    cos = _np_cosine(x.double().numpy(), w)
    m = np.broadcast_to(np.asarray(margins, dtype=np.float64), (5, ))
    onehot = np.eye(5)[y.numpy()]
    expected = 30. * (cos - onehot * m[None, :])
    got = head((x, ), y).detach().double().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(head((x, )).detach().numpy(),
                               30. * cos,
                               rtol=1e-5,
                               atol=1e-4)
    # the loss is cross-entropy of the margin logits
    samples = [DataSample().set_gt_label(int(t)) for t in y]
    loss = head.loss((x, ), samples)['loss']
    lse = np.log(np.exp(expected).sum(1))
    ce = np.mean(lse - expected[np.arange(6), y.numpy()])
    assert float(loss) == pytest.approx(ce, rel=1e-4)


def test_psi_is_monotonic_extension():
    head = SphereFaceClsHead(num_classes=3, in_channels=4, margin=4)
    theta = np.linspace(0, np.pi, 2001)
    c = torch.tensor(np.cos(theta), dtype=torch.float64)
    psi = head.psi(c).numpy()
    np.testing.assert_allclose(psi, _np_psi(np.cos(theta), 4), atol=1e-9)
    assert np.all(np.diff(psi) < 0), 'psi must decrease with theta'
    assert psi[0] == pytest.approx(1.0) and psi[-1] == pytest.approx(-7.0)
    # m = 1 is the plain cosine
    head1 = SphereFaceClsHead(num_classes=3, in_channels=4, margin=1)
    np.testing.assert_allclose(head1.psi(c).numpy(), np.cos(theta), atol=1e-12)


@pytest.mark.parametrize('margin,scale', [(4, None), (2, 16.), (3, None)])
def test_sphereface_logits(margin, scale):
    x, y = _data(seed=margin)
    head = SphereFaceClsHead(num_classes=5,
                             in_channels=16,
                             margin=margin,
                             scale=scale)
    w = head.norm_product.weight.detach().double().numpy()
    xn = x.double().numpy()
    cos = _np_cosine(xn, w)
    mag = np.linalg.norm(xn, axis=1, keepdims=True) if scale is None \
        else scale
    onehot = np.eye(5)[y.numpy()]
    expected = mag * (onehot * _np_psi(cos, margin) + (1 - onehot) * cos)
    got = head((x, ), y).detach().double().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(head(x).detach().double().numpy(),
                               mag * cos,
                               rtol=1e-4,
                               atol=1e-4)


def test_sphereface_annealing_schedule():
    x, y = _data()
    anneal = dict(base=1000., gamma=0.12, power=1., lambda_min=5.)
    head = SphereFaceClsHead(num_classes=5, in_channels=16, anneal=anneal)
    head.train()
    samples = [DataSample().set_gt_label(int(t)) for t in y]
    w = head.norm_product.weight.detach().double().numpy()
    xn = x.double().numpy()
    cos = _np_cosine(xn, w)
    mag = np.linalg.norm(xn, axis=1, keepdims=True)
    onehot = np.eye(5)[y.numpy()]
    for it in range(3):
        lam = max(5., 1000. * (1 + 0.12 * it)**-1.)
        assert head.current_lambda() == pytest.approx(lam)
        tgt = (lam * cos + _np_psi(cos, 4)) / (1 + lam)
        expected = mag * (onehot * tgt + (1 - onehot) * cos)
        np.testing.assert_allclose(head((x, ), y).detach().double().numpy(),
                                   expected,
                                   rtol=1e-4,
                                   atol=1e-4)
        head.loss((x, ), samples)
    assert int(head.anneal_iter) == 3
    head.anneal_iter.fill_(10**6)
    assert head.current_lambda() == 5.
    # the counter is a checkpointed buffer
    assert 'anneal_iter' in head.state_dict()
    head.eval()
    head.loss((x, ), samples)
    assert int(head.anneal_iter) == 10**6


def test_gradients_finite_at_cos_one():
    head = SphereFaceClsHead(num_classes=3, in_channels=4, margin=4)
    x = head.norm_product.weight.detach()[:2].clone().requires_grad_(True)
    logits = head(x, torch.tensor([0, 1]))
    logits.sum().backward()
    assert torch.isfinite(x.grad).all()
    assert torch.isfinite(head.norm_product.weight.grad).all()


def test_bad_arguments():
    with pytest.raises(ValueError, match='integer'):
        SphereFaceClsHead(num_classes=3, in_channels=4, margin=2.5)
    with pytest.raises(ValueError, match='lambda_min'):
        SphereFaceClsHead(num_classes=3,
                          in_channels=4,
                          anneal=dict(base=1., gamma=1., power=1.))
    head = CosFaceClsHead(num_classes=3, in_channels=4)
    with pytest.raises(ValueError, match='GlobalAveragePooling'):
        head((torch.zeros(2, 4, 3, 3), ))


@pytest.mark.parametrize('head_type,extra', [
    ('ArcFaceClsHead', {}),
    ('CosFaceClsHead', dict(margins=0.35)),
    ('SphereFaceClsHead', dict(margin=4, scale=None)),
])
def test_config_swap_in_image_classifier(head_type, extra):
    """The same classifier config works with each margin head type."""
    cfg = dict(type='ImageClassifier',
               backbone=dict(type='ResNet',
                             depth=18,
                             stem_channels=8,
                             base_channels=8,
                             out_indices=(3, )),
               neck=dict(type='GlobalAveragePooling'),
               head=dict(type=head_type,
                         num_classes=4,
                         in_channels=64,
                         **extra),
               data_preprocessor=dict(type='ClsDataPreprocessor',
                                      mean=[127.5] * 3,
                                      std=[64.] * 3))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg)
    torch.manual_seed(0)
    inputs = torch.randint(0, 256, (4, 3, 32, 32)).float()
    samples = [DataSample().set_gt_label(i % 4) for i in range(4)]
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=samples),
                                   True)
    losses = model(**data, mode='loss')
    losses['loss'].backward()
    assert torch.isfinite(losses['loss'])
    model.eval()
    preds = model(**model.data_preprocessor(dict(inputs=inputs), False),
                  mode='predict')
    assert len(preds) == 4 and preds[0].pred_score.shape == (4, )
    feat = model.extract_feat(model.data_preprocessor(dict(inputs=inputs),
                                                      False)['inputs'],
                              stage='pre_logits')
    assert feat.shape == (4, 64)


def test_cosface_zero_margin_is_normface():
    x, y = _data()
    head = CosFaceClsHead(num_classes=5, in_channels=16, margins=0)
    torch.testing.assert_close(head(x, y), head(x))
    assert math.isclose(float(head.margins[0]), 0.0)
