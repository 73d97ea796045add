"""DDNet backbone + DDNetHead inside the stock mmaction2 / mmpretrain models."""
import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope

import mmddl  # noqa: F401  (applies compat)
import mmddl.models  # noqa: F401  (registers DDNetResNet*, DDNetHead)

WIDTHS = (4, 8, 8, 12)  # small widths keep the test fast; same class as the default


def manual_mse(backbone, fc, x, targets):
    """Independent forward: backbone -> global mean -> linear -> sigmoid -> MSE."""
    feat = backbone(x)[-1]
    pooled = feat.mean(dim=tuple(range(2, feat.dim())))
    scores = torch.sigmoid(pooled @ fc.weight[0] + fc.bias[0])
    return ((scores - targets)**2).mean(), scores


def test_recognizer3d_loss_predict_and_train_step():
    from mmaction.registry import MODELS
    from mmaction.structures import ActionDataSample
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(dict(
            type='Recognizer3D',
            backbone=dict(type='DDNetResNet3d', stage_widths=WIDTHS),
            cls_head=dict(type='DDNetHead', in_channels=WIDTHS[-1]),
            data_preprocessor=dict(type='ActionDataPreprocessor', mean=[114.75] * 3,
                                   std=[57.375] * 3, format_shape='NCTHW')))
        model.init_weights()
        targets = [0.25, 0.8]
        data = dict(inputs=[torch.randint(0, 256, (1, 3, 8, 32, 32), dtype=torch.uint8)
                            for _ in targets],
                    data_samples=[ActionDataSample().set_gt_label(0) for _ in targets])
        for s, t in zip(data['data_samples'], targets):
            s.set_field(t, 'gt_dscore')
        batch = model.data_preprocessor(data, training=True)
        x = batch['inputs']
        assert x.shape == (2, 1, 3, 8, 32, 32)

        model.train()
        loss = model(**batch, mode='loss')
        assert set(loss) == {'loss_dscore'}
        expected, _ = manual_mse(model.backbone, model.cls_head.fc, x.flatten(0, 1),
                                 torch.tensor(targets))
        torch.testing.assert_close(loss['loss_dscore'], expected)

        # test-time: 3 views (clips x crops) per video -> per-view scores
        model.eval()
        views = torch.randn(2, 3, 3, 8, 32, 32)
        with torch.no_grad():
            out = model(views, batch['data_samples'], mode='predict')
            _, scores = manual_mse(model.backbone, model.cls_head.fc, views.flatten(0, 1),
                                   torch.zeros(6))
        assert [type(s) for s in out] == [ActionDataSample] * 2
        assert out[0].pred_dscore.shape == (3, )
        torch.testing.assert_close(torch.stack([s.pred_dscore for s in out]), scores.view(2, 3))

        # the whole mmengine train step runs and updates the DDNet
        model.train()
        wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
        before = model.backbone.layer1[0].conv1.conv.weight.clone()
        log = model.train_step(data, wrapper)
        assert torch.isfinite(log['loss'])
        assert not torch.equal(before, model.backbone.layer1[0].conv1.conv.weight)


def test_image_classifier_loss_predict_tensor():
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(dict(
            type='ImageClassifier',
            backbone=dict(type='DDNetResNet', stage_widths=WIDTHS),
            head=dict(type='DDNetHead', in_channels=WIDTHS[-1]),
            data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5] * 3,
                                   std=[127.5] * 3)))
        model.init_weights()
        targets = [0.1, 0.6, 0.9]
        data = dict(inputs=[torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
                            for _ in targets],
                    data_samples=[DataSample().set_gt_label(1) for _ in targets])
        for s, t in zip(data['data_samples'], targets):
            s.set_field(t, 'gt_dscore')
        batch = model.data_preprocessor(data, training=True)

        model.train()
        loss = model(**batch, mode='loss')
        expected, _ = manual_mse(model.backbone, model.head.fc, batch['inputs'],
                                 torch.tensor(targets))
        torch.testing.assert_close(loss['loss_dscore'], expected)

        model.eval()
        with torch.no_grad():
            out = model(batch['inputs'], mode='predict')  # no data samples given
            _, scores = manual_mse(model.backbone, model.head.fc, batch['inputs'],
                                   torch.zeros(3))
            tensor_out = model(batch['inputs'], mode='tensor')
        assert [type(s) for s in out] == [DataSample] * 3
        assert out[0].pred_dscore.shape == ()
        torch.testing.assert_close(torch.stack([s.pred_dscore for s in out]), scores)
        torch.testing.assert_close(tensor_out, scores)
        pooled = model.extract_feat(batch['inputs'], stage='pre_logits')
        assert pooled.shape == (3, WIDTHS[-1])

        with pytest.raises(KeyError, match='gt_dscore'):
            model(batch['inputs'], [DataSample() for _ in targets], mode='loss')
