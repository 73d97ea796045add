"""DDLRecognizer on two-stage decoded videos equals one-stage decoding.

Stage 1 (``DDLTwoStageDecode``) gives the model only the DDNet's frames of
each candidate clip and a ``ddl_clip_source``; the model decodes the
selected clips from it. D-scores, selection and fused scores must be
bit-identical to decoding every clip in full (``CheckedDecordDecode``).
"""
import json

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from test_ddl_recognizer import build, ddnet_cfg, r3d_cfg

import mmddl  # noqa: F401
from mmddl.datasets.transforms import ClipSource
from mmddl.testing.synthetic_video import write_short_video

CLIPS, CLIP_LEN, DD_FRAMES, TOPK = 5, 8, 4, 2
SPATIAL = [
    dict(type='Resize', scale=(-1, 40)),
    dict(type='ThreeCrop', crop_size=40),
    dict(type='FormatShape', input_format='NCTHW')
]
META = ('video_id', 'filename', 'num_clips', 'ddl_clip_source')


@pytest.fixture(autouse=True)
def _mmaction_scope():
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


def pipeline(two_stage, **kwargs):
    head = [
        dict(type='CheckedDecordInit'),
        dict(
            type='SampleFrames',
            clip_len=CLIP_LEN,
            frame_interval=2,
            num_clips=CLIPS,
            test_mode=True)
    ]
    if two_stage:
        decode = [
            dict(
                type='DDLTwoStageDecode',
                ddnet_frames=DD_FRAMES,
                pipeline=SPATIAL,
                **kwargs)
        ]
    else:
        decode = [dict(type='CheckedDecordDecode')] + SPATIAL
    return head + decode + [dict(type='PackActionInputs', meta_keys=META)]


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp('videos')
    for i in range(3):
        write_short_video(
            str(root / f'v{i}.mp4'),
            num_frames=60 + 7 * i,
            frame_size=(48, 64),
            seed=i,
            label=i)
    (root / 'list.txt').write_text(''.join(f'v{i}.mp4 {i}\n'
                                           for i in range(3)))
    return root


def dataset_cfg(root, two_stage, **kwargs):
    return dict(
        type='VideoDataset',
        ann_file=str(root / 'list.txt'),
        data_prefix=dict(video=str(root)),
        test_mode=True,
        pipeline=pipeline(two_stage, **kwargs))


def items(root, two_stage, **kwargs):
    from mmaction.datasets import VideoDataset
    cfg = dataset_cfg(root, two_stage, **kwargs)
    cfg.pop('type')
    ds = VideoDataset(**cfg)
    return [ds[i] for i in range(len(ds))]


def model(mode='ddl', **kwargs):
    kwargs.setdefault('ddnet_input', dict(num_frames=DD_FRAMES, size=16))
    return build(
        base=r3d_cfg(),
        num_crops=3,
        aggregator=dict(type='DDLAggregator', mode=mode, topk=TOPK, seed=1),
        **kwargs)


def predict(net, batch):
    return net.test_step(pseudo_collate(batch))


@pytest.mark.parametrize('mode', ['ddl', 'dense', 'uniform', 'random'])
def test_identical_to_one_stage(videos, mode):
    net = model(mode)
    one, two = items(videos, False), items(videos, True)
    assert two[0]['inputs'].shape[2] == DD_FRAMES
    assert one[0]['inputs'].shape[2] == CLIP_LEN
    # a batch of two videos, then one alone
    for batch in ((0, 1), (2, )):
        net.aggregator.reset()  # random: the same draws for both
        ref = predict(net, [one[i] for i in batch])
        net.aggregator.reset()
        out = predict(net, [two[i] for i in batch])
        for a, b in zip(ref, out):
            assert torch.equal(a.ddl_scores, b.ddl_scores)
            assert torch.equal(a.ddl_selected, b.ddl_selected)
            assert torch.equal(a.pred_score, b.pred_score)
            for key in ('base_views', 'ddnet_views', 'gflops_base',
                        'gflops_ddnet'):
                assert a.get(key) == b.get(key), key
            assert a.time_decode_s == 0.0 and b.time_decode_s > 0
            assert b.time_model_s == pytest.approx(b.time_ddnet_s +
                                                   b.time_base_s)
    if mode == 'ddl':
        assert ref[0].ddl_scores.numel() == CLIPS
        assert ref[0].base_elements == TOPK


