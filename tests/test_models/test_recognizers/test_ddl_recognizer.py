"""DDLRecognizer on tiny random-weight SlowFast / R(2+1)D / 3D-ResNet bases.

Views are made identifiable: in the raw video every pixel of clip ``c`` in the
left / middle / right third of the frame is ``100 * c + 30 * region + noise``
(noise in [0, 1)). After mmaction's ThreeCrop + FormatShape each view's mean
tells which clip and crop it is, so the tests check the crop-major layout,
which views each model saw, and recompute the fused scores in numpy from what
the two models actually output (captured by forward hooks).
"""
import json
import math

import numpy as np
import pytest
import torch
import torch.nn as nn

import mmddl  # noqa: F401  (compat fixes + registration)
from mmaction.registry import MODELS, TRANSFORMS
from mmengine.analysis import FlopAnalyzer
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope

from mmddl.models.aggregators import DDLAggregator
from mmddl.models.recognizers import DDLRecognizer



@pytest.fixture(autouse=True)
def _mmaction_scope():
    """Build everything in mmaction's scope (and leave no scope behind)."""
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield

N_CLIPS, T, CROP, NUM_CLASSES = 5, 4, 16, 7
MEAN, STD = 100.0, 50.0
PRE = dict(type='ActionDataPreprocessor', mean=[MEAN] * 3, std=[STD] * 3,
           format_shape='NCTHW')
# ThreeCrop's order of the crops: left, right, middle (regions 0, 2, 1)
CROP_REGIONS = (0, 2, 1)



def r3d_cfg():
    return dict(
        type='Recognizer3D',
        backbone=dict(type='ResNet3d', depth=18, pretrained=None,
                      pretrained2d=False, base_channels=8,
                      conv1_kernel=(3, 7, 7), conv1_stride_t=1,
                      pool1_stride_t=1, inflate=(1, 1, 1, 1)),
        cls_head=dict(type='I3DHead', num_classes=NUM_CLASSES,
                      in_channels=64, average_clips='prob'),
        data_preprocessor=PRE)


def slowfast_cfg():
    path = dict(type='resnet3d', depth=18, pretrained=None,
                conv1_stride_t=1, pool1_stride_t=1)
    return dict(
        type='Recognizer3D',
        backbone=dict(
            type='ResNet3dSlowFast', pretrained=None, resample_rate=2,
            speed_ratio=2, channel_ratio=8,
            slow_pathway=dict(path, lateral=True, base_channels=8,
                              conv1_kernel=(1, 7, 7), inflate=(0, 0, 1, 1)),
            fast_pathway=dict(path, lateral=False, base_channels=1,
                              conv1_kernel=(5, 7, 7))),
        cls_head=dict(type='SlowFastHead', in_channels=72,
                      num_classes=NUM_CLASSES, average_clips='prob'),
        data_preprocessor=PRE)


def r2plus1d_cfg():
    return dict(
        type='Recognizer3D',
        backbone=dict(type='ResNet2Plus1d', depth=18, pretrained=None,
                      pretrained2d=False, base_channels=8,
                      conv_cfg=dict(type='Conv2plus1d'),
                      conv1_kernel=(3, 7, 7), conv1_stride_t=1,
                      pool1_stride_t=1, inflate=(1, 1, 1, 1),
                      spatial_strides=(1, 2, 2, 2),
                      temporal_strides=(1, 2, 2, 2)),
        cls_head=dict(type='I3DHead', num_classes=NUM_CLASSES,
                      in_channels=64, average_clips='prob'),
        data_preprocessor=PRE)


def ddnet_cfg(pre=PRE):
    return dict(type='Recognizer3D',
                backbone=dict(type='DDNetResNet3d'),
                cls_head=dict(type='DDNetHead', in_channels=48),
                data_preprocessor=pre)


