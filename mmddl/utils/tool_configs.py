"""The configs ``tools/train.py`` and ``tools/test.py`` run: a config merged
with their options, as functions (the tools, the sweep and the demos)."""
import os.path as osp
from typing import Optional

#: DDL wrapper model types (their positional checkpoint is the base's).
DDL_MODELS = ('DDLRecognizer', 'DDLGroupEncoder')
#: Aggregator modes that run the DDNet (and so need its weights).
DDNET_MODES = ('ddl', 'ddl_norescale', 'top1')


class ToolOptionError(ValueError):
    """An option that does not fit the config (the tools exit with it)."""


def _work_dir(cfg, config_file: str, work_dir: Optional[str]) -> None:
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config_file))[0])


def merge_train_options(cfg,
                        config_file: str,
                        work_dir: Optional[str] = None,
                        cfg_options: Optional[dict] = None,
                        resume: Optional[str] = None,
                        amp: bool = False,
                        auto_scale_lr: bool = False,
                        no_validate: bool = False,
                        seed: Optional[int] = None,
                        diff_rank_seed: bool = False,
                        deterministic: bool = False,
                        launcher: str = 'none'):
    """Merge ``tools/train.py``'s options into a config, in mmaction2's
    order (``--cfg-options`` last).

    Args:
        cfg (mmengine.Config): The loaded config (changed in place).
        config_file (str): Its file (names the default work dir).
        work_dir (str, optional): ``--work-dir``.
        cfg_options (dict, optional): ``--cfg-options``.
        resume (str, optional): ``--resume``: ``'auto'`` or a checkpoint.
        amp (bool): ``--amp``.
        auto_scale_lr (bool): ``--auto-scale-lr``.
        no_validate (bool): ``--no-validate``.
        seed (int, optional): ``--seed``.
        diff_rank_seed (bool): ``--diff-rank-seed``.
        deterministic (bool): ``--deterministic``.
        launcher (str): ``--launcher``.

    Returns:
        mmengine.Config: ``cfg``.

    Raises:
        ToolOptionError: ``--amp`` with a custom optimizer wrapper,
            ``--auto-scale-lr`` without ``auto_scale_lr`` in the config.
    """
    if no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.launcher = launcher
    _work_dir(cfg, config_file, work_dir)
    if amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ToolOptionError(f'--amp does not support the custom '
                                  f'optimizer wrapper type {wrapper!r}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif resume is not None:
        cfg.resume = True
        cfg.load_from = resume
    if auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            raise ToolOptionError('--auto-scale-lr needs auto_scale_lr='
                                  'dict(enable=False, base_batch_size=N) in '
                                  'the config')
        cfg.auto_scale_lr.enable = True
    if seed is not None or diff_rank_seed or deterministic \
            or cfg.get('randomness', None) is None:
        randomness = dict(cfg.get('randomness', None) or {})
        if seed is not None:
            randomness['seed'] = seed
        if diff_rank_seed:
            randomness['diff_rank_seed'] = True
        if deterministic:
            randomness['deterministic'] = True
        randomness.setdefault('seed', None)
        cfg.randomness = randomness
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def merge_test_options(cfg,
                       config_file: str,
                       checkpoint: str,
                       ddnet_checkpoint: Optional[str] = None,
                       work_dir: Optional[str] = None,
                       cfg_options: Optional[dict] = None,
                       dump: Optional[str] = None,
                       show: bool = False,
                       show_dir: Optional[str] = None,
                       interval: int = 1,
                       wait_time: float = 2,
                       launcher: str = 'none'):
    """Merge ``tools/test.py``'s options into a config.

    ``cfg_options`` is applied first, then visualization and ``dump``:
    unlike mmaction2's tool (dump first), an evaluator override such as
    ``test_evaluator.ranks=[1,5]`` still addresses the config's evaluator,
    and the dump metric is appended to the overridden one. For a DDL
    wrapper ``checkpoint`` is the BASE model's and the DDNet's comes from
    ``ddnet_checkpoint`` or the config; any other model loads it whole.

    Args:
        cfg (mmengine.Config): The loaded config (changed in place).
        config_file (str): Its file (names the default work dir).
        checkpoint (str): The (base) model's checkpoint.
        ddnet_checkpoint (str, optional): ``--ddnet-checkpoint``.
        work_dir (str, optional): ``--work-dir``.
        cfg_options (dict, optional): ``--cfg-options``.
        dump (str, optional): ``--dump``: a ``.pkl`` of the predictions.
        show (bool): ``--show``.
        show_dir (str, optional): ``--show-dir``.
        interval (int): ``--interval``.
        wait_time (float): ``--wait-time``.
        launcher (str): ``--launcher``.

    Returns:
        mmengine.Config: ``cfg``.

    Raises:
        ToolOptionError: Visualization without a ``VisualizationHook``, a
            dump that is not ``.pkl``, a DDNet mode without a DDNet.
    """
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if show or show_dir is not None:
        if 'visualization' not in cfg.get('default_hooks', {}):
            raise ToolOptionError(
                '--show / --show-dir need a VisualizationHook: set '
                'default_hooks.visualization=dict(type="VisualizationHook") '
                'in the config')
        vis = cfg.default_hooks.visualization
        vis.enable = True
        vis.show = show
        vis.wait_time = wait_time
        vis.out_dir = show_dir
        vis.interval = interval
    if dump is not None:
        if not dump.endswith(('.pkl', '.pickle')):
            raise ToolOptionError(f'--dump must be a .pkl or .pickle file, '
                                  f'got {dump!r}')
        metric = dict(type='DumpResults', out_file_path=dump)
        if isinstance(cfg.test_evaluator, (list, tuple)):
            cfg.test_evaluator = list(cfg.test_evaluator) + [metric]
        else:
            cfg.test_evaluator = [cfg.test_evaluator, metric]
    _work_dir(cfg, config_file, work_dir)
    if cfg.model.get('type') in DDL_MODELS:
        cfg.model.base_checkpoint = checkpoint
        if ddnet_checkpoint is not None:
            cfg.model.ddnet_checkpoint = ddnet_checkpoint
        mode = cfg.model.get('aggregator', {}).get('mode', 'ddl')
        if not cfg.model.get('ddnet_checkpoint') and mode in DDNET_MODES:
            raise ToolOptionError(
                f'aggregator mode {mode!r} needs a trained DDNet: set '
                'model.ddnet_checkpoint in the config or pass '
                '--ddnet-checkpoint')
    else:
        cfg.load_from = checkpoint
    return cfg


def train_config(config_file: str, **options):
    """``Config.fromfile(config_file)`` merged with
    :func:`merge_train_options` (what ``tools/train.py`` trains).

    Args:
        config_file (str): The config.
        **options: Keyword options of :func:`merge_train_options`.
    """
    from mmengine.config import Config
    return merge_train_options(
        Config.fromfile(config_file), config_file, **options)


def test_config(config_file: str, checkpoint: str, **options):
    """``Config.fromfile(config_file)`` merged with
    :func:`merge_test_options` (what ``tools/test.py`` tests).

    Args:
        config_file (str): The config.
        checkpoint (str): The (base) model's checkpoint.
        **options: Keyword options of :func:`merge_test_options`.
    """
    from mmengine.config import Config
    return merge_test_options(
        Config.fromfile(config_file), config_file, checkpoint, **options)
