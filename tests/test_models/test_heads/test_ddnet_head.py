"""Tests of DDNetHead (D-score regression head)."""
import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.structures import BaseDataElement

import mmddl  # noqa: F401  (applies compat, registers modules)
from mmddl.models.heads import DDNetHead


def manual_scores(head: DDNetHead, pooled: torch.Tensor) -> torch.Tensor:
    """sigmoid(w . x + b) written out by hand."""
    w = head.fc.weight.detach()[0]
    b = head.fc.bias.detach()[0]
    return 1.0 / (1.0 + torch.exp(-(pooled @ w + b)))


def samples(targets, cls=BaseDataElement):
    out = []
    for t in targets:
        s = cls()
        s.set_field(t, 'gt_dscore')
        out.append(s)
    return out


@pytest.fixture
def head():
    torch.manual_seed(0)
    h = DDNetHead(in_channels=6)
    h.init_weights()
    with torch.no_grad():  # make scores spread out, not all ~0.5
        h.fc.weight.normal_(0, 1.0)
        h.fc.bias.fill_(0.1)
    return h


@pytest.mark.parametrize('shape,dims', [((4, 6), ()), ((4, 6, 3, 5), (2, 3)),
                                        ((4, 6, 2, 3, 5), (2, 3, 4))])
def test_forward_pools_and_scores(head, shape, dims):
    feats = torch.randn(*shape)
    pooled = feats.mean(dim=dims) if dims else feats
    scores = head(feats)
    assert scores.shape == (4, )
    assert torch.all((scores > 0) & (scores < 1))
    torch.testing.assert_close(scores, manual_scores(head, pooled))
    # a tuple of stage outputs: the last one is used
    torch.testing.assert_close(head((torch.randn(4, 3), feats)), scores)


def test_loss_is_mse_per_sample(head):
    feats = torch.randn(3, 6, 2, 2)
    targets = [0.1, 0.5, 0.9]
    loss = head.loss(feats, samples(targets))['loss_dscore']
    s = manual_scores(head, feats.mean(dim=(2, 3)))
    expected = sum((s[i] - targets[i])**2 for i in range(3)) / 3
    torch.testing.assert_close(loss.detach(), expected)
    head.loss_weight = 2.5
    torch.testing.assert_close(head.loss(feats, samples(targets))['loss_dscore'].detach(),
                               2.5 * expected)


def test_loss_with_views_shared_and_per_view_targets(head):
    feats = torch.randn(6, 6)  # 2 samples x 3 views, sample-major
    s = manual_scores(head, feats)
    shared = head.loss(feats, samples([0.2, 0.7]))['loss_dscore'].detach()
    expected = ((s[:3] - 0.2)**2).sum() + ((s[3:] - 0.7)**2).sum()
    torch.testing.assert_close(shared, expected / 6)
    per_view = [torch.tensor([0.1, 0.2, 0.3]), [0.4, 0.5, 0.6]]
    got = head.loss(feats, samples(per_view))['loss_dscore'].detach()
    t = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    torch.testing.assert_close(got, ((s - t)**2).mean())


def test_loss_gradients_reach_head(head):
    feats = torch.randn(4, 6, requires_grad=True)
    head.loss(feats, samples([0.1, 0.2, 0.3, 0.4]))['loss_dscore'].backward()
    assert head.fc.weight.grad.abs().sum() > 0 and head.fc.bias.grad.abs() > 0
    assert feats.grad.abs().sum() > 0


def test_loss_errors(head):
    with pytest.raises(KeyError, match='gt_dscore'):
        head.loss(torch.randn(2, 6), [BaseDataElement(), BaseDataElement()])
    with pytest.raises(ValueError, match='multiple'):
        head.loss(torch.randn(3, 6), samples([0.1, 0.2]))
    with pytest.raises(ValueError, match='views'):
        head.loss(torch.randn(4, 6), samples([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]]))
    with pytest.raises(ValueError, match='not finite'):
        head.loss(torch.randn(2, 6), samples([0.1, float('nan')]))
    with pytest.raises(ValueError, match='in_channels=6'):
        head.loss(torch.randn(2, 5), samples([0.1, 0.2]))
    with pytest.raises(ValueError, match='features'):
        head(torch.randn(2, 6, 3))


def test_predict_per_view_scores_in_order(head):
    feats = torch.randn(6, 6)
    s = manual_scores(head, feats)
    out = head.predict(feats, samples([0.2, 0.7]))
    assert out[0].pred_dscore.shape == (3, )
    torch.testing.assert_close(out[0].pred_dscore, s[:3])
    torch.testing.assert_close(out[1].pred_dscore, s[3:])
    single = head.predict(feats[:2], samples([0.2, 0.7]))
    assert single[1].pred_dscore.shape == ()
    torch.testing.assert_close(single[1].pred_dscore, s[1])
    assert not single[0].pred_dscore.requires_grad


def test_predict_creates_samples_of_the_scope_type(head):
    from mmaction.structures import ActionDataSample
    from mmpretrain.structures import DataSample
    feats = torch.randn(2, 6)
    with DefaultScope.overwrite_default_scope('mmaction'):
        assert all(type(s) is ActionDataSample for s in head.predict(feats))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        out = head.predict(feats)
    assert all(type(s) is DataSample for s in out) and len(out) == 2
    explicit = DDNetHead(in_channels=6, data_sample_type='BaseDataElement')
    assert type(explicit.predict(feats)[0]) is BaseDataElement
    with pytest.raises(ValueError, match='data_sample_type'):
        DDNetHead(in_channels=6, data_sample_type='Foo')


def test_dropout_only_in_training():
    head = DDNetHead(in_channels=6, dropout_ratio=0.5).eval()
    feats = torch.randn(4, 6)
    torch.testing.assert_close(head(feats), manual_scores(head, feats))
    with pytest.raises(ValueError, match='dropout_ratio'):
        DDNetHead(in_channels=6, dropout_ratio=1.0)
