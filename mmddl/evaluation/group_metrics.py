"""Metrics over fused group features (face templates, re-ID tracklets) and
their cost: mean elements per group through the base model and the DDNet."""
from typing import Any, Dict, Hashable, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmengine.registry import METRICS

from .fallbacks import FIELD as FALLBACK_FIELD
from .fallbacks import count_fallbacks, sample_fallbacks
from .functional import (NON_FINITE_HINT, TAR_MODES, check_finite, cmc_at,
                         kfold_accuracy, pairwise_l2, reid_evaluate,
                         roc_tar_at_far, roc_tar_at_far_folds, tpr_at_fpr,
                         tpr_at_fpr_all_pairs)

PROTOCOLS = ('kfold', 'tar_at_far', 'tar_at_far_folds', 'tpr_at_fpr',
             'all_pairs_tpr_at_fpr')
#: Names used by the data sets' ``metainfo['protocol']['type']``.
PROTOCOL_ALIASES = dict(
    kfold_accuracy='kfold',
    tar_at_far_per_fold='tar_at_far_folds',
    tpr_at_fpr_all_pairs='all_pairs_tpr_at_fpr')
DEFAULT_FARS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
DEFAULT_FPR = 1e-4
#: How each ROC protocol reads TAR by default (``tar_mode=None``): IJB-B/C
#: (``tar_at_far``) with insightface's ``'nearest'`` rule, the others with
#: the conservative ``'le'``.
DEFAULT_TAR_MODES = dict(
    tar_at_far='nearest', tar_at_far_folds='le', tpr_at_fpr='le')
#: Data-sample counter fields (written by the test-time wrappers) -> the
#: metric output keys.
COST_FIELDS = dict(base_elements='base_images', ddnet_elements='ddnet_images')
#: Data-sample fields that name a group in error messages.
NAME_FIELDS = ('group_name', 'group_id', 'pid', 'camid')


def _protocol_names(protocols: Any) -> Tuple[str, ...]:
    """Canonical protocol names (aliases resolved); ValueError if unknown."""
    names = (protocols, ) if isinstance(protocols, str) else tuple(protocols)
    names = tuple(PROTOCOL_ALIASES.get(p, p) for p in names)
    unknown = [p for p in names if p not in PROTOCOLS]
    if unknown or not names:
        raise ValueError(f'protocols must be a non-empty subset of '
                         f'{PROTOCOLS} (or {tuple(PROTOCOL_ALIASES)}), got '
                         f'{protocols}.')
    return names


def _has(sample: Any, key: str) -> bool:
    """Whether a data sample (dict or data element) has field ``key``."""
    return key in sample


def _get(sample: Any, key: str, index: int) -> Any:
    """Field ``key`` of a data sample (dict or data element), or KeyError."""
    if not _has(sample, key):
        raise KeyError(f'data sample {index} of the batch has no `{key}` '
                       'field.')
    return sample[key] if isinstance(sample, dict) else sample.get(key)


