"""DiscriminabilityHook: compute (or reuse) the D-score table before training.

It wraps :func:`~mmddl.engine.discriminability_pass.prepare_score_table`."""
import os.path as osp
from typing import Any, Callable, Dict, Mapping, Optional

import numpy as np
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import DATASETS, HOOKS

from mmddl.core.discriminability import check_metric, check_normalization
from mmddl.models.utils import (PROVENANCE_KEY, InputShapes, config_file,
                                make_provenance)
from mmddl.structures.data_sources import sample_key
from mmddl.structures.score_table import ScoreTable, dataset_fingerprint
from ..base_model import base_model_cfg, build_base_model, model_device
from ..candidates import (candidate_dataset_cfg, check_labels,
                          head_num_classes, iter_datasets, iter_transforms,
                          train_dataset_cfg)
from ..discriminability_pass import ON_STALE, prepare_score_table
from ..feature_store import check_verify
from ..held_out_val_loop import HeldOutValLoop
from ..train_batches import check_train_batches
from .discriminability_settings import fill_group, flat_arguments_error


#: ``dscore.identities``: the base's own classes, or identities it never saw
IDENTITIES = ('base', 'held_out')


@HOOKS.register_module()
class DiscriminabilityHook(Hook):
    """Compute the D-score table of the training set with a base model.

    The table goes to the scored transforms of the train pipeline and of a
    :class:`~mmddl.engine.held_out_val_loop.HeldOutValLoop`'s pipeline
    (held-out samples the pass skipped are left out of validation, logged);
    its statistics go to ``message_hub`` and, as scalars and a D-score
    histogram image, to the runner's visualizer. Every checkpoint of the
    DDNet gets its provenance in ``meta['ddl_provenance']``: the base
    checkpoint's SHA-256, the table's file hash and fingerprint, the input
    shapes the DDNet was trained on and the D-score variant (metric,
    normalization), which the test-time wrappers check
    (:class:`~mmddl.models.utils.ProvenanceCheck`).

    Its settings come in five groups, as mmengine hooks take theirs; a key
    a group leaves out gets the default below, a key it does not have
    raises ValueError naming the key, the group and the allowed keys::

        custom_hooks = [
            dict(type='DiscriminabilityHook',
                 base=dict(config='base_config.py', checkpoint='base.pth',
                           stage='pre_logits'),
                 candidates=dict(pipeline=[dict(type='PackInputs')],
                                 batch_size=256, num_workers=4),
                 dscore=dict(normalization='class'))
        ]

    On the command line: ``--cfg-options custom_hooks.0.base.checkpoint=X``.

    Args:
        base (dict): the frozen base model whose features give D. Keys:

            - ``config`` (str | dict | None), required: its config, a file
              (in a config write ``'{{ fileDirname }}/x.py'``), a package
              path (``'mmaction::...'``), a full config with ``model`` (and
              ``default_scope``) or a model config; None: the config saved
              in the checkpoint's meta.
            - ``checkpoint`` (str), required: its weights (loaded strictly).
            - ``scope`` (str, optional): its registry scope when ``config``
              names none; default: the runner's.
            - ``stage`` (str): the ``extract_feat`` stage giving the
              features; default ``'neck'``.
        candidates (dict): the candidate elements of every training sample
            and how they are loaded. Keys:

            - ``pipeline`` (list[dict]), required: transforms producing
              every candidate element of a sample, ending with a Pack
              transform.
            - ``ann_file`` (str, optional): data list; default: the train
              dataset's.
            - ``data_prefix`` (dict, optional): default: the train
              dataset's.
            - ``dataset_type`` (str | type, optional): default: the train
              dataset's.
            - ``dataset_kwargs`` (dict, optional): extra dataset arguments.
            - ``batch_size`` (int): samples per batch of the pass; default 1.
            - ``num_workers`` (int): dataloader workers of the pass;
              default 0.
        dscore (dict, optional): the D-score the table holds. Keys:

            - ``metric`` (str): ``'cosine'`` (default) or ``'euclidean'``
              (Eq. 2-3).
            - ``normalization`` (str): how raw D becomes the D-score
              target: ``'global'`` (default; Eq. 4 over the whole training
              set, the paper) or ``'class'`` (Eq. 4 within each class: the
              target ranks an element among its own class only;
              docs/face_reid.md).
            - ``num_classes`` (int, optional): K; default ``max(label) + 1``.
            - ``identities`` (str): whose classes the labels are:
              ``'base'`` (default: the base's own training classes; a
              label >= the base head's ``num_classes`` raises) or
              ``'held_out'`` (identities the base never saw, e.g. other
              persons than its training set's, so that D measures how the
              base generalises; C_m are the centroids of these identities,
              and the base head's size does not bound their labels).
        table (dict, optional): where the table goes and when one there is
            reused. Keys:

            - ``file`` (str, optional): default
              ``<work_dir>/dscore_table.npz``.
            - ``reuse`` (bool): reuse a matching table (default True; a
              stale one raises ``StaleScoreTableError``); False recomputes.
            - ``on_stale`` (str): ``'error'`` (default: a stale table -
              other data list, sample files, checkpoint or settings - or an
              unreadable one raises, naming what differs) or
              ``'recompute'`` (logged and recomputed). Either way, a table
              whose failed samples load now (or whose files changed) is
              recomputed.
        compute (dict, optional): how the pass runs; none of these changes
            a D-score. Keys:

            - ``device`` (str, optional): default: the model's.
            - ``progress`` (bool): log progress with ETA (rank 0); default
              True.
            - ``chunk_size`` (int): feature rows scored at a time; default
              4096.
            - ``sim_dtype`` (str): dtype of the hardest-negative search; D
              is exact whatever it is (see ``docs/benchmarks.md``); default
              ``'float32'``.
            - ``feature_dir`` (str, optional): feature store of the pass
              (keep it to resume a killed pass); default
              ``<work_dir>/dscore_features``.
            - ``shard_size`` (int): samples per shard (the resume unit);
              default 1000.
            - ``keep_features`` (bool): keep the feature store after the
              table is saved; default False.
            - ``verify`` (str): how a finished feature shard of an earlier,
              killed run is checked before reuse: ``'sha256'`` (default:
              contents, about 0.2 s per 276 MB shard) or ``'size'``.
        **kwargs: none is taken: an argument outside the groups (such as
            the flat ``base_checkpoint=`` of earlier versions) raises
            TypeError saying which group key it is.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 base: Optional[Mapping[str, Any]] = None,
                 candidates: Optional[Mapping[str, Any]] = None,
                 dscore: Optional[Mapping[str, Any]] = None,
                 table: Optional[Mapping[str, Any]] = None,
                 compute: Optional[Mapping[str, Any]] = None,
                 **kwargs) -> None:
        if kwargs:
            raise flat_arguments_error(kwargs)
        base = fill_group('base', base)
        candidates = fill_group('candidates', candidates)
        dscore = fill_group('dscore', dscore)
        table = fill_group('table', table)
        compute = fill_group('compute', compute)
        if not candidates['pipeline']:
            raise ValueError('DiscriminabilityHook: candidates.pipeline must '
                             'list the transforms producing the candidate '
                             'elements')
        if compute['shard_size'] < 1:
            raise ValueError('DiscriminabilityHook: compute.shard_size must '
                             f'be >= 1, got {compute["shard_size"]}')
        if table['on_stale'] not in ON_STALE:
            raise ValueError('DiscriminabilityHook: table.on_stale must be '
                             f'one of {ON_STALE}, got {table["on_stale"]!r}')
        dscore['metric'] = _checked('dscore', check_metric, dscore['metric'])
        dscore['normalization'] = _checked('dscore', check_normalization,
                                           dscore['normalization'])
        if dscore['identities'] not in IDENTITIES:
            raise ValueError('DiscriminabilityHook: dscore.identities must '
                             f'be one of {IDENTITIES}, got '
                             f'{dscore["identities"]!r}')
        compute['verify'] = _checked('compute', check_verify,
                                     compute['verify'])
        if isinstance(base['config'], str):
            # a missing file fails now
            config_file(base['config'], 'base.config')
        candidates['pipeline'] = list(candidates['pipeline'])
        candidates['dataset_kwargs'] = dict(candidates['dataset_kwargs'] or {})
        # the filled groups, as given (read by before_train)
        self.settings = dict(
            base=base,
            candidates=candidates,
            dscore=dscore,
            table=table,
            compute=compute)
        self.num_computed = 0  # tables computed by this hook (not reused)
        self.table_file: Optional[str] = None
        # provenance of the DDNet's checkpoints (rank 0) and its inputs
        self.provenance: Optional[Dict[str, Any]] = None
        self.input_shapes = InputShapes()
        self._inputs_hook = None

    def before_train(self, runner) -> None:
        """Prepare the table (all ranks), then hand it to the transforms."""
        check_train_batches(runner)  # before any model runs
        base, cands = self.settings['base'], self.settings['candidates']
        dscore, compute = self.settings['dscore'], self.settings['compute']
        table_cfg = self.settings['table']
        out_file = table_cfg['file'] or osp.join(runner.work_dir,
                                                 'dscore_table.npz')
        ds_cfg = candidate_dataset_cfg(
            train_dataset_cfg(runner),
            cands['pipeline'],
            dataset_type=cands['dataset_type'],
            ann_file=cands['ann_file'],
            data_prefix=cands['data_prefix'],
            dataset_kwargs=cands['dataset_kwargs'])
        scope = runner.default_scope.scope_name \
            if runner.default_scope is not None else None
        model_cfg, scope = base_model_cfg(base['config'], base['scope']
                                          or scope, base['checkpoint'],
                                          'base.config')
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        device = compute['device'] or model_device(model)
        bounds = {
            "the base head's num_classes": (head_num_classes(model_cfg)
                                            if dscore['identities'] == 'base'
                                            else None),
            "the hook's dscore.num_classes": dscore['num_classes']
        }
        bounds = {k: v for k, v in bounds.items() if v is not None}
        args = dict(
            metric=dscore['metric'],
            normalization=dscore['normalization'],
            batch_size=cands['batch_size'],
            num_workers=cands['num_workers'],
            row_chunk=compute['chunk_size'],
            num_classes=dscore['num_classes'],
            stage=base['stage'],
            shard_size=compute['shard_size'],
            search_dtype=compute['sim_dtype'],
            progress=compute['progress'],
            verify=compute['verify'],
            label_bounds=bounds)

        def fingerprint(dataset):
            return dataset_fingerprint(
                dataset,
                base['checkpoint'],
                cands['dataset_kwargs'],
                metric=dscore['metric'],
                candidate_pipeline=cands['pipeline'],
                base_model=dict(model=model_cfg, scope=scope),
                num_classes=args['num_classes'],
                stage=args['stage'],
                sim_dtype=args['search_dtype'],
                # recorded only when not the paper's, so that tables of
                # earlier versions stay valid
                **({} if dscore['normalization'] == 'global' else dict(
                    normalization=dscore['normalization'])))

        def check(dataset):
            if not check_labels(dataset, bounds) and len(dataset):
                runner.logger.warning(
                    'DiscriminabilityHook: the sample infos carry no label; '
                    'labels are checked against the base head after '
                    'feature extraction')

        table, reused = prepare_score_table(
            out_file,
            lambda: DATASETS.build(ds_cfg),
            fingerprint,
            lambda: build_base_model(model_cfg, scope, base['checkpoint'],
                                     device),
            compute['feature_dir']
            or osp.join(runner.work_dir, 'dscore_features'),
            table_cfg['reuse'],
            compute['keep_features'],
            table_cfg['on_stale'],
            check,
            device=device,
            **args)
        self.num_computed += not reused
        if table is not None:  # rank 0
            self._log_table(runner, table, out_file, reused)
            self._visualize_table(runner, table)
            self.provenance = make_provenance(
                base['checkpoint'], table.fingerprint.get('checkpoint_sha256'),
                out_file, table, self.input_shapes)
        if self._inputs_hook is None:
            self._inputs_hook = self.input_shapes.attach(model)
        self.table_file = out_file
        _restart_started_workers(runner, out_file)
        n = _set_table(runner.train_dataloader.dataset, out_file)
        if n == 0:
            runner.logger.warning(
                'DiscriminabilityHook: no transform with set_table() '
                '(SampleScoredClips / LoadDScore) in the train pipeline; the '
                'table is computed but nothing reads it')
        runner.logger.info(f'DiscriminabilityHook: D-score table handed to '
                           f'{n} transform(s) of the train pipeline')
        self._prepare_val(runner, out_file,
                          table if table is not None else None)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Write the DDNet's provenance into ``checkpoint['meta']`` (see
        :func:`~mmddl.models.utils.make_provenance`), with the input shapes
        seen in training so far."""
        if self.provenance is None:
            return
        prov = dict(self.provenance, ddnet_input=self.input_shapes.to_dict())
        checkpoint.setdefault('meta', {})[PROVENANCE_KEY] = prov

    def _log_table(self, runner, table: ScoreTable, path: str,
                   reused: bool) -> None:
        stats = dict(
            num_elements=len(table),
            num_samples=table.num_samples,
            num_skipped=len(table.skipped),
            mean=table.mean,
            std=table.std,
            reused=reused,
            table_file=path)
        for k, v in stats.items():
            runner.message_hub.update_info(f'dscore/{k}', v)
        runner.logger.info(
            f'DiscriminabilityHook: {"reusing" if reused else "computed"} '
            f'{path}: {len(table)} elements of {table.num_samples} samples, '
            f'{len(table.skipped)} skipped, raw D mean={table.mean:.4f} '
            f'std={table.std:.4f}, metric={table.metric}, '
            f'normalization={table.info.get("normalization", "global")}')
        for s in table.skipped:
            runner.logger.warning(f'DiscriminabilityHook: skipped '
                                  f'{s["key"]}: {s["reason"]}')

    def _visualize_table(self, runner, table: ScoreTable) -> None:
        """The table's statistics as scalars and its D-score histogram as
        an image, through the runner's visualizer (its backends: local,
        TensorBoard ...)."""
        from mmddl.visualization.histograms import dscore_histogram_image
        vis = getattr(runner, 'visualizer', None)
        if vis is None:  # a runner-like object without one
            return
        d = np.asarray(table.dscores, dtype=np.float64)
        scalars = {
            'dscore/raw_mean': float(table.mean),
            'dscore/raw_std': float(table.std),
            'dscore/num_elements': len(table),
            'dscore/num_samples': table.num_samples,
            'dscore/num_skipped': len(table.skipped)
        }
        if d.size:
            for q in (5, 25, 50, 75, 95):
                scalars[f'dscore/q{q:02d}'] = float(np.percentile(d, q))
            scalars['dscore/mean'] = float(d.mean())
        vis.add_scalars(scalars, step=0)
        if d.size:
            image = dscore_histogram_image(
                d,
                raw=table.raw,
                title=f'{len(table)} elements of '
                f'{table.num_samples} samples')
            vis.add_image('dscore_histogram', image, step=0)

    def _prepare_val(self, runner, path: str,
                     table: Optional[ScoreTable]) -> None:
        """Hand the table to the val pipeline; drop held-out samples the
        pass skipped from the val sampler (logged: they have no target)."""
        loop = getattr(runner, 'val_loop', None)
        if loop is None:
            return
        loader = loop.dataloader
        n = _set_table(loader.dataset, path)
        if not isinstance(loop, HeldOutValLoop):
            return
        if n == 0:
            raise ValueError(
                'DiscriminabilityHook: the val pipeline of HeldOutValLoop has '
                'no transform with set_table() (SampleScoredClips / '
                'LoadDScore): the held-out elements would have no target')
        table = table if table is not None else ScoreTable.load(path)
        skipped = {s['key']: s['reason'] for s in table.skipped}
        sampler = loader.sampler
        if skipped and hasattr(sampler, 'exclude'):
            ds = loader.dataset
            drop = [
                i for i in sampler.indices
                if sample_key(ds.get_data_info(i)) in skipped
            ]
            if drop:
                sampler.exclude(drop, 'skipped by the D-score pass')
                runner.logger.warning(
                    f'DiscriminabilityHook: {len(drop)} held-out sample(s) '
                    'were skipped by the D-score pass and are left out of '
                    'validation, e.g. ' +
                    sample_key(ds.get_data_info(drop[0])))
        runner.logger.info(
            f'DiscriminabilityHook: D-score table handed to {n} '
            f'transform(s) of the val pipeline ({len(sampler)} held-out '
            'samples)')


