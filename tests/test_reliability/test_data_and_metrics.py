"""Bad data and non-finite predictions end in a clear error, never a number.

One test per row of the reliability matrix (docs/reliability.md) for the
data sets, transforms and metrics.
"""
import os
import os.path as osp
import subprocess
import sys
import uuid

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmddl  # noqa: F401
from mmddl.datasets import CheckedVideoDataset, DatasetFormatError
from mmddl.datasets.face import MXFaceDataset, YTFDataset
from mmddl.datasets.image_io import ImageDecodeError
from mmddl.datasets.recordio import (IRHeader, RecordIOError,
                                     RecordIOWriter, pack)
from mmddl.datasets.transforms import (CheckedDecordInit, LoadGroupImages,
                                       SampleScoredClips, VideoDecodeError)
from mmddl.evaluation import (DDLMetric, DScoreMetric, GroupReIDMetric,
                              GroupVerificationMetric)
from mmddl.evaluation.functional import NonFiniteError
from mmddl.testing.synthetic_faces import (make_identities, write_recordio,
                                           write_ytf)
from mmddl.testing.synthetic_video import (BenchmarkConfig,
                                           make_video_benchmark,
                                           write_corrupt_video, write_video)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs', 'recognition', 'demo')
BASE_CFG = osp.join(DEMO, 'slowfast_r18-tiny_1xb8-16x1x1-15e_synthetic-rgb.py')
DDL_CFG = osp.join(DEMO, 'ddl_slowfast-tiny_top5-of-30_synthetic-rgb.py')
NAN, INF = float('nan'), float('inf')


@pytest.fixture(scope='module')
def bench(tmp_path_factory):
    """2 classes x 2 training + 1 test videos of 60 frames (64x64)."""
    root = str(tmp_path_factory.mktemp('bench'))
    make_video_benchmark(
        root, cfg=BenchmarkConfig(num_classes=2, train_per_class=2,
                                  test_per_class=1, num_frames=60),
        trimmed=False, progress=False)
    return root


def _ddl_sample(score, label=2, video='v.mp4'):
    return dict(pred_score=torch.tensor(score), gt_label=torch.tensor(label),
                base_elements=5, ddnet_elements=30, time_model_s=0.1,
                filename=video)


# ------------------------------------------------------------ 1. metrics
@pytest.mark.parametrize('bad', [NAN, INF], ids=['nan', 'inf'])
def test_ddl_metric_refuses_non_finite_scores(bad):
    metric = DDLMetric(topk=(1, ))
    metric.process(None, [_ddl_sample([0.1, 0.9, 0.0], video='ok.mp4')])
    # a NaN head gives NaN for every class: `score > score[label]` is False
    # everywhere, which used to count as a top-1 hit
    with pytest.raises(NonFiniteError,
                       match=r"pred_score` of video 'nan.mp4'.* of 3 \(first.*"
                       r'checkpoints'):
        metric.process(None, [_ddl_sample([bad] * 3, video='nan.mp4')])
    assert len(metric.results) == 1


def test_group_verification_metric_refuses_nan_features():
    metric = GroupVerificationMetric(protocols=['tar_at_far'],
                                     pairs=[(0, 1, 1)])
    feat = torch.ones(4)
    metric.process(None, [dict(pred_feature=feat, group_id=0)])
    feat[2] = NAN
    with pytest.raises(NonFiniteError,
                       match=r"pred_feature` of .*group_name='tpl_7'.*1 NaN"):
        metric.process(None, [dict(pred_feature=feat, group_id=1,
                                   group_name='tpl_7')])


def test_group_reid_metric_refuses_inf_features():
    metric = GroupReIDMetric()
    feat = torch.tensor([1.0, INF])
    with pytest.raises(NonFiniteError, match=r'pid=3.*0 NaN and 1 inf'):
        metric.process(None, [dict(pred_feature=feat, pid=3, camid=1,
                                   is_query=True)])


@pytest.mark.parametrize('field', ['pred_dscore', 'gt_dscore'])
def test_dscore_metric_refuses_nan(field):
    sample = dict(pred_dscore=torch.tensor([0.2, 0.4]),
                  gt_dscore=torch.tensor([0.3, 0.5]), filename='a.mp4')
    sample[field][1] = NAN
    with pytest.raises(NonFiniteError, match=f'{field}` of .*a.mp4'):
        DScoreMetric().process(None, [sample])