def _scalar(value: Any) -> Any:
    """Python scalar of a 1-element tensor / array; other values as is."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise ValueError(f'expected a scalar, got shape {value.shape}.')
        return value.reshape(-1)[0].item()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _collect(sample: Any,
             index: int,
             keys: Sequence[str],
             optional: Sequence[str] = ()) -> Dict[str, Any]:
    """Feature, DDL counters, the scalar ``keys`` (required) and
    ``optional`` keys (None when absent) of a sample."""
    feat = _get(sample, 'pred_feature', index)
    feat = torch.as_tensor(feat).detach().float().cpu().reshape(-1)
    names = [
        f'{k}={_scalar(_get(sample, k, index))!r}' for k in NAME_FIELDS
        if _has(sample, k)
    ]
    check_finite(feat, 'pred_feature',
                 f'data sample {index} of the batch ({", ".join(names)})',
                 NON_FINITE_HINT)
    row = dict(
        feature=feat,
        fallbacks=sample_fallbacks(
            _get(sample, FALLBACK_FIELD, index
                 ) if _has(sample, FALLBACK_FIELD) else None))
    for field, key in COST_FIELDS.items():
        if _has(sample, key) and not _has(sample, field):
            raise KeyError(f'data sample {index} has `{key}` but no '
                           f'`{field}`: the counters are read from '
                           f'`{field}`.')
        row[key] = (
            int(_scalar(_get(sample, field, index)))
            if _has(sample, field) else None)
    for key in keys:
        row[key] = _scalar(_get(sample, key, index))
    for key in optional:
        row[key] = (
            _scalar(_get(sample, key, index)) if _has(sample, key) else None)
    return row


def _cost_summary(results: List[dict]) -> Dict[str, float]:
    """Mean ``base_images`` / ``ddnet_images`` per group (when recorded)."""
    out = {}
    for field, key in COST_FIELDS.items():
        values = [r[key] for r in results if r[key] is not None]
        if values:
            if len(values) != len(results):
                raise ValueError(f'`{field}` is missing from '
                                 f'{len(results) - len(values)} of '
                                 f'{len(results)} groups.')
            out[key] = float(np.mean(values))
    return out


@METRICS.register_module()
class GroupVerificationMetric(BaseMetric):
    """Face verification on fused group features (cosine similarity).

    Pairs come from the argument ``pairs`` or from the data set's meta
    (``dataset_meta[pairs_key]``): a sequence of ``(group_a, group_b,
    is_same)`` or ``(group_a, group_b, is_same, fold)`` where groups are
    identified by the data-sample field ``group_key`` (default
    ``group_id``, as the face group data sets set it). Folds (k-fold /
    per-split protocols) come from the 4th pair entry or
    ``dataset_meta[folds_key]`` (default ``pair_folds``).
    Every group a pair refers to must have been predicted (else KeyError).
    For millions of pairs (IJB-C) give an integer ``(P, 3|4)`` numpy array:
    mmengine deep-copies the metainfo, and integer keys are matched
    vectorised.

    Protocols (``protocols``; None takes the data set's
    ``dataset_meta['protocol']`` dict, e.g. ``dict(type='tar_at_far',
    fars=[...])``, whose ``fars`` / ``fpr`` are used unless given here; the
    data sets' names ``kfold_accuracy``, ``tar_at_far_per_fold`` and
    ``tpr_at_fpr_all_pairs`` are accepted as aliases):

    * ``'kfold'``: k-fold accuracy, threshold chosen on the other folds
      (YTF / LFW): ``kfold_acc``, ``kfold_acc_std``.
    * ``'tar_at_far'``: TAR at each of ``fars`` over all pairs (IJB-B/C):
      ``tar@far=1e-06`` ...
    * ``'tar_at_far_folds'``: TAR at ``fars`` per fold/split, mean and std
      (IJB-A): ``tar@far=0.001``, ``tar@far=0.001_std`` ...
    * ``'tpr_at_fpr'``: TPR at ``fpr`` over the listed pairs:
      ``tpr@fpr=0.0001``.
    * ``'all_pairs_tpr_at_fpr'``: TPR at ``fpr`` over all pairs of groups,
      identities from the data-sample field ``label_key`` (iQIYI-VID-FACE;
      needs no pair list): ``all_pairs_tpr@fpr=0.0001``.

    TAR is read off the ROC with ``tar_mode`` (None: per protocol,
    :data:`DEFAULT_TAR_MODES`: ``'nearest'`` for IJB-B/C as insightface's
    ``ijb_11.py`` does, ``'le'`` for IJB-A and TPR@FPR; the all-pairs
    protocol always counts false accepts exactly, like ``'le'``).

    Also reported: ``base_images`` / ``ddnet_images`` (means per group of
    the data-sample fields ``base_elements`` / ``ddnet_elements``),
    ``num_groups``, ``num_pairs`` and the number of groups that took each
    fallback (``fallback_<name>``, see :mod:`mmddl.evaluation.fallbacks`;
    logged once when any did).

    Args:
        protocols (Sequence[str], optional): Protocols to report; None
            reads them from the data set's meta. Defaults to None.
        fars (Sequence[float], optional): Target FARs; None: the meta's or
            1e-6 ... 1e-1.
        fpr (float, optional): Target FPR of the TPR protocols; None: the
            meta's or 1e-4.
        tar_mode (str, optional): How TAR is read off the ROC: ``'le'``,
            ``'nearest'`` or ``'interp'`` (see
            :mod:`mmddl.evaluation.functional.verification`); None: the
            protocol's default (``DEFAULT_TAR_MODES``). Defaults to None.
        group_key (str): Data-sample field that pairs refer to.
            Defaults to ``'group_id'``.
        label_key (str): Identity field for ``all_pairs_tpr_at_fpr``.
        pairs (Sequence, optional): Pair list; overrides the data-set meta.
        pairs_key (str): ``dataset_meta`` key of the pair list.
        folds_key (str): ``dataset_meta`` key of per-pair fold ids.
            Defaults to ``'pair_folds'``.
        pair_chunk (int): Pairs scored per block (memory bound).
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Metric name prefix. Defaults to
            ``'group_verif'``.
    """

    default_prefix = 'group_verif'
    #: Use the block-matmul pair scoring when groups^2 <= this * pairs
    #: (break-even measured on a 1-thread CPU: 23k groups x 512-d, 2M pairs).
    _dense_factor = 256

    def __init__(self,
                 protocols: Optional[Sequence[str]] = None,
                 fars: Optional[Sequence[float]] = None,
                 fpr: Optional[float] = None,
                 tar_mode: Optional[str] = None,
                 group_key: str = 'group_id',
                 label_key: str = 'gt_label',
                 pairs: Optional[Sequence] = None,
                 pairs_key: str = 'pairs',
                 folds_key: str = 'pair_folds',
                 pair_chunk: int = 4096,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.protocols = (None
                          if protocols is None else _protocol_names(protocols))
        self.fars = None if fars is None else tuple(float(f) for f in fars)
        self.fpr = None if fpr is None else float(fpr)
        if tar_mode is not None and tar_mode not in TAR_MODES:
            raise ValueError(f'tar_mode must be None or one of {TAR_MODES}, '
                             f'got {tar_mode!r}.')
        self.tar_mode = tar_mode
        self.group_key = group_key
        self.label_key = label_key
        self.pairs = pairs
        self.pairs_key = pairs_key
        self.folds_key = folds_key
        self.pair_chunk = int(pair_chunk)

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        """Store each group's feature, key, counters and label (if any)."""
        for i, ds in enumerate(data_samples):
            self.results.append(
                _collect(ds, i, [self.group_key], [self.label_key]))

    def _resolve(self) -> Tuple[Tuple[str, ...], Tuple[float, ...], float]:
        """Protocols, FARs and FPR: arguments first, then the meta."""
        proto = dict((self.dataset_meta or {}).get('protocol') or {})
        if self.protocols is not None:
            names = self.protocols
        elif 'type' in proto:
            names = _protocol_names(proto['type'])
        else:
            raise KeyError('GroupVerificationMetric: pass `protocols` or give '
                           "the data set a metainfo['protocol'] dict with a "
                           '`type`.')
        fars = self.fars or tuple(proto.get('fars', DEFAULT_FARS))
        fpr = self.fpr if self.fpr is not None else float(
            proto.get('fpr', DEFAULT_FPR))
        return names, tuple(float(f) for f in fars), fpr

    # ---------------------------------------------------------------- pairs
    def _pair_arrays(
        self
    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """(group_a keys, group_b keys, is_same, folds or None)."""
        meta = self.dataset_meta or {}
        pairs = self.pairs if self.pairs is not None else meta.get(
            self.pairs_key)
        if pairs is None:
            raise KeyError(
                f'GroupVerificationMetric: no pair list: pass `pairs` or give '
                f'the data set a `{self.pairs_key}` metainfo entry.')
        if isinstance(pairs, np.ndarray) and pairs.ndim == 2:
            cols = [pairs[:, j] for j in range(pairs.shape[1])]
        else:
            cols = [np.asarray(c) for c in zip(*pairs)] if len(pairs) else []
        if len(cols) not in (3, 4):
            raise ValueError('each pair must be (group_a, group_b, is_same[, '
                             f'fold]); got {len(cols)} fields.')
        folds = np.asarray(cols[3]) if len(cols) == 4 else None
        if folds is None and meta.get(self.folds_key) is not None:
            folds = np.asarray(meta[self.folds_key])
            if len(folds) != len(cols[0]):
                raise ValueError(f'{len(folds)} fold ids for '
                                 f'{len(cols[0])} pairs.')
        same = np.asarray(cols[2])
        if same.dtype != bool:
            same = same.astype(np.int64)
            if not np.isin(same, (0, 1)).all():
                raise ValueError('is_same (3rd pair field) must be 0/1 or '
                                 f'bool, got values {np.unique(same)[:5]}.')
            same = same.astype(bool)
        return cols[0], cols[1], same, folds

    @staticmethod
    def _rows(keys: Sequence, group_keys: list, index: Dict[Hashable, int],
              side: str) -> np.ndarray:
        """Row of every pair member; KeyError listing missing groups.

        Integer keys are matched vectorised (sorted search), so pair lists of
        millions (IJB-C) stay fast; other keys through a dict.
        """
        arr = np.asarray(keys)
        gk = np.asarray(group_keys)
        if arr.dtype.kind in 'iu' and gk.dtype.kind in 'iu':
            order = np.argsort(gk, kind='stable')
            pos = np.searchsorted(gk[order], arr).clip(max=len(gk) - 1)
            rows = np.where(gk[order][pos] == arr, order[pos], -1)
        else:
            rows = np.fromiter((index.get(_scalar(k), -1) for k in keys),
                               dtype=np.int64,
                               count=len(keys))
        if (rows < 0).any():
            missing = sorted({str(arr[i]) for i in np.flatnonzero(rows < 0)})
            raise KeyError(f'{len(missing)} groups referenced by the pairs '
                           f'({side}) were not predicted, e.g. '
                           f'{missing[:5]}.')
        return rows.astype(np.int64)

    def _pair_scores(self, feats: torch.Tensor, rows_a: np.ndarray,
                     rows_b: np.ndarray) -> np.ndarray:
        """Cosine similarity of every pair.

        Few pairs per group (YTF): gather both features of ``pair_chunk``
        pairs at a time. Dense pair sets (IJB-B/C, ``G^2 <= 256 P``): one
        similarity block ``feats[rows] @ feats.T`` per range of first groups,
        read at the pairs (no random row gathers; memory ~64 MB per block).
        """
        feats = torch.nn.functional.normalize(feats, dim=1)
        a, b = torch.from_numpy(rows_a), torch.from_numpy(rows_b)
        num_groups, num_pairs = feats.shape[0], a.numel()
        if num_groups * num_groups > self._dense_factor * num_pairs:
            c = self.pair_chunk
            out = [
                torch.einsum('nd,nd->n', feats[a[i:i + c]], feats[b[i:i + c]])
                for i in range(0, num_pairs, c)
            ]
            return torch.cat(out).double().numpy()
        out = torch.empty(num_pairs, dtype=feats.dtype)
        order = torch.argsort(a, stable=True)
        a_sorted = a[order]
        step = max(1, (1 << 24) // num_groups)
        for start in range(0, num_groups, step):
            bounds = torch.searchsorted(a_sorted,
                                        torch.tensor([start, start + step]))
            idx = order[int(bounds[0]):int(bounds[1])]
            if idx.numel():
                sim = feats[start:start + step] @ feats.t()
                out[idx] = sim[a[idx] - start, b[idx]]
        return out.double().numpy()

    # -------------------------------------------------------------- compute
    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Scores of the pairs, then each protocol."""
        logger = MMLogger.get_current_instance()
        if not results:
            raise ValueError('GroupVerificationMetric got no results.')
        keys = [r[self.group_key] for r in results]
        index = {k: i for i, k in enumerate(keys)}
        if len(index) != len(keys):
            raise ValueError(f'duplicate `{self.group_key}` among the '
                             'predicted groups: each group must be predicted '
                             'once.')
        feats = torch.stack([r['feature'] for r in results])
        metrics: Dict[str, float] = dict(num_groups=float(len(results)))
        metrics.update(_cost_summary(results))
        metrics.update(
            count_fallbacks([r['fallbacks'] for r in results],
                            'GroupVerificationMetric'))

        protocols, fars, fpr = self._resolve()
        pair_protocols = [p for p in protocols if p != 'all_pairs_tpr_at_fpr']
        if pair_protocols:
            ka, kb, same, folds = self._pair_arrays()
            scores = self._pair_scores(feats,
                                       self._rows(ka, keys, index, 'first'),
                                       self._rows(kb, keys, index, 'second'))
            metrics['num_pairs'] = float(len(scores))
            for p in pair_protocols:
                metrics.update(
                    self._protocol(p, scores, same, folds, fars, fpr))
        if 'all_pairs_tpr_at_fpr' in protocols:
            labels = [r[self.label_key] for r in results]
            if any(label is None for label in labels):
                raise KeyError(f'all_pairs_tpr_at_fpr needs `{self.label_key}`'
                               ' (identity) in every data sample.')
            metrics[f'all_pairs_tpr@fpr={fpr:g}'] = tpr_at_fpr_all_pairs(
                feats, np.asarray(labels), fpr)
        logger.info('group verification: ' +
                    ', '.join(f'{k}={v:.4f}' for k, v in metrics.items()))
        return metrics

    def _protocol(self, name: str, scores: np.ndarray, same: np.ndarray,
                  folds: Optional[np.ndarray], fars: Tuple[float, ...],
                  fpr: float) -> Dict[str, float]:
        """Run one pair protocol."""
        if name in ('kfold', 'tar_at_far_folds') and folds is None:
            raise KeyError(f'protocol {name!r} needs fold ids: a 4th pair '
                           f'field or dataset_meta[{self.folds_key!r}].')
        if name == 'kfold':
            res = kfold_accuracy(scores, same, folds)
            return dict(
                kfold_acc=float(res.mean), kfold_acc_std=float(res.std))
        mode = self.tar_mode or DEFAULT_TAR_MODES.get(name)
        if name == 'tar_at_far':
            tars = roc_tar_at_far(scores, same, fars, mode)
            return {f'tar@far={f:g}': float(t) for f, t in zip(fars, tars)}
        if name == 'tar_at_far_folds':
            mean, std, _, _ = roc_tar_at_far_folds(scores, same, folds, fars,
                                                   mode)
            out = {}
            for f, m, s in zip(fars, mean, std):
                out[f'tar@far={f:g}'] = float(m)
                out[f'tar@far={f:g}_std'] = float(s)
            return out
        return {f'tpr@fpr={fpr:g}': tpr_at_fpr(scores, same, fpr, mode)}


@METRICS.register_module()
class GroupReIDMetric(BaseMetric):
    """Video re-ID retrieval (MARS protocol) on fused tracklet features.

    Each data sample carries ``pred_feature`` and the fields ``pid``,
    ``camid`` and ``is_query``. Queries are the groups with ``is_query``
    true; the gallery is the others (torchreid's MARS split) or every group
    with ``query_in_gallery=True``. Distances are L2 (optionally on
    L2-normalised features); for each query, gallery entries with the same
    pid AND camera are removed (see
    :func:`mmddl.evaluation.functional.reid_evaluate`).

    With ``MARSDataset(gallery_includes_queries=True)`` the queries already
    appear a second time as gallery items (``is_query=False``): keep
    ``query_in_gallery=False`` then.

    Reports ``mAP``, ``rank{r}`` for ``ranks`` (default 1, 5, 20),
    ``num_queries``, ``num_gallery``, ``num_valid_queries``,
    ``queries_without_match`` (queries with no gallery entry of their pid
    from another camera: left out of mAP and CMC, as in torchreid; logged
    once with the count and examples), the mean ``base_images`` /
    ``ddnet_images`` per group and the number of groups that took each
    fallback (``fallback_<name>``, see :mod:`mmddl.evaluation.fallbacks`).
    A gallery entry at the same distance as a true match ranks before it
    (a tie is no hit).

    Args:
        ranks (Sequence[int]): CMC ranks to report.
        normalize (bool): L2-normalise features before the distance.
        query_in_gallery (bool): Put the queries in the gallery too.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Defaults to ``'group_reid'``.
    """

    default_prefix = 'group_reid'

    def __init__(self,
                 ranks: Sequence[int] = (1, 5, 20),
                 normalize: bool = False,
                 query_in_gallery: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not ranks or min(ranks) < 1:
            raise ValueError(f'ranks must be positive, got {ranks}.')
        self.ranks = tuple(int(r) for r in ranks)
        self.normalize = normalize
        self.query_in_gallery = query_in_gallery

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        """Store each tracklet's feature, pid, camid, is_query, counters."""
        for i, ds in enumerate(data_samples):
            self.results.append(_collect(ds, i, ('pid', 'camid', 'is_query')))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """mAP and CMC of the query/gallery split."""
        if not results:
            raise ValueError('GroupReIDMetric got no results.')
        feats = torch.stack([r['feature'] for r in results]).double()
        if self.normalize:
            feats = torch.nn.functional.normalize(feats, dim=1)
        pids = np.asarray([r['pid'] for r in results])
        cams = np.asarray([r['camid'] for r in results])
        is_q = np.asarray([bool(r['is_query']) for r in results])
        gal = np.ones_like(is_q) if self.query_in_gallery else ~is_q
        if not is_q.any() or not gal.any():
            raise ValueError(f'need queries and gallery entries; got '
                             f'{int(is_q.sum())} and {int(gal.sum())}.')
        dist = pairwise_l2(feats[is_q].numpy(), feats[gal].numpy())
        cmc, m_ap, details = reid_evaluate(
            dist,
            pids[is_q],
            pids[gal],
            cams[is_q],
            cams[gal],
            max_rank=max(self.ranks),
            return_details=True)
        metrics = dict(mAP=float(m_ap))
        metrics.update(cmc_at(cmc, self.ranks))
        skipped = np.flatnonzero(is_q)[~details['valid_query']]
        metrics.update(
            num_queries=float(is_q.sum()),
            num_gallery=float(gal.sum()),
            num_valid_queries=float(details['num_valid_queries']),
            queries_without_match=float(skipped.size))
        if skipped.size:
            examples = [(_scalar(pids[i]), _scalar(cams[i]))
                        for i in skipped[:3]]
            MMLogger.get_current_instance().warning(
                f'GroupReIDMetric: {skipped.size} of {int(is_q.sum())} '
                'queries have no gallery entry of their pid from another '
                'camera and are left out of mAP and CMC, e.g. (pid, camid) '
                f'{examples}')
        metrics.update(_cost_summary(results))
        metrics.update(
            count_fallbacks([r['fallbacks'] for r in results],
                            'GroupReIDMetric'))
        MMLogger.get_current_instance().info('group re-ID: ' + ', '.join(
            f'{k}={v:.4f}' for k, v in metrics.items()))
        return metrics
