"""Tiny data and model for the scale tests (distributed, store, resume).

The dataset yields what a Pack transform gives (``inputs`` + a data sample
with ``img_path`` / ``frame_inds`` / ``clip_len`` / ``start_index`` metainfo
and ``gt_label``), so the real pass code runs on it without video decoding
or mmaction imports; spawned test processes stay fast.
"""
from typing import Dict, Iterable, Optional

import numpy as np
import torch
from mmengine.structures import BaseDataElement
from torch import nn

CLIP_LEN, NUM_CLIPS, DIM_IN, DIM, NUM_CLASSES = 2, 3, 6, 5, 4
#: pass vs :func:`reference_table`: float32 features of differently batched
#: matmuls differ by round-off, which a large ratio D amplifies to ~4e-6
REF_TOL = 1e-5


class SimulatedKill(BaseException):
    """Stands for SIGKILL / Ctrl-C: not an Exception, so nothing catches it."""


class ToyClipDataset:
    """``num_samples`` samples of NUM_CLIPS clips; class-dependent inputs.

    Args:
        num_samples: dataset length.
        seed: data seed.
        fail_at: indices whose loading raises ValueError (skipped samples).
        kill_at: index whose loading raises :class:`SimulatedKill`.
        num_classes: labels are ``i % num_classes`` shuffled by the seed.
    """

    def __init__(self, num_samples: int, seed: int = 0,
                 fail_at: Iterable[int] = (), kill_at: Optional[int] = None,
                 num_classes: int = NUM_CLASSES) -> None:
        rng = np.random.RandomState(seed)
        self.labels = rng.permutation(np.arange(num_samples) % num_classes)
        means = rng.randn(num_classes, DIM_IN)
        self.inputs = (means[self.labels][:, None, :] + 0.8 * rng.randn(
            num_samples, NUM_CLIPS, DIM_IN)).astype(np.float32)
        self.starts = rng.randint(0, 50, size=(num_samples, NUM_CLIPS))
        self.fail_at = set(fail_at)
        self.kill_at = kill_at
        self.calls = []

    def __len__(self) -> int:
        return len(self.labels)

    def get_data_info(self, i: int) -> Dict[str, str]:
        return dict(img_path=f'sample_{i:04d}.mp4')

    def __getitem__(self, i: int) -> Dict[str, object]:
        self.calls.append(i)
        if i == self.kill_at:
            raise SimulatedKill(f'killed while loading sample {i}')
        if i in self.fail_at:
            raise ValueError(f'cannot decode sample {i}')
        inds = (self.starts[i][:, None] + np.arange(CLIP_LEN)).reshape(-1)
        sample = BaseDataElement(
            metainfo=dict(img_path=f'sample_{i:04d}.mp4',
                          frame_inds=inds + 1, clip_len=CLIP_LEN,
                          start_index=1, frame_interval=1,
                          num_clips=NUM_CLIPS))
        sample.gt_label = torch.tensor([int(self.labels[i])])
        return dict(inputs=torch.from_numpy(self.inputs[i]),
                    data_samples=sample)


class ToyPreprocessor(nn.Module):
    """Stacks the collated inputs (B, V, DIM_IN)."""

    def forward(self, data, training: bool = False):
        return dict(inputs=torch.stack(data['inputs']).float(),
                    data_samples=data['data_samples'])


class ToyModel(nn.Module):
    """A 'generic' model: one DIM feature per view."""

    def __init__(self) -> None:
        super().__init__()
        self.data_preprocessor = ToyPreprocessor()
        self.proj = nn.Linear(DIM_IN, DIM)

    def extract_feat(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.proj(x.flatten(0, 1)))


class ToyHookDataset(ToyClipDataset):
    """:class:`ToyClipDataset` as the hook builds datasets from configs.

    Loaded indices are appended to :data:`LOADED` (the hook builds its own
    instance, so tests read them there).
    """

    def __init__(self, ann_file: str, num_samples: int, seed: int = 0,
                 fail_at: Iterable[int] = (), kill_at: Optional[int] = None,
                 pipeline=None, test_mode: bool = False,
                 lazy_init: bool = False) -> None:
        super().__init__(num_samples, seed, fail_at,
                         KILL_AT[0] if kill_at is None else kill_at)
        self.ann_file = ann_file
        self.pipeline = pipeline
        self.calls = LOADED


#: indices loaded by every ToyHookDataset of this process
LOADED = []
#: ``KILL_AT[0]``: index at which new ToyHookDatasets die (a kill that does
#: not change the config, hence not the fingerprint)
KILL_AT = [None]