def test_tools_test_on_nan_base_exits_non_zero(bench, tmp_path):
    # DDL mode; dense mode feeds DDLMetric the same way (tested above)
    from mmaction.registry import MODELS
    cfg = Config.fromfile(DDL_CFG)
    with DefaultScope.overwrite_default_scope('mmaction'):
        base = MODELS.build(Config.fromfile(BASE_CFG).model)
        ddnet = MODELS.build(cfg.model.ddnet)
    with torch.no_grad():
        base.cls_head.fc_cls.weight.fill_(NAN)
    torch.save(dict(state_dict=base.state_dict()), str(tmp_path / 'b.pth'))
    torch.save(dict(state_dict=ddnet.state_dict()), str(tmp_path / 'd.pth'))
    with open(osp.join(bench, 'val_list.txt')) as f:
        (tmp_path / 'one.txt').write_text(f.readline())
    cmd = [
        sys.executable,
        osp.join(ROOT, 'tools', 'test.py'), DDL_CFG,
        str(tmp_path / 'b.pth'), '--ddnet-checkpoint',
        str(tmp_path / 'd.pth'), '--work-dir',
        str(tmp_path / 'work'), '--cfg-options',
        f'test_dataloader.dataset.ann_file={tmp_path}/one.txt',
        f'test_dataloader.dataset.data_prefix.video={bench}',
        'test_dataloader.num_workers=0'
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert out.returncode != 0, out.stdout[-2000:]
    log = out.stdout + out.stderr
    assert "NonFiniteError: `pred_score` of video '" in log, log[-3000:]
    assert 'v_val_00000.mp4' in log and 'NaN' in log
    assert 'ddl/top1' not in log


# ----------------------------------- 4. corrupt video skipped by the pass
def test_corrupt_video_skipped_by_pass_is_refetched_in_training(
        bench, tmp_path):
    from mmaction.registry import MODELS
    from mmengine.runner import Runner
    data = str(tmp_path / 'data')
    os.makedirs(osp.join(data, 'videos'))
    for name in os.listdir(osp.join(bench, 'videos')):
        os.symlink(osp.join(bench, 'videos', name),
                   osp.join(data, 'videos', name))
    write_corrupt_video(osp.join(data, 'videos', 'v_bad.mp4'))
    lst = osp.join(data, 'train_list.txt')
    with open(osp.join(bench, 'train_list.txt')) as f:
        clean = f.read()
    with open(lst, 'w') as f:  # the corrupt video is the first drawn
        f.write('videos/v_bad.mp4 0\n' + clean)
    with DefaultScope.overwrite_default_scope('mmaction'):
        base = MODELS.build(Config.fromfile(BASE_CFG).model)
    torch.save(dict(state_dict=base.state_dict()), str(tmp_path / 'b.pth'))
    demo = Config.fromfile(osp.join(
        DEMO, 'ddnet_r18cd3d-tiny_slowfast-tiny-dscore-20e_synthetic-rgb.py'))
    pipe = demo.train_pipeline  # SampleScoredClips(on_skipped='refetch') 1st
    assert pipe[0].type == 'SampleScoredClips'
    candidates = demo.candidate_pipeline
    candidates[1].num_clips = 2
    work = str(tmp_path / 'work')
    cfg = Config(dict(
        default_scope='mmaction', work_dir=work, model=demo.model,
        train_dataloader=dict(
            batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(type='CheckedVideoDataset', ann_file=lst,
                         data_prefix=dict(video=data), pipeline=pipe)),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        custom_hooks=[dict(type='DiscriminabilityHook',
                           base=dict(config=BASE_CFG,
                                     checkpoint=str(tmp_path / 'b.pth')),
                           candidates=dict(pipeline=candidates, batch_size=2,
                                           num_workers=0),
                           compute=dict(progress=False))],
        default_hooks=dict(checkpoint=None),
        log_level='WARNING', experiment_name=f'r9_{uuid.uuid4().hex}'))
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 1
    table_file = runner.train_dataloader.dataset.pipeline.transforms[
        0].table_file
    bad = osp.join(data, 'videos', 'v_bad.mp4')
    sampler = SampleScoredClips(table_file=table_file)
    assert sampler.table.is_skipped(bad)
    # on_skipped='error' names the video and the way out
    with pytest.raises(KeyError, match="v_bad.mp4' was skipped.*refetch"):
        sampler(dict(filename=bad))


# -------------------------------------------------- 6. files and lists
def test_zero_byte_image_names_the_file(tmp_path):
    (tmp_path / 'empty.jpg').write_bytes(b'')
    with pytest.raises(ImageDecodeError,
                       match=r"empty.jpg of group 'g': .*0 bytes"):
        LoadGroupImages(size=16)(dict(img_paths=[str(tmp_path / 'empty.jpg')],
                                      group_name='g'))


def test_zero_byte_record_image_names_the_record(tmp_path):
    rec, idx = str(tmp_path / 'r.rec'), str(tmp_path / 'r.idx')
    with RecordIOWriter(rec, idx) as w:
        w.write_idx(1, pack(IRHeader(0, 0.0, 1, 0), b''))
    ds = MXFaceDataset(data_root=str(tmp_path), ann_file='r.idx',
                       rec_file='r.rec')
    with pytest.raises(ImageDecodeError, match=r'record 1 of .*r.rec.*empty'):
        ds[0]


@pytest.mark.parametrize('text, line, what', [
    ('a.mp4 0\nb.mp4\n', 2, 'no label'),
    ('a.mp4 0\nb.mp4 x\n', 2, 'not an integer'),
    ('a.mp4  1\n', 1, 'empty field'),
    ('a.mp4 0\n\nb.mp4 0 1\n', 3, '2 labels'),
    ('a.mp4 9\n', 1, 'out of range'),
], ids=['missing-label', 'non-integer', 'double-space', 'two-labels',
        'out-of-range'])
def test_malformed_video_list_names_file_and_line(tmp_path, text, line,
                                                  what):
    path = tmp_path / 'list.txt'
    path.write_text(text)
    with pytest.raises(DatasetFormatError,
                       match=f'{path}:{line}: .*{what}.*expected'):
        CheckedVideoDataset(str(path), pipeline=[], num_classes=3)


def test_empty_video_list_is_an_error(tmp_path):
    path = tmp_path / 'list.txt'
    path.write_text('\n')
    with pytest.raises(DatasetFormatError, match='list.txt: the video list '
                       'holds no sample'):
        CheckedVideoDataset(str(path), pipeline=[])


def test_video_list_reads_like_video_dataset(tmp_path):
    from mmaction.datasets import VideoDataset
    path = tmp_path / 'list.txt'
    path.write_text('a.mp4 0\nsub/b.mp4 2\n\n')
    ours = CheckedVideoDataset(str(path), pipeline=[], check_files=False,
                               data_prefix=dict(video='root'))
    path.write_text('a.mp4 0\nsub/b.mp4 2\n')  # stock: a blank line breaks
    ref = VideoDataset(str(path), pipeline=[], data_prefix=dict(video='root'))
    assert ours.data_list == ref.data_list
    path.write_text('a.mp4\n')
    unlabeled = CheckedVideoDataset(str(path), pipeline=[],
                                    allow_unlabeled=True, check_files=False)
    assert unlabeled.get_data_info(0)['label'] == -1


def test_missing_video_is_reported_missing(tmp_path):
    path = str(tmp_path / 'gone.mp4')
    with pytest.raises(VideoDecodeError, match='gone.mp4.*missing'):
        CheckedDecordInit()(dict(filename=path))
    write_corrupt_video(path)
    with pytest.raises(VideoDecodeError, match='corrupt or truncated'):
        CheckedDecordInit()(dict(filename=path))


def test_idx_without_header_line_is_an_error(tmp_path):
    ids = make_identities(3, 2, size=16, seed=0)
    out = write_recordio(str(tmp_path), ids, ext='.png')
    with open(out['idx']) as f:
        lines = [ln for ln in f if not ln.startswith('0\t')]
    with open(out['idx'], 'w') as f:
        f.writelines(lines)
    # it used to read the 3 identity records as images: 9 "images" of
    # 4 identities instead of 6 of 3
    with pytest.raises(RecordIOError,
                       match=r'record 7 is an insightface identity record.*'
                       r'train.idx has no line for key 0'):
        MXFaceDataset(data_root=str(tmp_path))


# ------------------------------------------- rows that already held
def test_empty_template_is_an_error(tmp_path):
    write_ytf(str(tmp_path), make_identities(2, 4, size=16, seed=0),
              videos_per_identity=2, num_splits=2, seed=0)
    frames = str(tmp_path / 'aligned_images_DB')
    person = sorted(os.listdir(frames))[0]
    video = osp.join(frames, person, sorted(os.listdir(
        osp.join(frames, person)))[0])
    for name in os.listdir(video):
        os.remove(osp.join(video, name))
    with pytest.raises(FileNotFoundError, match='has no .*frames'):
        YTFDataset(data_root=str(tmp_path))


def test_black_video_decodes_to_finite_frames(tmp_path):
    path = str(tmp_path / 'black.mp4')
    write_video(path, np.zeros((20, 64, 64, 3), np.uint8))
    (tmp_path / 'list.txt').write_text('black.mp4 0\n')
    pipe = [
        dict(type='CheckedDecordInit'),
        dict(type='SampleFrames', clip_len=8, frame_interval=1, num_clips=2,
             test_mode=True),
        dict(type='CheckedDecordDecode')
    ]
    with DefaultScope.overwrite_default_scope('mmaction'):
        ds = CheckedVideoDataset(str(tmp_path / 'list.txt'), pipeline=pipe,
                                 data_prefix=dict(video=str(tmp_path)),
                                 test_mode=True)
        out = ds[0]
    imgs = np.asarray(out['imgs'])
    assert out['total_frames'] == 20 and imgs.shape == (16, 64, 64, 3)
    assert imgs.max() <= 8  # black up to codec noise