def build(base=None, aggregator=None, spread=True, **kwargs):
    """A DDLRecognizer; ``spread`` gives the heads' linear layers unit-std
    weights so D-scores and class probabilities differ clearly."""
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='DDLRecognizer', base=base or r3d_cfg(), ddnet=ddnet_cfg(),
        aggregator=aggregator or dict(type='DDLAggregator', mode='ddl',
                                      topk=2),
        **{'allow_random_weights': True, **kwargs}))
    if spread:
        for head in (model.base.cls_head, model.ddnet.cls_head):
            for m in head.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, std=1.0)
    return model.eval()


def video_batch(num_crops=3, label=3, seed=0):
    """One packed + collated video through ThreeCrop/FormatShape/Pack
    (``num_clips`` packed, as the DDL configs do)."""
    rng = np.random.default_rng(seed)
    width = CROP * (3 if num_crops == 3 else 1)
    region = np.arange(width) // CROP  # column -> region
    frames = [(100.0 * c + 30.0 * region[None, :, None] +
               rng.random((CROP, width, 3))).astype(np.float32)
              for c in range(N_CLIPS) for _ in range(T)]
    results = dict(imgs=frames, num_clips=N_CLIPS, clip_len=T,
                   modality='RGB', label=label, video_id=f'vid{seed}',
                   img_shape=(CROP, width), original_shape=(CROP, width))
    pipeline = ([dict(type='ThreeCrop', crop_size=CROP)]
                if num_crops == 3 else []) + [
                    dict(type='FormatShape', input_format='NCTHW'),
                    dict(type='PackActionInputs',
                         meta_keys=('img_shape', 'img_key', 'video_id',
                                    'timestamp', 'num_clips'))]
    for t in pipeline:
        results = TRANSFORMS.build(t)(results)
    return pseudo_collate([results])


