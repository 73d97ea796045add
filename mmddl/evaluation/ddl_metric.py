"""Accuracy and cost of DDL test-time video recognition (paper Table 8,
ActivityNet-1.2, and Table 9, Kinetics-700)."""
import json
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmengine.registry import METRICS
from mmengine.structures import BaseDataElement

from mmddl.utils.atomic_write import atomic_write
from .fallbacks import FIELD as FALLBACK_FIELD
from .fallbacks import count_fallbacks, sample_fallbacks
from .functional import NON_FINITE_HINT, check_finite

#: Per-video fields every sample must carry (written by ``DDLRecognizer``).
REQUIRED = ('pred_score', 'gt_label', 'base_elements', 'ddnet_elements',
            'time_model_s')
#: Fields present either on every sample or on none (``count_flops``).
OPTIONAL = ('gflops_base', 'gflops_ddnet')
#: Views run per video (clips x crops), on every sample or on none
#: (written by ``DDLRecognizer``).
VIEWS = ('base_views', 'ddnet_views')
#: Meta keys tried, in order, to name a video in the per-video rows.
ID_KEYS = ('video_id', 'filename', 'frame_dir', 'img_key')


def _item(x: Any) -> Any:
    """Tensor / numpy scalar or vector -> plain Python (JSON-friendly)."""
    if isinstance(x, (torch.Tensor, np.ndarray)):
        x = x.tolist()
    elif isinstance(x, np.generic):
        x = x.item()
    return x


