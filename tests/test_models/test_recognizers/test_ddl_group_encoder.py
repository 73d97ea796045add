"""DDLGroupEncoder: selection, base-only-on-kept counting, fusion, inputs."""
import mmddl  # noqa: F401  (compat fixes, registration)
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import MODELS
from mmpretrain.structures import DataSample

from mmddl.datasets import group_collate
from mmddl.models.recognizers import DDLGroupEncoder



SIZES = (5, 3, 7)
DDNET_SIZE = 16


def base_cfg():
    return dict(type='ImageClassifier',
                backbone=dict(type='ResNet',
                              depth=18,
                              stem_channels=4,
                              base_channels=4,
                              out_indices=(3, )),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='ArcFaceClsHead', num_classes=3,
                          in_channels=32),
                data_preprocessor=dict(type='ClsDataPreprocessor',
                                       mean=[127.5] * 3,
                                       std=[64.] * 3,
                                       to_rgb=True))


def ddnet_cfg():
    return dict(type='ImageClassifier',
                backbone=dict(type='DDNetResNet', stage_widths=(4, 4, 8, 8)),
                head=dict(type='DDNetHead', in_channels=8),
                data_preprocessor=dict(type='ClsDataPreprocessor',
                                       mean=[100.] * 3,
                                       std=[50.] * 3))


def make_encoder(aggregator, with_ddnet=True, **kwargs):
    torch.manual_seed(0)
    enc = MODELS.build(
        dict(type='DDLGroupEncoder',
             base=base_cfg(),
             ddnet=ddnet_cfg() if with_ddnet else None,
             aggregator=aggregator,
             ddnet_input_size=DDNET_SIZE,
             max_batch=4,
             **{'allow_random_weights': True, **kwargs}))
    assert isinstance(enc, DDLGroupEncoder)
    enc.init_weights()
    return enc.eval()


def make_groups(seed=0, sizes=SIZES, hw=24):
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randint(0, 256, (n, 3, hw, hw), generator=g).float()
        for n in sizes
    ]


class RowCounter:
    """Counts images through a module (forward pre-hook)."""

    def __init__(self, module):
        self.rows, self.shapes = 0, set()
        module.register_forward_pre_hook(self)

    def __call__(self, module, args):
        self.rows += args[0].shape[0]
        self.shapes.add(tuple(args[0].shape[-2:]))


def ref_scores(enc, group):
    """D-scores image by image: resize, normalise, DDNet."""
    out = []
    for img in group:
        x = F.interpolate(img[None],
                          size=(DDNET_SIZE, DDNET_SIZE),
                          mode='bilinear',
                          align_corners=False,
                          antialias=True)
        x = (x - 100.) / 50.
        with torch.no_grad():
            out.append(float(enc.ddnet.head(enc.ddnet.backbone(x))[0]))
    return np.array(out)


def ref_feature(enc, img):
    """L2-normalised base feature of one image (BGR->RGB, mean/std)."""
    x = (img.flip(0)[None] - 127.5) / 64.
    with torch.no_grad():
        f = enc.base.extract_feat(x, stage='pre_logits')[0].double().numpy()
    return f / np.linalg.norm(f)


def ref_ddl(scores, feats, topk, rescale):
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:topk]
    kept = scores[order]
    if not rescale:
        w = kept
    elif kept.max() == kept.min():
        w = np.ones_like(kept)
    else:
        w = (kept - kept.min()) / (kept.max() - kept.min())
    return order, (w[:, None] * feats[order]).sum(0) / w.sum()


@pytest.mark.parametrize('mode,topk', [('ddl', 3), ('ddl_norescale', 2),
                                       ('top1', None)])
def test_score_modes_match_reference_and_count(mode, topk):
    agg = dict(type='DDLAggregator', mode=mode)
    if topk:
        agg['topk'] = topk
    enc = make_encoder(agg)
    base_count = RowCounter(enc.base.backbone)
    ddnet_count = RowCounter(enc.ddnet.backbone)
    groups = make_groups()
    samples = [
        DataSample().set_metainfo(dict(sample_idx=i))
        for i in range(len(groups))
    ]
    out = enc.test_step(dict(inputs=groups, data_samples=samples))

    k = topk or 1
    assert ddnet_count.rows == sum(SIZES)
    assert ddnet_count.shapes == {(DDNET_SIZE, DDNET_SIZE)}
    assert base_count.rows == sum(min(k, n) for n in SIZES)
    assert base_count.shapes == {(24, 24)}
    for ds, group in zip(out, groups):
        scores = ref_scores(enc, group)
        np.testing.assert_allclose(ds.ddl_scores.numpy(), scores, atol=1e-5)
        feats = np.stack([ref_feature(enc, img) for img in group])
        order, fused = ref_ddl(scores,
                               feats,
                               k,
                               rescale=mode != 'ddl_norescale')
        assert ds.ddl_selected.tolist() == order
        assert ds.base_elements == len(order)
        assert ds.ddnet_elements == len(group)
        np.testing.assert_allclose(ds.pred_feature.double().numpy(),
                                   fused,
                                   rtol=1e-4,
                                   atol=1e-5)