def _checked(group: str, check: Callable[[Any], Any], value: Any) -> Any:
    """``check(value)``, its ValueError naming the group of the key."""
    try:
        return check(value)
    except ValueError as err:
        raise ValueError(f'DiscriminabilityHook: {group}.{err}') from None


def _set_table(dataset: Any, path: str) -> int:
    """``set_table(path)`` on every scored transform of ``dataset``.

    Returns:
        int: how many transforms got the table.
    """
    n = 0
    for ds in iter_datasets(dataset):
        for t in iter_transforms(getattr(ds, 'pipeline', None)):
            if callable(getattr(t, 'set_table', None)):
                t.set_table(path)
                n += 1
    return n


def _restart_started_workers(runner, path: str) -> None:
    """Rebuild a train dataloader whose workers started before the table.

    ``IterBasedTrainLoop`` iterates its dataloader when it is built, before
    any hook runs, so with ``num_workers > 0`` the workers hold the train
    pipeline without the table. The loader is rebuilt from the config with
    the public ``Runner.build_dataloader`` and given the table before its
    workers start; dropping the old one stops its workers.
    """
    loop = runner.train_loop
    it = getattr(loop, 'dataloader_iterator', None)
    if it is None or getattr(loop.dataloader, 'num_workers', 0) == 0:
        return
    cfg = runner.cfg.get('train_dataloader')
    if cfg is None:
        raise RuntimeError(
            'DiscriminabilityHook: the iteration-based train loop started '
            'its dataloader workers before the D-score table existed and '
            'no train_dataloader config is available to rebuild it; use '
            'num_workers=0 or pass train_dataloader as a config')
    loader = runner.build_dataloader(
        cfg,
        seed=runner.seed,
        diff_rank_seed=runner.cfg.get('randomness',
                                      {}).get('diff_rank_seed', False))
    _set_table(loader.dataset, path)
    loop.dataloader, loop.dataloader_iterator = loader, type(it)(loader)
    runner.logger.info('DiscriminabilityHook: rebuilt the train dataloader '
                       'so its workers see the D-score table')