@METRICS.register_module()
class DDLMetric(BaseMetric):
    """Top-k accuracy and per-video cost of DDL inference.

    A NaN or inf class score raises :class:`NonFiniteError` naming the
    video: it is never counted as a hit or a miss.

    Top-k: a video is a hit if fewer than k other classes score at least as
    high as its label (mmaction's ``top_k_accuracy`` without its tie
    break). A tie is not a correct prediction: a label tied with another
    class counts as ranked below it, so a prediction constant over the
    classes is a miss at every k below the number of classes; such videos
    are counted (``tied_labels``, logged once). When every prediction of
    the run is constant over the classes (a zeroed or dead classification
    head), ``compute_metrics`` raises ``ValueError`` instead of reporting
    a number.

    Reported (prefix ``ddl/``): ``top{k}`` for each k, ``mean_top1_top5`` (the
    paper's Kinetics metric, when 1 and 5 are in ``topk``), and per-video
    means of ``base_clips`` / ``ddnet_clips`` (the samples'
    ``base_elements`` / ``ddnet_elements``), ``base_views`` /
    ``ddnet_views`` (clips x crops run, when the samples carry them),
    ``model_time_s`` (their
    ``time_model_s``), ``decode_time_s`` (their ``time_decode_s``: decoding
    in the model of two-stage inputs, 0 without) and, when the recognizer
    counted FLOPs,
    ``gflops_base``, ``gflops_ddnet``, ``gflops_total``; the number of
    videos that took each fallback (``fallback_<name>``, see
    :mod:`mmddl.evaluation.fallbacks`; logged once when any did),
    ``tied_labels`` and ``num_videos``.

    Args:
        topk (Sequence[int]): The k of the top-k accuracies.
            Defaults to (1, 5).
        out_file (str, optional): JSON path for the per-video rows.
        collect_device (str): ``'cpu'`` or ``'gpu'`` for collecting across
            ranks. Defaults to ``'cpu'``.
        prefix (str, optional): Metric name prefix; defaults to ``ddl``.
    """
    default_prefix: Optional[str] = 'ddl'

    def __init__(self,
                 topk: Sequence[int] = (1, 5),
                 out_file: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        topk = (topk, ) if isinstance(topk, int) else tuple(topk)
        if not topk or any(int(k) < 1 for k in topk):
            raise ValueError(f'topk must be integers >= 1, got {topk}')
        self.topk = tuple(int(k) for k in topk)
        self.out_file = out_file

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        """Turn each predicted data sample into a per-video row."""
        for sample in data_samples:
            if isinstance(sample, BaseDataElement):
                sample = sample.to_dict()
            missing = [k for k in REQUIRED if k not in sample]
            if missing:
                raise KeyError(f'DDLMetric needs the fields {missing} in each '
                               'data sample (written by DDLRecognizer)')
            video = next((_item(sample[k]) for k in ID_KEYS if k in sample),
                         None)
            where = (f'video {video!r}' if video is not None else
                     f'video #{len(self.results)} (0-based)')
            score = torch.as_tensor(sample['pred_score']).detach().cpu()
            score = score.double().flatten()
            check_finite(score, 'pred_score', where, NON_FINITE_HINT)
            label = torch.as_tensor(sample['gt_label']).flatten()
            if label.numel() != 1:
                raise ValueError('DDLMetric handles single-label videos; got '
                                 f'gt_label of {label.numel()} entries')
            label = int(label.item())
            if not 0 <= label < score.numel():
                raise ValueError(f'gt_label {label} out of range for '
                                 f'{score.numel()} class scores')
            # a tie is not a hit: classes tied with the label rank above it
            rank = int((score >= score[label]).sum()) - 1
            row = dict(
                video=video,
                gt_label=label,
                pred_label=int(score.argmax()),
                label_rank=rank,
                label_tied=bool((score == score[label]).sum() > 1),
                constant=bool(score.max() == score.min()),
                fallbacks=sample_fallbacks(sample.get(FALLBACK_FIELD)),
                base_clips=int(_item(sample['base_elements'])),
                ddnet_clips=int(_item(sample['ddnet_elements'])),
                model_time_s=float(_item(sample['time_model_s'])),
                decode_time_s=float(_item(sample.get('time_decode_s', 0.0))))
            row.update({f'top{k}': rank < k for k in self.topk})
            if 'ddl_selected' in sample:
                row['ddl_selected'] = _item(sample['ddl_selected'])
            for key in OPTIONAL + VIEWS:
                if key in sample:
                    row[key] = float(_item(sample[key]))
            self.results.append(row)

    def compute_metrics(self, results: List[Dict]) -> Dict[str, float]:
        """Means over videos; optionally dump the rows to ``out_file``."""
        if not results:
            raise ValueError('DDLMetric got no videos')
        if all(r['constant'] for r in results):
            raise ValueError(
                f'DDLMetric: every prediction of the run ({len(results)} '
                'videos) is constant over the classes, so no accuracy can '
                'be measured (a tie is no hit); the classification head '
                'gives every class the same score: check the base '
                'checkpoint (a zeroed or untrained head).')
        logger = MMLogger.get_current_instance()
        metrics = {
            f'top{k}': float(np.mean([r[f'top{k}'] for r in results]))
            for k in self.topk
        }
        if 1 in self.topk and 5 in self.topk:
            metrics['mean_top1_top5'] = (metrics['top1'] + metrics['top5']) / 2
        for key in ('base_clips', 'ddnet_clips', 'model_time_s',
                    'decode_time_s'):
            metrics[key] = float(np.mean([r[key] for r in results]))
        for key in OPTIONAL + VIEWS:
            have = sum(key in r for r in results)
            if have not in (0, len(results)):
                raise KeyError(f'{key} is on {have} of {len(results)} videos; '
                               'it must be on all or none')
            if have:
                metrics[key] = float(np.mean([r[key] for r in results]))
        if all(k in metrics for k in OPTIONAL):
            metrics['gflops_total'] = metrics['gflops_base'] + \
                metrics['gflops_ddnet']
        metrics.update(
            count_fallbacks([r['fallbacks'] for r in results], 'DDLMetric',
                            'videos'))
        tied = [r['video'] for r in results if r['label_tied']]
        if tied:
            logger.warning(
                f'DDLMetric: {len(tied)} of {len(results)} videos have their '
                f'label tied with another class (counted as misses), e.g. '
                f'{tied[:3]}')
        metrics['tied_labels'] = len(tied)
        metrics['num_videos'] = len(results)
        if self.out_file is not None:
            atomic_write(
                self.out_file,
                lambda f: json.dump(
                    dict(metrics=metrics, videos=results), f, indent=1),
                'per-video results',
                text=True)
            logger.info(
                f'DDLMetric: per-video rows written to {self.out_file}')
        return metrics