def test_element_inputs_of_all_clips(videos):
    """What a sweep over K asks for: every candidate's base input."""
    net = model()
    one, two = items(videos, False)[:1], items(videos, True)[:1]
    outs = []
    for batch in (one, two):
        data = net.data_preprocessor(pseudo_collate(batch))
        groups = net._groups(data['inputs'], data['data_samples'])
        every = [torch.arange(CLIPS)]
        inputs = net.element_inputs(groups, every, data['data_samples'])
        assert inputs[0].shape == (CLIPS, 3, 3, CLIP_LEN, 40, 40)
        outs.append(inputs[0])
    assert torch.equal(outs[0], outs[1])


def test_runner_with_workers(videos, tmp_path, monkeypatch):
    """mmengine's Runner.test (as tools/test.py): the handle crosses a
    data loader worker; the metric rows equal one-stage decoding's."""
    import mmengine.runner.runner as runner_module
    from mmengine.runner import Runner
    monkeypatch.setattr(runner_module, 'collect_env', dict)
    rows = {}
    for two_stage, workers in ((False, 0), (True, 1)):
        out = tmp_path / f'rows{int(two_stage)}.json'
        runner = Runner(
            model=dict(
                type='DDLRecognizer',
                base=r3d_cfg(),
                ddnet=ddnet_cfg(),
                num_crops=3,
                ddnet_input=dict(num_frames=DD_FRAMES, size=16),
                aggregator=dict(type='DDLAggregator', mode='ddl', topk=TOPK),
                allow_random_weights=True),
            work_dir=str(tmp_path / f'w{int(two_stage)}'),
            test_dataloader=dict(
                dataset=dataset_cfg(videos, two_stage),
                batch_size=2,
                num_workers=workers,
                sampler=dict(type='DefaultSampler', shuffle=False)),
            test_cfg=dict(type='TestLoop'),
            test_evaluator=dict(type='DDLMetric', out_file=str(out)),
            default_scope='mmaction',
            randomness=dict(seed=0))
        torch.manual_seed(0)
        metrics = runner.test()
        rows[two_stage] = json.loads(out.read_text())['videos']
        if two_stage:
            assert metrics['ddl/decode_time_s'] > 0
        else:
            assert metrics['ddl/decode_time_s'] == 0
    for a, b in zip(rows[False], rows[True]):
        assert a['ddl_selected'] == b['ddl_selected']
        assert a['pred_label'] == b['pred_label']
        assert a['label_rank'] == b['label_rank']


def test_handle_and_inputs_disagree(videos):
    two = items(videos, True)[:1]
    with pytest.raises(ValueError, match=r"v0\.mp4.*decoded 4 frames"):
        predict(model(ddnet_input=dict(num_frames=2, size=16)), two)
    net = model()
    src = two[0]['data_samples'].ddl_clip_source
    other = ClipSource(src.filename, src.frame_inds[:3], src.pipeline_cfg,
                       DD_FRAMES, 3)
    bad = dict(two[0], data_samples=two[0]['data_samples'].clone())
    bad['data_samples'].set_metainfo(dict(ddl_clip_source=other))
    with pytest.raises(ValueError, match=r'5 clips x 3 crops.*3 clips x 3'):
        predict(net, [bad])
    one = items(videos, False)[:1]
    with pytest.raises(ValueError, match='cannot be mixed'):
        predict(net, [one[0], two[0]])
    # without its data samples a two-stage input has no handle: refused,
    # never run through the base on the DDNet's frames
    x = net.data_preprocessor(pseudo_collate(two))['inputs']
    with pytest.raises(ValueError, match='need their data'):
        net(x, mode='tensor')


def test_resized_decode_deviation(videos, capsys):
    """``ddnet_decode_size``: decord's resampling instead of the model's
    bilinear resize: the run works; the D-score deviation is reported."""
    net = model()
    small = [
        dict(type='ThreeCrop', crop_size=16),
        dict(type='FormatShape', input_format='NCTHW')
    ]
    ref = predict(net, items(videos, True))
    out = predict(
        net, items(videos, True, ddnet_decode_size=16, ddnet_pipeline=small))
    dev = max(
        float((a.ddl_scores - b.ddl_scores).abs().max())
        for a, b in zip(ref, out))
    for b in out:
        assert b.ddl_scores.shape == (CLIPS, ) and b.base_elements == TOPK
        assert torch.isfinite(b.pred_score).all()
        assert b.gflops_base == ref[0].gflops_base
    with capsys.disabled():
        print(f'\nddnet_decode_size=16: max |D-score deviation| {dev:.4f}')