@pytest.mark.parametrize('mode,topk', [('dense', None), ('uniform', 2),
                                       ('random', 4)])
def test_blind_modes_skip_ddnet(mode, topk):
    agg = dict(type='DDLAggregator', mode=mode)
    if topk:
        agg['topk'] = topk
    enc = make_encoder(agg, with_ddnet=mode != 'dense')
    base_count = RowCounter(enc.base.backbone)
    ddnet_count = RowCounter(enc.ddnet.backbone) if enc.ddnet else None
    groups = make_groups(seed=1)
    out = enc(groups, mode='predict')
    k = topk or max(SIZES)
    assert base_count.rows == sum(min(k, n) for n in SIZES)
    if ddnet_count is not None:
        assert ddnet_count.rows == 0
    for ds, group in zip(out, groups):
        assert ds.ddnet_elements == 0 and ds.ddl_scores.numel() == 0
        sel = ds.ddl_selected.tolist()
        assert len(set(sel)) == len(sel) == min(k, len(group))
        if mode == 'dense':
            assert sel == list(range(len(group)))
        feats = np.stack([ref_feature(enc, group[i]) for i in sel])
        np.testing.assert_allclose(ds.pred_feature.double().numpy(),
                                   feats.mean(0),
                                   rtol=1e-4,
                                   atol=1e-5)


def test_input_forms_agree_and_tensor_mode():
    enc = make_encoder(dict(type='DDLAggregator', mode='ddl', topk=2))
    groups = make_groups(seed=2)
    ref = enc(groups, mode='tensor')
    assert ref.shape == (3, 32)
    as_lists = enc([list(g.unbind(0)) for g in groups], mode='tensor')
    torch.testing.assert_close(as_lists, ref)
    padded = torch.zeros(3, max(SIZES), 3, 24, 24)
    samples = []
    for i, g in enumerate(groups):
        padded[i, :len(g)] = g
        samples.append(DataSample(num_elements=len(g)))
    out = enc(padded, samples, mode='predict')
    torch.testing.assert_close(torch.stack([d.pred_feature for d in out]), ref)
    # groups of different image sizes are processed group by group
    mixed = [groups[0], F.interpolate(groups[1], size=(20, 20))]
    res = enc(mixed, mode='tensor')
    torch.testing.assert_close(res[0], ref[0])


def test_normalisation_options_and_stage():
    enc = make_encoder(dict(type='DDLAggregator', mode='dense'),
                       with_ddnet=False,
                       normalize_elements=False,
                       normalize_output=True,
                       feature_stage='backbone')
    group = make_groups(sizes=(3, ))[0]
    x = (group.flip(1) - 127.5) / 64.
    with torch.no_grad():
        f = enc.base.backbone(x)[-1].mean(dim=(2, 3)).mean(0)
    torch.testing.assert_close(enc([group], mode='tensor')[0],
                               F.normalize(f, dim=0),
                               rtol=1e-4,
                               atol=1e-5)


def test_checkpoints_are_loaded_and_survive_init_weights(tmp_path):
    torch.manual_seed(123)
    base = MODELS.build(dict(base_cfg(), _scope_='mmpretrain'))
    ddnet = MODELS.build(dict(ddnet_cfg(), _scope_='mmpretrain'))
    torch.save(dict(state_dict=base.state_dict()), tmp_path / 'base.pth')
    torch.save(dict(state_dict=ddnet.state_dict()), tmp_path / 'ddnet.pth')
    enc = make_encoder(dict(type='DDLAggregator', mode='ddl', topk=2),
                       base_checkpoint=str(tmp_path / 'base.pth'),
                       ddnet_checkpoint=str(tmp_path / 'ddnet.pth'))
    enc.init_weights()
    for mine, ref in ((enc.base, base), (enc.ddnet, ddnet)):
        for (name, p), q in zip(mine.state_dict().items(),
                                ref.state_dict().values()):
            assert torch.equal(p, q), name
    enc.train()  # a test-time model: sub-models stay in eval mode
    assert not enc.base.training and not enc.ddnet.training