class TableRecorder:
    """A train-pipeline transform stand-in that records ``set_table``."""

    def __init__(self) -> None:
        self.table_file = None

    def set_table(self, path: str) -> None:
        self.table_file = path


def register_toys() -> None:
    """Register the toy dataset / model in mmengine's root registries."""
    from mmengine.registry import DATASETS, MODELS
    DATASETS.register_module(module=ToyHookDataset, force=True)
    MODELS.register_module(module=ToyModel, force=True)


def toy_runner(work_dir: str, ann_file: str, num_samples: int,
               fail_at=(), ds_cfg=None):
    """The parts of an mmengine Runner that DiscriminabilityHook uses
    (train dataset config ``ds_cfg``, default: a ToyHookDataset)."""
    from types import SimpleNamespace

    from mmengine.config import Config
    from mmengine.logging import MessageHub, MMLogger
    register_toys()
    if ds_cfg is None:
        ds_cfg = dict(type='ToyHookDataset', ann_file=ann_file,
                      num_samples=num_samples, fail_at=list(fail_at))
    train_ds = ToyClipDataset(num_samples)
    train_ds.pipeline = [TableRecorder()]
    name = f'toy_{work_dir}'
    return SimpleNamespace(
        work_dir=work_dir, default_scope=None, model=nn.Linear(1, 1),
        cfg=Config(dict(train_dataloader=dict(dataset=ds_cfg))),
        train_dataloader=SimpleNamespace(dataset=train_ds),
        train_loop=SimpleNamespace(dataloader=SimpleNamespace(
            num_workers=0)),
        message_hub=MessageHub.get_instance(name),
        logger=MMLogger.get_instance(name, log_level='WARNING'))


def hook_settings(settings: Dict[str, dict], **groups: dict) -> dict:
    """``settings`` (DiscriminabilityHook groups) with the keys of
    ``groups`` set in their groups, the other keys kept."""
    out = {name: dict(group) for name, group in settings.items()}
    for name, group in groups.items():
        out[name] = dict(out.get(name, {}), **group)
    return out


def toy_hook(ckpt: str, **groups: dict):
    """A DiscriminabilityHook on the toy model (checkpoint ``ckpt``);
    ``groups``: settings changed, e.g. ``table=dict(file=path)``."""
    from mmddl.engine import DiscriminabilityHook
    cfg = dict(
        base=dict(config=dict(model=dict(type='ToyModel')), checkpoint=ckpt),
        candidates=dict(pipeline=[dict(type='PackToy', meta_keys=())],
                        batch_size=2),
        compute=dict(shard_size=4, progress=False))
    return DiscriminabilityHook(**hook_settings(cfg, **groups))


def save_toy_checkpoint(path: str) -> None:
    torch.save(dict(state_dict=toy_model().state_dict()), path)


def toy_model(seed: int = 0) -> ToyModel:
    """The same random weights in every process."""
    torch.manual_seed(seed)
    return ToyModel().eval()


def reference_table(ds: ToyClipDataset, model: ToyModel,
                    metric: str = 'cosine'):
    """The table of ``ds`` computed sample by sample: the toy model's
    features and Eq. 2-4 in float64 numpy (independent of the pass)."""
    from types import SimpleNamespace

    from ddl_engine_testutils import ref_dscores
    keys, pos, feats, labels, skipped = [], [], [], [], []
    for i in range(len(ds)):
        try:
            data = ds[i]
        except ValueError as e:
            skipped.append(dict(key=f'sample_{i:04d}.mp4',
                                reason=f'ValueError: {e}'))
            continue
        meta = data['data_samples'].metainfo
        with torch.no_grad():
            feats.append(torch.tanh(model.proj(data['inputs'])).numpy())
        starts = meta['frame_inds'][::CLIP_LEN] - meta['start_index']
        keys += [meta['img_path']] * NUM_CLIPS
        pos += starts.tolist()
        labels += [int(data['data_samples'].gt_label)] * NUM_CLIPS
    labels = np.array(labels)
    raw, dscores = ref_dscores(np.concatenate(feats), labels, metric)
    return SimpleNamespace(keys=np.array(keys), positions=np.array(pos),
                           labels=labels, raw=raw, dscores=dscores,
                           mean=raw.mean(), std=raw.std(), skipped=skipped,
                           metric=metric)


def table_arrays(table) -> Dict[str, np.ndarray]:
    """The comparable content of a ScoreTable."""
    return dict(keys=table.keys, positions=table.positions,
                labels=table.labels, raw=table.raw, dscores=table.dscores)