def identify(views: torch.Tensor) -> list:
    """(clip, region) of each normalised view (n, C, T, H, W)."""
    means = (views.detach().double() * STD + MEAN).mean(dim=(1, 2, 3, 4))
    return [(int(m // 100), int((m % 100) // 30)) for m in means.tolist()]


class Recorder:
    """Inputs of a backbone and outputs of a head, over all their calls."""

    def __init__(self, recognizer: nn.Module) -> None:
        self.inputs, self.outputs = [], []
        self.handles = [
            recognizer.backbone.register_forward_pre_hook(
                lambda m, args: self.inputs.append(args[0])),
            recognizer.cls_head.register_forward_hook(
                lambda m, args, out: self.outputs.append(out))
        ]

    @property
    def views(self):
        return torch.cat(self.inputs) if self.inputs else None

    @property
    def out(self):
        return torch.cat(self.outputs)

    def remove(self):
        for h in self.handles:
            h.remove()


def expected_layout(num_crops):
    regions = CROP_REGIONS if num_crops == 3 else (0, )
    return [(clip, regions[crop]) for clip in range(N_CLIPS)
            for crop in range(num_crops)]


def np_softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def clip_outputs(rec: Recorder, level: str = 'feature') -> dict:
    """Per clip: base logits (``'feature'``) or softmax probabilities
    (``'prob'``) averaged over its crops."""
    out = rec.out.double().numpy()
    if level == 'prob':
        out = np_softmax(out)
    per_clip = {}
    for (clip, _), p in zip(identify(rec.views), out):
        per_clip.setdefault(clip, []).append(p)
    return {c: np.mean(ps, 0) for c, ps in per_clip.items()}


def fused_probs(outputs: np.ndarray, w: np.ndarray, level: str) -> np.ndarray:
    """Weighted mean of the clips' outputs; softmax once at feature level."""
    fused = (w[:, None] * outputs).sum(0) / w.sum()
    return np_softmax(fused) if level == 'feature' else fused


def run(model, data):
    dd, base = Recorder(model.ddnet), Recorder(model.base)
    try:
        (sample, ) = model.test_step(data)
    finally:
        dd.remove()
        base.remove()
    return sample, dd, base


@pytest.mark.parametrize('level', ['feature', 'prob'])
def test_three_crop_crop_major_ddl(level):
    model = build(num_crops=3, ddnet_input=dict(size=8), max_testing_views=4,
                  count_flops=False,
                  aggregator=dict(type='DDLAggregator', mode='ddl', topk=2,
                                  fusion_level=level))
    sample, dd, base = run(model, video_batch(num_crops=3))
    # DDNet: all 15 views, crop-major, on the 8x8 copy
    assert dd.views.shape == (3 * N_CLIPS, 3, T, 8, 8)
    assert identify(dd.views) == expected_layout(3)
    assert len(dd.inputs) == math.ceil(15 / 4)
    view_scores = dd.out.double().numpy()
    clip_scores = np.array([
        np.mean([s for (c, _), s in zip(identify(dd.views), view_scores)
                 if c == clip]) for clip in range(N_CLIPS)
    ])
    np.testing.assert_allclose(sample.ddl_scores.numpy(), clip_scores,
                               rtol=1e-5)
    selected = np.argsort(-clip_scores, kind='stable')[:2]
    assert sample.ddl_selected.tolist() == selected.tolist()
    # base: exactly all 3 crops of the 2 selected clips, nothing else
    assert sorted(identify(base.views)) == sorted(
        (int(c), r) for c in selected for r in range(3))
    assert base.views.shape[0] == 6 and len(base.inputs) == 2
    # fusion: crop-averaged logits / softmax, Eq. 9-11 weights
    outs = clip_outputs(base, level)
    kept = clip_scores[selected]
    w = (kept - kept.min()) / (kept.max() - kept.min())
    expect = fused_probs(np.stack([outs[int(c)] for c in selected]), w, level)
    np.testing.assert_allclose(sample.pred_score.numpy(), expect, rtol=1e-5,
                               atol=1e-7)
    assert sample.pred_label.item() == int(np.argmax(expect))
    assert (sample.base_elements, sample.ddnet_elements, sample.base_views,
            sample.ddnet_views) == (2, N_CLIPS, 6, 15)
    assert sample.time_model_s > 0
    assert sample.time_model_s == pytest.approx(sample.time_ddnet_s +
                                                sample.time_base_s)
    assert 'gflops_base' not in sample
    assert sample.gt_label.item() == 3 and sample.video_id == 'vid0'


@pytest.mark.parametrize('mode,topk,threshold',
                         [('ddl', 3, None), ('ddl_norescale', None, 0.5),
                          ('top1', None, None), ('dense', None, None),
                          ('uniform', 2, None), ('random', 3, None)])
def test_all_modes(mode, topk, threshold):
    agg = dict(type='DDLAggregator', mode=mode, topk=topk,
               threshold=threshold, seed=5)
    model = build(aggregator=agg, num_crops=1, count_flops=False)
    sample, dd, base = run(model, video_batch(num_crops=1, seed=1))
    ref = DDLAggregator(mode, topk=topk, threshold=threshold, seed=5)
    if ref.needs_scores:
        assert identify(dd.views) == expected_layout(1)
        scores = dd.out.double().numpy()
        np.testing.assert_allclose(sample.ddl_scores.numpy(), scores,
                                   rtol=1e-5)
        assert torch.equal(sample.ddl_selected, ref.select(
            torch.from_numpy(scores).float()))
        assert sample.ddnet_elements == N_CLIPS
    else:  # DDNet skipped
        assert dd.inputs == [] and sample.ddnet_elements == 0
        assert sample.ddl_scores.numel() == 0
        assert torch.equal(sample.ddl_selected,
                           ref.select(num_elements=N_CLIPS))
    selected = sample.ddl_selected.tolist()
    assert sorted(c for c, _ in identify(base.views)) == sorted(selected)
    assert sample.base_elements == len(selected) == {
        'ddl': 3, 'top1': 1, 'dense': N_CLIPS, 'uniform': 2, 'random': 3
    }.get(mode, len(selected))
    outs = np.stack([clip_outputs(base)[c] for c in selected])
    if mode == 'ddl':
        kept = scores[selected]
        w = (kept - kept.min()) / (kept.max() - kept.min())
    elif mode == 'ddl_norescale':
        w = scores[selected]
        assert (w > 0.5).all() or len(w) == 1
    else:
        w = np.ones(len(selected))
    np.testing.assert_allclose(sample.pred_score.numpy(),
                               fused_probs(outs, w, 'feature'),
                               rtol=1e-5, atol=1e-7)


def _head_flops(recognizer: nn.Module, view: torch.Tensor) -> float:
    """Independent count: mmengine's analyzer on the backbone alone + the
    head's linear layer (in x out multiply-adds)."""
    backbone = FlopAnalyzer(recognizer.backbone, (view, )).total()
    fc = [m for m in recognizer.cls_head.modules()
          if isinstance(m, nn.Linear)][-1]
    return (backbone + fc.in_features * fc.out_features) / 1e9


@pytest.mark.parametrize('family', [r3d_cfg, slowfast_cfg, r2plus1d_cfg])
def test_families_flops_and_outputs(family):
    model = build(base=family(), num_crops=3,
                  ddnet_input=dict(num_frames=2, size=8))
    data = video_batch(num_crops=3, seed=2)
    sample, _, base = run(model, data)
    score = sample.pred_score
    assert score.shape == (NUM_CLASSES, ) and torch.isfinite(score).all()
    assert score.sum().item() == pytest.approx(1.0, abs=1e-5)
    # first call: the real run (the FLOP count traces one more view)
    assert sample.base_views == 3 * sample.base_elements == len(base.inputs[0])
    view = model.data_preprocessor(data)['inputs'][0, :1]
    assert sample.gflops_base == pytest.approx(
        _head_flops(model.base, view) * sample.base_views, rel=1e-6)
    dd_view = model.ddnet_views(view)
    assert dd_view.shape == (1, 3, 2, 8, 8)
    assert sample.gflops_ddnet == pytest.approx(
        _head_flops(model.ddnet, dd_view) * 3 * N_CLIPS, rel=1e-6)
    # per-shape cache: a second video of the same shape is not re-traced
    model.test_step(video_batch(num_crops=3, seed=3))
    assert len(model._base_gflops) == 1 and len(model._ddnet_gflops) == 1


def test_ddnet_input_subsample_resize_renormalize():
    pre_d = dict(type='ActionDataPreprocessor', mean=[10., 20., 30.],
                 std=[2., 4., 8.], to_rgb=True, format_shape='NCTHW')
    model = MODELS.build(dict(
        type='DDLRecognizer', base=r3d_cfg(), ddnet=ddnet_cfg(pre_d),
        aggregator=dict(type='DDLAggregator', mode='top1'),
        ddnet_input=dict(num_frames=2, size=(8, 4))))
    raw = torch.rand(3, 3, T, 16, 8) * 255
    x = (raw - MEAN) / STD  # this model's (base) normalisation
    out = model.ddnet_views(x)
    # independent: frames 0 and 2, 2x2 average (bilinear at exactly half
    # size), BGR->RGB flip, the DDNet's normalisation
    sub = raw[:, :, [0, 2]]
    pooled = sub.reshape(3, 3, 2, 8, 2, 4, 2).mean(dim=(4, 6))
    mean = torch.tensor([10., 20., 30.]).view(1, 3, 1, 1, 1)
    std = torch.tensor([2., 4., 8.]).view(1, 3, 1, 1, 1)
    expect = (pooled.flip(1) - mean) / std
    torch.testing.assert_close(out, expect, rtol=1e-4, atol=1e-4)
    # int size = short side, aspect kept
    model.size = 4
    assert model.ddnet_views(x).shape == (3, 3, 2, 8, 4)
    # the base shares this model's preprocessor: its views pass unchanged
    assert model._renormalize(x, model.base) is x
    # a model-level preprocessor without normalisation: the base still gets
    # its own mean/std
    raw_model = MODELS.build(dict(
        type='DDLRecognizer', base=r3d_cfg(), ddnet=ddnet_cfg(),
        aggregator=dict(type='DDLAggregator', mode='dense'),
        data_preprocessor=dict(type='ActionDataPreprocessor',
                               format_shape='NCTHW')))
    torch.testing.assert_close(raw_model._renormalize(raw, raw_model.base), x)


def test_tensor_mode_batch_and_no_data_samples():
    model = build(num_crops=1, count_flops=False)
    a = model.data_preprocessor(video_batch(num_crops=1, seed=4))['inputs']
    b = model.data_preprocessor(video_batch(num_crops=1, seed=5))['inputs']
    x = torch.cat([a, b])
    probs = model(x, mode='tensor')
    assert probs.shape == (2, NUM_CLASSES)
    samples = model(x, mode='predict')
    assert len(samples) == 2
    for p, s in zip(probs, samples):
        torch.testing.assert_close(s.pred_score, p)
    torch.testing.assert_close(probs[1], model(b, mode='tensor')[0])


def test_checkpoints_loaded(tmp_path):
    src = build(count_flops=False, spread=False)
    for p in list(src.base.parameters()) + list(src.ddnet.parameters()):
        p.data.add_(torch.randn_like(p))
    torch.save(dict(state_dict=src.base.state_dict()), tmp_path / 'b.pth')
    torch.save(dict(state_dict=src.ddnet.state_dict()), tmp_path / 'd.pth')
    model = build(base_checkpoint=str(tmp_path / 'b.pth'),
                  ddnet_checkpoint=str(tmp_path / 'd.pth'), spread=False)
    model.init_weights()  # re-initialises, then reloads the checkpoints
    for mine, theirs in ((model.base, src.base), (model.ddnet, src.ddnet)):
        for (k, v), (k2, v2) in zip(mine.state_dict().items(),
                                    theirs.state_dict().items()):
            assert k == k2 and torch.equal(v, v2), k
    # a checkpoint of the wrong model is refused (strict loading)
    with pytest.raises(RuntimeError):
        build(base_checkpoint=str(tmp_path / 'd.pth'))


def test_bad_inputs():
    model = build(num_crops=3, count_flops=False)
    x = model.data_preprocessor(video_batch(num_crops=3))['inputs']
    with pytest.raises(RuntimeError, match='test-time model'):
        model(x, mode='loss')
    with pytest.raises(ValueError, match=r'\(B, V, C, T, H, W\)'):
        model(x[0], mode='tensor')
    with pytest.raises(ValueError, match='multiple of num_crops'):
        model(x[:, :14], mode='tensor')
    model.num_frames = T + 1
    with pytest.raises(ValueError, match='exceeds the clip length'):
        model(x, mode='tensor')
    with pytest.raises(ValueError, match='unknown keys'):
        build(ddnet_input=dict(frames=4))
    with pytest.raises(ValueError, match='num_crops'):
        build(num_crops=0)
    with pytest.raises(TypeError, match='DDLAggregator'):
        build(aggregator=dict(type='ActionDataPreprocessor'))


def test_runner_test_loop_with_ddl_metric(tmp_path, monkeypatch):
    """mmengine's Runner.test: data preprocessor, test_step, DDLMetric."""
    import mmengine.runner.runner as runner_module
    from mmengine.runner import Runner

    # the Runner's environment report (compiler/CUDA probes) costs seconds
    monkeypatch.setattr(runner_module, 'collect_env', dict)

    import mmddl.evaluation.ddl_metric  # noqa: F401  (registers DDLMetric)
    videos = []
    for seed in range(3):
        (inputs, ), (sample, ) = video_batch(num_crops=3, seed=seed,
                                             label=seed).values()
        videos.append(dict(inputs=inputs, data_samples=sample))
    runner = Runner(
        model=dict(type='DDLRecognizer', base=r3d_cfg(), ddnet=ddnet_cfg(),
                   aggregator=dict(type='DDLAggregator', mode='ddl',
                                   threshold=0.5, topk=3),
                   num_crops=3, allow_random_weights=True),
        work_dir=str(tmp_path),
        test_dataloader=dict(dataset=videos, batch_size=2,
                             sampler=dict(type='DefaultSampler',
                                          shuffle=False),
                             collate_fn=dict(type='pseudo_collate')),
        test_cfg=dict(type='TestLoop'),
        test_evaluator=dict(type='DDLMetric',
                            out_file=str(tmp_path / 'rows.json')),
        default_scope='mmaction')
    metrics = runner.test()
    rows = json.loads((tmp_path / 'rows.json').read_text())['videos']
    assert [r['video'] for r in rows] == ['vid0', 'vid1', 'vid2']
    assert metrics['ddl/top1'] == pytest.approx(
        np.mean([r['pred_label'] == r['gt_label'] for r in rows]))
    assert 1 <= metrics['ddl/base_clips'] <= 3
    assert metrics['ddl/ddnet_clips'] == N_CLIPS
    assert metrics['ddl/gflops_total'] == pytest.approx(
        metrics['ddl/gflops_base'] + metrics['ddl/gflops_ddnet'])
    assert metrics['ddl/gflops_base'] > 0 and metrics['ddl/gflops_ddnet'] > 0


#: The data-sample fields both DDL wrappers write (the output contract).
CONTRACT = {'ddl_scores', 'ddl_selected', 'base_elements', 'ddnet_elements',
            'time_ddnet_s', 'time_base_s', 'time_model_s', 'gflops_base',
            'gflops_ddnet'}


def test_output_contract():
    model = build(num_crops=1)
    sample, _, _ = run(model, video_batch(num_crops=1, seed=6))
    assert CONTRACT <= set(sample.keys())
    assert sample.ddl_scores.shape == (N_CLIPS, )
    assert (sample.base_elements, sample.ddnet_elements) == (2, N_CLIPS)


def test_feature_fusion_equals_head_of_fused_features():
    """Eq. 8 on features: the linear head applied to the D-score-weighted
    mean of the clips' (crop-averaged) pooled features, softmax once."""
    model = build(num_crops=3, count_flops=False)
    fc = model.base.cls_head.fc_cls
    feats = []
    handle = fc.register_forward_pre_hook(
        lambda m, args: feats.append(args[0].detach()))
    try:
        sample, dd, base = run(model, video_batch(num_crops=3, seed=7))
    finally:
        handle.remove()
    x = torch.cat(feats).double().numpy()  # (views, in_channels)
    per_clip = {}
    for (clip, _), f in zip(identify(base.views), x):
        per_clip.setdefault(clip, []).append(f)
    selected = sample.ddl_selected.tolist()
    kept = sample.ddl_scores.double().numpy()[selected]
    w = (kept - kept.min()) / (kept.max() - kept.min())
    fused = sum(wi * np.mean(per_clip[c], 0)
                for wi, c in zip(w, selected)) / w.sum()
    logits = fc.weight.double().detach().numpy() @ fused + \
        fc.bias.double().detach().numpy()
    np.testing.assert_allclose(sample.pred_score.numpy(), np_softmax(logits),
                               rtol=1e-5, atol=1e-7)
    # probability fusion differs on the same video
    prob = build(num_crops=3, count_flops=False, aggregator=dict(
        type='DDLAggregator', mode='ddl', topk=2, fusion_level='prob'))
    other, _, _ = run(prob, video_batch(num_crops=3, seed=7))
    assert not np.allclose(other.pred_score.numpy(), np_softmax(logits),
                           rtol=1e-2, atol=0)


def test_strict_loading_bare_and_wrapper_checkpoints(tmp_path):
    src = build(count_flops=False, spread=False)
    for p in src.parameters():
        p.data.add_(torch.randn_like(p))
    wrapper = str(tmp_path / 'wrapper.pth')
    torch.save(dict(state_dict=src.state_dict()), wrapper)
    model = build(base_checkpoint=wrapper, ddnet_checkpoint=wrapper,
                  spread=False, allow_random_weights=False)
    for k, v in src.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k
    broken = dict(src.base.state_dict())
    broken['cls_head.extra'] = torch.zeros(2)
    path = str(tmp_path / 'broken.pth')
    torch.save(dict(state_dict=broken), path)
    with pytest.raises(RuntimeError, match='broken.pth.*cls_head.extra'):
        build(base_checkpoint=path)


def test_unloaded_weights_refused():
    model = build(count_flops=False, allow_random_weights=False)
    x = model.data_preprocessor(video_batch(num_crops=1))['inputs']
    with pytest.raises(RuntimeError, match='the base has no trained'):
        model(x, mode='tensor')


# ------------------------------------------------------- memory layouts
def formatshape_like(n, crops, c=3, t=4, h=12, w=10, seed=0):
    """(n, crops, C, T, H, W) clips laid out as FormatShape + split_groups
    give them: a (crops, n, T, H, W, C) array viewed channels-first."""
    g = torch.Generator().manual_seed(seed)
    raw = torch.rand(crops, n, t, h, w, c, generator=g)
    return raw.permute(1, 0, 5, 2, 3, 4)


def test_resize_frames_equals_per_frame_bilinear():
    from mmddl.models.recognizers.ddl_recognizer import resize_frames
    clips = formatshape_like(3, 1, t=4, h=12, w=10)
    for views in (clips.flatten(0, 1), clips.flatten(0, 1).contiguous()):
        out = resize_frames(views, (6, 7))
        V, C, T = views.shape[:3]
        expect = torch.stack([
            nn.functional.interpolate(
                views[:, :, i].contiguous(), size=(6, 7), mode='bilinear',
                align_corners=False) for i in range(T)
        ], 2)
        assert out.shape == (V, C, T, 6, 7)
        assert torch.equal(out, expect)
        assert out.is_contiguous(memory_format=torch.channels_last_3d)


def test_flatten_views_values_and_layout():
    from mmddl.models.recognizers.ddl_recognizer import flatten_views
    for crops in (1, 3):
        clips = formatshape_like(4, crops)
        views = flatten_views(clips)
        assert torch.equal(views, clips.flatten(0, 1))
        assert views.is_contiguous(memory_format=torch.channels_last_3d)
        if crops == 1:  # a view, no copy
            assert views.data_ptr() == clips.data_ptr()
    plain = torch.rand(2, 3, 3, 4, 5, 6)
    assert flatten_views(plain).is_contiguous()
    assert torch.equal(flatten_views(plain), plain.flatten(0, 1))


def test_match_conv_layout_keeps_values():
    from mmddl.models.recognizers.ddl_recognizer import match_conv_layout
    model = nn.Sequential(nn.Conv3d(3, 4, 3), nn.BatchNorm3d(4),
                          nn.Conv3d(4, 2, 3, padding=1)).eval()
    before = [p.clone() for p in model.parameters()]
    x = torch.rand(2, 3, 4, 6, 6)
    ref = model(x)
    x_cl = x.contiguous(memory_format=torch.channels_last_3d)
    match_conv_layout(model, x_cl)
    convs = [m for m in model if isinstance(m, nn.Conv3d)]
    assert all(
        m.weight.is_contiguous(memory_format=torch.channels_last_3d)
        and not m.weight.is_contiguous() for m in convs)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    torch.testing.assert_close(model(x_cl), ref, rtol=1e-5, atol=1e-6)
    match_conv_layout(model, x)  # back to contiguous inputs
    assert all(m.weight.is_contiguous() for m in convs)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_one_stage_base_sees_channels_last_views_without_copies():
    """Dense on FormatShape-laid-out inputs: the base gets the group's own
    memory (no index or concatenation copy) and the same scores as on a
    contiguous copy of the inputs."""
    model = build(num_crops=1, count_flops=False,
                  aggregator=dict(type='DDLAggregator', mode='dense'))
    inputs = formatshape_like(N_CLIPS, 1, t=T, h=CROP, w=CROP)
    inputs = (inputs * 255 - MEAN) / STD  # keeps the layout
    batch = inputs[:, 0][None]  # (1, V, C, T, H, W), one crop
    seen = []
    hook = model.base.backbone.register_forward_pre_hook(
        lambda m, a: seen.append(a[0]))
    out = model(batch, mode='tensor')
    hook.remove()
    assert seen[0].data_ptr() == batch.data_ptr()
    ref = model(batch.contiguous(), mode='tensor')
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
