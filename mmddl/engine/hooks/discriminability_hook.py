"""DiscriminabilityHook: compute (or reuse) the D-score table before training.

Before training (``before_train``) the hook

1. builds the candidate dataset: the runner's train dataset config (or
   ``dataset_type`` / ``ann_file`` / ``data_prefix`` / ``dataset_kwargs``)
   with ``pipeline=candidate_pipeline`` and ``test_mode=True``, in the
   runner's default scope;
2. fingerprints it (data list contents, base checkpoint contents, candidate
   settings, metric) and, when ``out_file`` exists and ``reuse=True``, reuses
   the table if the fingerprint matches or raises ``StaleScoreTableError``;
3. otherwise builds the base model from ``base_config`` in that config's own
   default scope, loads ``base_checkpoint`` and runs the sharded
   discriminability pass (:mod:`mmddl.engine.sharded_pass`): under
   ``tools/dist_train.sh`` / ``tools/slurm_train.sh`` every rank extracts the
   features of its shards, centroids come from all-reduced sums, rank 0
   writes the table atomically while the other ranks wait. Features go to
   ``feature_dir`` shard by shard, so a killed pass, rerun, continues from
   its finished shards (with any number of processes); the store is deleted
   once the table is saved unless ``keep_features=True``;
4. hands the table path to every transform with a ``set_table`` method
   (``SampleScoredClips``, ``LoadDScore``) in the train dataset's pipeline,
   nested datasets (RepeatDataset, ConcatDataset, ...) included, and restarts
   dataloader workers that were started before the table existed.
"""
import copy
import os.path as osp
import shutil
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

import torch
from mmengine.config import Config
from mmengine.dist import barrier
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import DATASETS, HOOKS, MODELS, DefaultScope
from mmengine.runner import load_checkpoint

from ..discriminability_pass import (build_candidate_loader,
                                     compute_score_table, ensure_meta_keys)
from ..distributed import broadcast_object, dist_info
from mmddl.structures.score_table import ScoreTable, StaleScoreTableError, make_fingerprint
from ..sharded_pass import DEFAULT_SHARD_SIZE

_WRAPPER_KEYS = ('dataset', 'datasets')