def assert_tables_close(a, b, tol: float = 1e-6) -> None:
    """Same elements in the same order; D-scores (in (0, 1)) within ``tol``,
    raw D and its statistics (unbounded ratios) within ``tol`` relative."""
    np.testing.assert_array_equal(a.keys, b.keys)
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_allclose(a.raw, b.raw, rtol=tol, atol=tol)
    np.testing.assert_allclose(a.dscores, b.dscores, rtol=0, atol=tol)
    for x, y in ((a.mean, b.mean), (a.std, b.std)):
        assert abs(x - y) <= tol * (1 + abs(y)), (x, y)
    assert a.skipped == b.skipped
    assert a.metric == b.metric


def dist_worker(rank: int, world: int, init_file: str, root: str,
                num_samples: int, fail_at, shard_size: int) -> None:
    """One rank of the gloo test: collectives + the sharded pass.

    The ranks meet through a file store (gloo then talks over 127.0.0.1):
    no port to pick, and no TCPStore server thread on rank 0 that can abort
    the process when it is torn down while rank 1 is still connected.

    Writes ``{root}/rank{rank}.json`` (collective results, samples loaded)
    and, on rank 0, ``{root}/table_<metric>.npz``.
    """
    import json
    import os
    import os.path as osp
    import sys

    import torch.distributed as tdist
    torch.set_num_threads(1)
    tdist.init_process_group('gloo', init_method=f'file://{init_file}',
                             rank=rank, world_size=world)
    try:
        import mmddl  # noqa: F401
        from mmddl.engine.distributed import (all_reduce_centroid_sums,
                                              all_reduce_max,
                                              gather_shard_results)
        from mmddl.engine import compute_score_table
        sums = torch.full((3, 2), float(rank + 1), dtype=torch.float64)
        counts = torch.tensor([rank, 1, 0], dtype=torch.int64)
        all_reduce_centroid_sums(sums, counts)
        gathered = gather_shard_results({rank: f'from {rank}'}, world,
                                        dst=None)
        ds = ToyClipDataset(num_samples, fail_at=fail_at)
        model = toy_model()
        import glob

        from mmengine.logging import MMLogger
        log_dir = osp.join(root, f'logs_rank{rank}')
        os.makedirs(log_dir, exist_ok=True)
        # distributed=True: every rank writes its own file (in log_dir)
        MMLogger.get_instance(f'dist_rank{rank}',
                              log_file=osp.join(log_dir, 'pass.log'),
                              log_level='INFO', distributed=True)
        for metric in ('cosine', 'euclidean'):
            compute_score_table(
                model, ds, osp.join(root, 'store'), metric=metric,
                shard_size=shard_size, batch_size=2,
                out_file=osp.join(root, f'table_{metric}.npz'),
                progress=metric == 'cosine')
        lines = []  # this rank's log
        for log_file in glob.glob(osp.join(log_dir, '*.log')):
            with open(log_file) as f:
                lines += [ln.strip() for ln in f]
        progress = [ln for ln in lines if 'ETA' in ln]
        own = [ln for ln in lines if f'DDL pass (rank {rank}/2)' in ln]
        # the hook, as under tools/dist_train.sh: all ranks run the pass
        runner = toy_runner(osp.join(root, 'work'), osp.join(root, 'ann.txt'),
                            num_samples, fail_at)
        hook = toy_hook(osp.join(root, 'ckpt.pth'))
        del LOADED[:]
        hook.before_train(runner)
        hook_calls = sorted(set(LOADED))
        attached = runner.train_dataloader.dataset.pipeline[0].table_file
        # a stale table (other metric): every rank raises, none hangs
        try:
            toy_hook(osp.join(root, 'ckpt.pth'),
                     dscore=dict(metric='euclidean')).before_train(runner)
            stale = 'no error'
        except Exception as e:  # noqa: BLE001
            stale = f'{type(e).__name__}: {e}'
        with open(osp.join(root, f'rank{rank}.json'), 'w') as f:
            json.dump(dict(sums=sums.tolist(), counts=counts.tolist(),
                           gathered={str(k): v for k, v in gathered.items()},
                           max=all_reduce_max(10 * rank + 3),
                           calls=sorted(set(ds.calls)),
                           hook_calls=hook_calls, attached=attached,
                           stale=stale, progress=progress, own=own,
                           store_left=osp.exists(osp.join(
                               root, 'work', 'dscore_features'))), f)
    finally:
        tdist.barrier()  # both ranks leave together
        tdist.destroy_process_group()
    # Everything is written. Skip the interpreter teardown: about 1 run in
    # 20 the process aborted there ("terminate called without an active
    # exception", SIGABRT) after this function had returned on both ranks,
    # in torch's C++ teardown, not in the code under test.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