def test_bad_inputs():
    with pytest.raises(ValueError, match='ddnet'):
        make_encoder(dict(type='DDLAggregator', mode='top1'), with_ddnet=False)
    enc = make_encoder(dict(type='DDLAggregator', mode='dense'),
                       with_ddnet=False)
    with pytest.raises(RuntimeError, match='test-time'):
        enc(make_groups(), mode='loss')
    with pytest.raises(ValueError, match='group 1'):
        enc([torch.zeros(2, 3, 8, 8), torch.zeros(0, 3, 8, 8)])
    with pytest.raises(ValueError, match='different sizes'):
        enc([[torch.zeros(3, 8, 8), torch.zeros(3, 9, 8)]])
    with pytest.raises(ValueError, match='num_elements'):
        enc(torch.zeros(1, 2, 3, 8, 8), [DataSample(num_elements=3)])
    with pytest.raises(ValueError, match='data samples'):
        enc(make_groups(), [DataSample()])


def test_group_collate():
    imgs = [torch.full((3, 4, 4), float(i)) for i in range(5)]
    batch = [
        dict(inputs=imgs[:2], data_samples=DataSample()),
        dict(inputs=torch.stack(imgs[2:]), data_samples=DataSample())
    ]
    out = group_collate(batch)
    assert [tuple(t.shape) for t in out['inputs']] == [(2, 3, 4, 4),
                                                       (3, 3, 4, 4)]
    assert torch.equal(out['inputs'][1][0], imgs[2])
    assert len(out['data_samples']) == 2
    with pytest.raises(ValueError, match='group 0'):
        group_collate([dict(inputs=[])])
    with pytest.raises(ValueError, match='different sizes'):
        group_collate([dict(inputs=[imgs[0], torch.zeros(3, 5, 4)])])


#: The data-sample fields both DDL wrappers write (the output contract).
CONTRACT = {'ddl_scores', 'ddl_selected', 'base_elements', 'ddnet_elements',
            'time_ddnet_s', 'time_base_s', 'time_model_s', 'gflops_base',
            'gflops_ddnet'}


def test_output_contract_and_flops():
    enc = make_encoder(dict(type='DDLAggregator', mode='ddl', topk=2),
                       count_flops=True)
    out = enc(make_groups(), mode='predict')
    for ds, n in zip(out, SIZES):
        assert CONTRACT <= set(ds.keys())
        assert ds.base_elements == 2 and ds.ddnet_elements == n
        assert ds.time_model_s == pytest.approx(ds.time_ddnet_s +
                                                ds.time_base_s)
    # GFLOPs: one image's count (mmengine's analyzer on the backbone and
    # neck, counted here independently) x images run
    from mmengine.analysis import FlopAnalyzer
    x = torch.zeros(1, 3, 24, 24)
    per_image = FlopAnalyzer(torch.nn.Sequential(enc.base.backbone,
                                                 enc.base.neck),
                             (x, )).total() / 1e9
    assert out[0].gflops_base == pytest.approx(2 * per_image, rel=1e-6)
    assert out[0].gflops_ddnet > 0


def test_ddnet_flip_scores_mean_of_image_and_mirror():
    """ddnet_flip: each score is the mean of the reference scores of the
    image and its horizontal mirror, the selection follows it and the
    DDNet's GFLOPs double."""
    agg = dict(type='DDLAggregator', mode='ddl', topk=2)
    groups = make_groups(seed=3)
    plain = make_encoder(agg, count_flops=True)
    flip = make_encoder(agg, count_flops=True, ddnet_flip=True)
    out_plain = plain(groups, mode='predict')
    out = flip(groups, mode='predict')
    for g, ds, dp in zip(groups, out, out_plain):
        want = (ref_scores(flip, g) + ref_scores(flip, g.flip(-1))) / 2
        np.testing.assert_allclose(ds.ddl_scores.numpy(), want, atol=1e-5)
        assert not np.allclose(want, ref_scores(flip, g))
        order, _ = ref_ddl(want, np.zeros((len(g), 1)), 2, True)
        assert sorted(ds.ddl_selected.tolist()) == sorted(order)
        assert ds.gflops_ddnet == pytest.approx(2 * dp.gflops_ddnet)
        assert ds.gflops_base == pytest.approx(dp.gflops_base)
        assert torch.isfinite(ds.pred_feature).all()


class _TwoScoreDDNet(torch.nn.Module):
    """A DDNet that wrongly gives two scores per image."""

    def forward(self, x, mode='tensor'):
        return torch.zeros(x.shape[0], 2)