@HOOKS.register_module()
class DiscriminabilityHook(Hook):
    """Compute the D-score table of the training set with a base model.

    Args:
        base_config: path or dict of the base model's config (an mmaction2
            recognizer or mmpretrain classifier): a full config with
            ``model`` (and ``default_scope``), or a model config dict.
        base_checkpoint: the base model's trained weights.
        candidate_pipeline: transforms producing every candidate element of a
            sample, e.g. ``DecordInit, SampleFrames(num_clips=N,
            test_mode=True), DecordDecode, Resize, CenterCrop, FormatShape,
            PackActionInputs``. The Pack transform's ``meta_keys`` are
            extended with what the pass needs.
        ann_file: data list; defaults to the runner's train dataset's.
        data_prefix: defaults to the runner's train dataset's.
        dataset_type: defaults to the runner's train dataset's type.
        dataset_kwargs: extra dataset arguments (override the train ones).
        base_scope: default scope for building the base model when
            ``base_config`` has no ``default_scope`` (default: the runner's).
        batch_size: samples per batch of the pass.
        num_workers: dataloader workers of the pass.
        metric: ``'cosine'`` or ``'euclidean'`` (Eq. 2-3).
        chunk_size: see ``mmddl.core.discriminability``.
        num_classes: K; defaults to ``max(label) + 1``.
        stage: ``extract_feat`` stage giving the features.
        out_file: table path; default ``<work_dir>/dscore_table.npz``.
        reuse: reuse a matching existing table (a stale one raises
            ``StaleScoreTableError``); False recomputes and overwrites.
        strict: strict checkpoint loading.
        device: device of the pass; default: the runner model's device.
        progress: show a progress bar.
        feature_dir: feature store of the sharded pass; default
            ``<work_dir>/dscore_features`` (on a shared file system for
            multi-node runs to resume any shard on any rank).
        shard_size: samples per shard (the resume unit; keep it between a
            run and its resume).
        sim_dtype: dtype of the hardest-negative search (``'float32'``;
            ``'float16'`` / ``'bfloat16'`` on a GPU, see
            ``docs/benchmarks.md`` for their deviation); positives, the
            chosen negative and the ratio are float64.
        keep_features: keep the feature store after the table is saved.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 base_config: Union[str, Dict],
                 base_checkpoint: str,
                 candidate_pipeline: Sequence[Any],
                 ann_file: Optional[str] = None,
                 data_prefix: Optional[Dict[str, str]] = None,
                 dataset_type: Optional[Union[str, type]] = None,
                 dataset_kwargs: Optional[Dict[str, Any]] = None,
                 base_scope: Optional[str] = None,
                 batch_size: int = 1,
                 num_workers: int = 0,
                 metric: str = 'cosine',
                 chunk_size: int = 4096,
                 num_classes: Optional[int] = None,
                 stage: str = 'neck',
                 out_file: Optional[str] = None,
                 reuse: bool = True,
                 strict: bool = True,
                 device: Optional[str] = None,
                 progress: bool = True,
                 feature_dir: Optional[str] = None,
                 shard_size: int = DEFAULT_SHARD_SIZE,
                 sim_dtype: str = 'float32',
                 keep_features: bool = False) -> None:
        if metric not in ('cosine', 'euclidean'):
            raise ValueError(f"metric must be 'cosine' or 'euclidean', got "
                             f'{metric!r}')
        if not candidate_pipeline:
            raise ValueError('candidate_pipeline must list the transforms '
                             'producing the candidate elements')
        self.base_config = base_config
        self.base_checkpoint = base_checkpoint
        self.candidate_pipeline = list(candidate_pipeline)
        self.ann_file = ann_file
        self.data_prefix = data_prefix
        self.dataset_type = dataset_type
        self.dataset_kwargs = dict(dataset_kwargs or {})
        self.base_scope = base_scope
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.metric = metric
        self.chunk_size = chunk_size
        self.num_classes = num_classes
        self.stage = stage
        self.out_file = out_file
        self.reuse = reuse
        self.strict = strict
        self.device = device
        self.progress = progress
        if shard_size < 1:
            raise ValueError(f'shard_size must be >= 1, got {shard_size}')
        self.feature_dir = feature_dir
        self.shard_size = shard_size
        self.sim_dtype = sim_dtype
        self.keep_features = keep_features
        self.num_computed = 0  # tables computed by this hook (not reused)
        self.table_file: Optional[str] = None

    # ------------------------------------------------------------ main flow
    def before_train(self, runner) -> None:
        """Prepare the table (all ranks), then hand it to the transforms."""
        out_file = self.out_file or osp.join(runner.work_dir,
                                             'dscore_table.npz')
        table, reused = self.prepare_table(runner, out_file)
        if table is not None:  # rank 0
            self._log_table(runner, table, out_file, reused)
        barrier()
        self.table_file = out_file
        n = self.attach_table(runner, out_file)
        runner.logger.info(f'DiscriminabilityHook: D-score table handed to '
                           f'{n} transform(s) of the train pipeline')

    def prepare_table(self, runner, out_file: str):
        """Reuse a matching table or compute a new one (call on every rank).

        Rank 0 decides (reuse / recompute / stale table) and tells the other
        ranks, so they all raise together or all run the pass.

        Returns:
            ``(table, reused)``; ``table`` is None on ranks other than 0.
        """
        rank, _ = dist_info()
        message, error, local = None, None, (None, None)
        if rank == 0:
            try:
                kind, table, fingerprint, dataset = self._decide(runner,
                                                                 out_file)
                # only what the other ranks need travels (never the table)
                message = (kind, fingerprint)
                local = (table, dataset)
            except Exception as e:  # re-raised below, on every rank
                error = e
                message = ('error', f'{type(e).__name__}\0{e}')
        message = broadcast_object(message)
        if message[0] == 'error':
            if error is not None:
                raise error
            name, text = message[1].split('\0', 1)
            cls = StaleScoreTableError if name == 'StaleScoreTableError' \
                else RuntimeError
            raise cls(f'(from rank 0) {text}')
        if message[0] == 'reuse':
            return local[0], True
        return self.compute_table(runner, out_file, message[1],
                                  local[1]), False

    def _decide(self, runner, out_file: str) -> tuple:
        """Rank 0: ``(kind, table, fingerprint, dataset)``, kind ``'reuse'``
        (a matching table) or ``'compute'``."""
        dataset = DATASETS.build(self.candidate_dataset_cfg(runner))
        fingerprint = self.fingerprint(dataset)
        if osp.exists(out_file):
            if self.reuse:
                # raises StaleScoreTableError if anything differs
                return ('reuse', ScoreTable.load(out_file, fingerprint),
                        fingerprint, None)
            runner.logger.info(f'DiscriminabilityHook: reuse=False, '
                               f'recomputing {out_file}')
        return 'compute', None, fingerprint, dataset

    def compute_table(self, runner, out_file: str,
                      fingerprint: Dict[str, Any],
                      dataset: Any = None) -> Optional[ScoreTable]:
        """Run the (sharded, resumable) pass on every rank; rank 0 saves.

        Args:
            runner: the runner.
            out_file: where rank 0 saves the table.
            fingerprint: the table's fingerprint.
            dataset: the candidate dataset if already built (else built).

        Returns:
            The table on rank 0, None elsewhere.
        """
        rank, _ = dist_info()
        if dataset is None:
            dataset = DATASETS.build(self.candidate_dataset_cfg(runner))
        model = self.build_base_model(runner)
        loader = build_candidate_loader(dataset, self.batch_size,
                                        self.num_workers)
        feature_dir = self.feature_dir or osp.join(runner.work_dir,
                                                   'dscore_features')
        table = compute_score_table(model, loader, metric=self.metric,
                                    chunk_size=self.chunk_size,
                                    fingerprint=fingerprint,
                                    num_classes=self.num_classes,
                                    stage=self.stage, progress=self.progress,
                                    feature_dir=feature_dir,
                                    shard_size=self.shard_size,
                                    sim_dtype=self.sim_dtype,
                                    out_file=out_file)  # waits for rank 0
        self.num_computed += 1
        if not self.keep_features:
            # every rank removes what it can see (node-local stores too)
            shutil.rmtree(feature_dir, ignore_errors=True)
        del model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return table if rank == 0 else None

    # ------------------------------------------------------------- pieces
    def candidate_dataset_cfg(self, runner) -> Dict[str, Any]:
        """The candidate dataset config (see the class docstring)."""
        train_cfg = _train_dataset_cfg(runner)
        if self.dataset_type is not None and (
                train_cfg is None or self.dataset_type != train_cfg['type']):
            cfg = dict(type=self.dataset_type)
        elif train_cfg is not None:
            cfg = copy.deepcopy(train_cfg)
        else:
            raise ValueError('DiscriminabilityHook: cannot find the train '
                             'dataset config; pass dataset_type, ann_file '
                             'and data_prefix')
        cfg.update(copy.deepcopy(self.dataset_kwargs))
        if self.ann_file is not None:
            cfg['ann_file'] = self.ann_file
        if self.data_prefix is not None:
            cfg['data_prefix'] = copy.deepcopy(self.data_prefix)
        cfg['pipeline'] = ensure_meta_keys(self.candidate_pipeline)
        cfg['test_mode'] = True  # a failing sample must not be replaced
        cfg['lazy_init'] = False
        return cfg

    def fingerprint(self, dataset) -> Dict[str, Any]:
        """Fingerprint of the data list, checkpoint and settings."""
        ann_file = getattr(dataset, 'ann_file', None)
        prefix = getattr(dataset, 'data_prefix', None) or {}
        if not ann_file:  # folder-based datasets: fingerprint the folder
            ann_file = next((p for p in prefix.values() if p and osp.isdir(p)),
                            None)
        if not ann_file:
            raise ValueError('DiscriminabilityHook: the candidate dataset has '
                             'neither an ann_file nor a data folder to '
                             'fingerprint')
        model_cfg, scope = self._base_model_cfg(None)
        return make_fingerprint(
            ann_file, self.base_checkpoint, metric=self.metric,
            candidate_pipeline=self.candidate_pipeline,
            dataset=dict(type=type(dataset), data_prefix=prefix,
                         kwargs=self.dataset_kwargs),
            base_model=dict(model=model_cfg, scope=scope),
            num_classes=self.num_classes, stage=self.stage,
            sim_dtype=self.sim_dtype)

    def _base_model_cfg(self, runner) -> tuple:
        cfg = self.base_config
        if isinstance(cfg, str):
            cfg = Config.fromfile(cfg)
        cfg = cfg.to_dict() if hasattr(cfg, 'to_dict') else copy.deepcopy(
            dict(cfg))
        scope = cfg.get('default_scope', self.base_scope)
        model_cfg = cfg['model'] if 'model' in cfg else cfg
        model_cfg = model_cfg.to_dict() if hasattr(model_cfg, 'to_dict') \
            else dict(model_cfg)
        model_cfg.pop('default_scope', None)
        if scope is None and runner is not None:
            scope = runner.default_scope.scope_name \
                if runner.default_scope is not None else None
        if 'type' not in model_cfg:
            raise ValueError('DiscriminabilityHook: base_config has no model '
                             'type')
        return model_cfg, scope

    def build_base_model(self, runner) -> torch.nn.Module:
        """Build the base model in its own scope and load its checkpoint."""
        model_cfg, scope = self._base_model_cfg(runner)
        with DefaultScope.overwrite_default_scope(scope):
            model = MODELS.build(model_cfg)
        load_checkpoint(model, self.base_checkpoint, map_location='cpu',
                        strict=self.strict, logger='current')
        device = self.device or _model_device(runner.model)
        return model.to(device).eval()

    def attach_table(self, runner, path: str) -> int:
        """``set_table(path)`` on every scored transform of the train data.

        Returns:
            How many transforms got the table.
        """
        loader = runner.train_dataloader
        n = 0
        for ds in _iter_datasets(loader.dataset):
            for t in _iter_transforms(getattr(ds, 'pipeline', None)):
                if callable(getattr(t, 'set_table', None)):
                    t.set_table(path)
                    n += 1
        if n == 0:
            runner.logger.warning(
                'DiscriminabilityHook: no transform with set_table() '
                '(SampleScoredClips / LoadDScore) in the train pipeline; the '
                'table is computed but nothing reads it')
        _restart_started_workers(runner)
        return n

    def _log_table(self, runner, table: ScoreTable, path: str,
                   reused: bool) -> None:
        hub = runner.message_hub
        stats = dict(num_elements=len(table), num_samples=table.num_samples,
                     num_skipped=len(table.skipped), mean=table.mean,
                     std=table.std, reused=reused, table_file=path)
        for k, v in stats.items():
            hub.update_info(f'dscore/{k}', v)
        verb = 'reusing' if reused else 'computed'
        runner.logger.info(
            f'DiscriminabilityHook: {verb} {path}: {len(table)} elements of '
            f'{table.num_samples} samples, {len(table.skipped)} skipped, raw '
            f'D mean={table.mean:.4f} std={table.std:.4f}, metric='
            f'{table.metric}')
        for s in table.skipped:
            runner.logger.warning(f'DiscriminabilityHook: skipped '
                                  f'{s["key"]}: {s["reason"]}')


def _train_dataset_cfg(runner) -> Optional[Dict[str, Any]]:
    """The innermost train dataset config (unwrapping dataset wrappers)."""
    cfg = (runner.cfg.get('train_dataloader') or {}).get('dataset')
    if cfg is None:
        ds = runner.train_dataloader.dataset
        ds = next(d for d in _iter_datasets(ds)
                  if not any(hasattr(d, k) for k in _WRAPPER_KEYS))
        return dict(type=type(ds), ann_file=getattr(ds, 'ann_file', ''),
                    data_prefix=getattr(ds, 'data_prefix', {}))
    cfg = cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)
    while isinstance(cfg, dict) and any(k in cfg for k in _WRAPPER_KEYS) \
            and 'ann_file' not in cfg:
        if 'dataset' in cfg:
            cfg = cfg['dataset']
        elif len(cfg['datasets']) == 1:
            cfg = cfg['datasets'][0]
        else:
            raise ValueError(
                'DiscriminabilityHook: the train dataset concatenates '
                f'{len(cfg["datasets"])} datasets; pass dataset_type, '
                'ann_file and data_prefix explicitly')
    return dict(cfg)


def _iter_datasets(ds, seen=None) -> Iterator[Any]:
    """The dataset and every dataset nested in it (wrappers included)."""
    seen = set() if seen is None else seen
    if ds is None or id(ds) in seen:
        return
    seen.add(id(ds))
    yield ds
    inner = getattr(ds, 'dataset', None)
    if inner is not None:
        yield from _iter_datasets(inner, seen)
    for d in getattr(ds, 'datasets', None) or []:
        yield from _iter_datasets(d, seen)


def _iter_transforms(obj, depth: int = 0) -> Iterator[Any]:
    """Transforms of a pipeline, recursing into nested ``transforms``."""
    if obj is None or depth > 8:
        return
    if isinstance(obj, (list, tuple)):
        for t in obj:
            yield from _iter_transforms(t, depth + 1)
        return
    yield obj
    inner: List[Any] = getattr(obj, 'transforms', None) or []
    if isinstance(inner, (list, tuple)):
        for t in inner:
            yield from _iter_transforms(t, depth + 1)


def _model_device(model) -> torch.device:
    if is_model_wrapper(model):
        model = model.module
    param = next(iter(model.parameters()), None)
    return param.device if param is not None else torch.device('cpu')


def _restart_started_workers(runner) -> None:
    """Restart train dataloader workers forked before the table was set.

    ``IterBasedTrainLoop`` creates its dataloader iterator (and with
    ``num_workers > 0`` forks the workers, which already prefetch) when it is
    built, i.e. before ``before_train``; persistent workers are kept by the
    DataLoader itself. Either would keep transforms without the table.
    """
    loop = runner.train_loop
    loader = loop.dataloader
    if getattr(loader, 'num_workers', 0) == 0:
        return
    old = getattr(loader, '_iterator', None)  # persistent workers
    if old is not None:
        shutdown = getattr(old, '_shutdown_workers', None)
        if shutdown is not None:
            shutdown()
        loader._iterator = None
    it = getattr(loop, 'dataloader_iterator', None)
    if it is not None:
        inner = getattr(it, '_iterator', None)
        shutdown = getattr(inner, '_shutdown_workers', None)
        if shutdown is not None:
            shutdown()
        loop.dataloader_iterator = type(it)(loader)
        print_log('DiscriminabilityHook: restarted the train dataloader '
                  'workers so they see the D-score table', logger='current')
