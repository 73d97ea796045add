"""A short Runner training of a 2D DDNet: save, load, resume (issue 2)."""
import copy

import numpy as np
import torch
from mmengine.runner import Runner, load_checkpoint
from torch.utils.data import Dataset

import mmddl  # noqa: F401


class DScoreImages(Dataset):
    """Generated images whose target D-score is their mean brightness."""

    def __init__(self, n: int = 16, size: int = 32, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.imgs = rng.integers(0, 256, size=(n, 3, size, size),
                                 dtype=np.uint8)
        self.targets = self.imgs.reshape(n, -1).mean(1) / 255.0

    def __len__(self) -> int:
        return len(self.imgs)

    def __getitem__(self, i: int) -> dict:
        from mmpretrain.structures import DataSample
        ds = DataSample()
        ds.set_field(torch.tensor(float(self.targets[i])), 'gt_dscore')
        return dict(inputs=torch.from_numpy(self.imgs[i]), data_samples=ds)


def runner_cfg(work_dir: str, max_iters: int) -> dict:
    return dict(
        model=dict(
            type='ImageClassifier',
            backbone=dict(type='DDNetResNet'),
            head=dict(type='DDNetHead', in_channels=48),
            data_preprocessor=dict(
                type='ClsDataPreprocessor', mean=[127.5] * 3,
                std=[64.0] * 3)),
        work_dir=work_dir,
        default_scope='mmpretrain',
        train_dataloader=dict(
            dataset=DScoreImages(), batch_size=4, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True, seed=0),
            collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01,
                                          momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR', milestones=[3],
                             by_epoch=False),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=2,
                            by_epoch=False),
            logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=0),
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        log_level='WARNING',
        experiment_name='ddnet_runner')


def test_train_save_load_resume(tmp_path):
    torch.set_num_threads(1)
    work = str(tmp_path / 'work')
    runner = Runner(**runner_cfg(work, max_iters=4))
    runner.train()
    ckpt = tmp_path / 'work' / 'iter_4.pth'
    assert ckpt.is_file()
    trained = copy.deepcopy(runner.model.state_dict())
    for name, p in trained.items():
        assert torch.isfinite(p.float()).all(), name

    # load into a freshly built model: every tensor comes back
    fresh = Runner(**runner_cfg(str(tmp_path / 'fresh'), max_iters=4))
    load_checkpoint(fresh.model, str(ckpt), map_location='cpu', strict=True)
    for name, p in fresh.model.state_dict().items():
        torch.testing.assert_close(p, trained[name], msg=name)

    # resume continues at iteration 4 and trains on to 6
    resumed = Runner(**runner_cfg(work, max_iters=6), resume=True,
                     load_from=str(ckpt))
    resumed.train()
    assert resumed.iter == 6
    assert (tmp_path / 'work' / 'iter_6.pth').is_file()
    # the LR schedule was restored: milestone 3 already passed -> lr 0.001
    lr = resumed.optim_wrapper.get_lr()['lr'][0]
    assert abs(lr - 0.001) < 1e-9
    moved = any(not torch.equal(p, trained[n])
                for n, p in resumed.model.state_dict().items()
                if p.is_floating_point())
    assert moved