@pytest.mark.parametrize('flip,msg', [
    (False, r'for 3 inputs \(3 images\)'),
    (True, r'for 6 inputs \(3 images and their mirrors\)'),
])
def test_ddnet_with_wrong_output_shape_refused(flip, msg):
    enc = make_encoder(dict(type='DDLAggregator', mode='ddl', topk=2),
                       ddnet_flip=flip)
    enc.ddnet = _TwoScoreDDNet()
    with pytest.raises(ValueError, match='one score per image.*' + msg):
        enc(make_groups(sizes=(3, )), mode='predict')


def _save(tmp_path, name, state):
    path = str(tmp_path / name)
    torch.save(dict(state_dict=state), path)
    return path


def test_strict_loading(tmp_path):
    torch.manual_seed(7)
    # every weight + 1 saturates the DDNet (all D-scores 1): counted, not
    # stopped, here (this test is about loading)
    agg = dict(type='DDLAggregator', mode='ddl', topk=2,
               on_constant_scores='uniform')
    src = make_encoder(agg)
    for p in src.parameters():
        p.data.add_(1.0)
    base = src.base.state_dict()
    # a whole-wrapper checkpoint (base.* and ddnet.* keys) serves both
    wrapper = _save(tmp_path, 'wrapper.pth', src.state_dict())
    enc = make_encoder(agg,
                       base_checkpoint=wrapper, ddnet_checkpoint=wrapper,
                       allow_random_weights=False)
    for k, v in src.state_dict().items():
        assert torch.equal(enc.state_dict()[k], v), k
    enc(make_groups(), mode='tensor')  # loaded: predicting is allowed
    # a missing key and an unexpected one are named, with the file
    broken = dict(base)
    broken.pop('backbone.conv1.weight')
    broken['backbone.extra'] = torch.zeros(1)
    path = _save(tmp_path, 'broken.pth', broken)
    with pytest.raises(RuntimeError, match='broken.pth') as err:
        make_encoder(dict(type='DDLAggregator', mode='dense'),
                     with_ddnet=False, base_checkpoint=path)
    assert 'backbone.conv1.weight' in str(err.value)
    assert 'backbone.extra' in str(err.value)
    # the DDNet's checkpoint as the base's: refused
    ddnet = _save(tmp_path, 'ddnet.pth', src.ddnet.state_dict())
    with pytest.raises(RuntimeError, match='does not match the base'):
        make_encoder(dict(type='DDLAggregator', mode='dense'),
                     with_ddnet=False, base_checkpoint=ddnet)


def test_unloaded_weights_refused():
    enc = make_encoder(dict(type='DDLAggregator', mode='ddl', topk=2),
                       allow_random_weights=False)
    with pytest.raises(RuntimeError, match='the base has no trained'):
        enc(make_groups(), mode='tensor')
    # a whole-wrapper state dict loaded by the Runner counts as loaded
    enc.load_state_dict(enc.state_dict())
    enc(make_groups(), mode='tensor')
    dense = make_encoder(dict(type='DDLAggregator', mode='dense'),
                         allow_random_weights=False)
    dense.base.load_state_dict(dense.base.state_dict())  # not tracked
    with pytest.raises(RuntimeError, match='allow_random_weights'):
        dense(make_groups(), mode='tensor')


def test_prob_fusion_refused():
    with pytest.raises(ValueError, match='fusion_level'):
        make_encoder(dict(type='DDLAggregator', mode='ddl', topk=2,
                          fusion_level='prob'))


def test_media_pooling_vs_reference():
    """insightface's media-then-template pooling with the DDL weights."""
    enc = make_encoder(dict(type='DDLAggregator', mode='ddl', topk=4),
                       media_pooling=True)
    groups = make_groups(seed=3, sizes=(6, 5))
    media = [[3, 3, 8, 8, 8, 1], [2, 2, 2, 9, 9]]
    samples = [DataSample(metainfo=dict(media_ids=m)) for m in media]
    out = enc(groups, samples, mode='predict')
    for ds, group, mids in zip(out, groups, media):
        scores = ref_scores(enc, group)
        order = sorted(range(len(group)), key=lambda i: (-scores[i], i))[:4]
        kept = scores[order]
        w = dict(zip(order, (kept - kept.min()) / (kept.max() - kept.min())))
        feats = {i: ref_feature(enc, group[i]) for i in order}
        num, den = 0, 0
        for m in sorted({mids[i] for i in order}):
            imgs = [i for i in order if mids[i] == m]
            wm = np.array([w[i] for i in imgs])
            media_w = wm.mean()
            if wm.sum() > 0:
                num = num + media_w * sum(
                    w[i] * feats[i] for i in imgs) / wm.sum()
            den += media_w
        assert ds.ddl_selected.tolist() == order
        np.testing.assert_allclose(ds.pred_feature.double().numpy(),
                                   num / den, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match='media_ids'):
        enc(groups, [DataSample(), DataSample()], mode='predict')
