"""Tiny videos, checkpoints and tool runs for the config / tool tests."""
import os
import os.path as osp
import subprocess
import sys
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SITE = osp.join(osp.dirname(osp.dirname(torch.__file__)))
STOCK_TOOLS = dict(
    mmaction=osp.join(SITE, 'mmaction', '.mim', 'tools', 'test.py'),
    mmpretrain=osp.join(SITE, 'mmpretrain', '.mim', 'tools', 'test.py'))


def write_videos(root: str,
                 labels: Sequence[int],
                 num_frames: int = 24,
                 size: int = 64,
                 seed: int = 0) -> str:
    """Random-texture mp4 videos and a mmaction ``VideoDataset`` list.

    Returns:
        str: The list file (``<name> <label>`` lines, names under root).
    """
    from mmddl.testing.synthetic_video import write_video
    rng = np.random.default_rng(seed)
    lines = []
    for i, label in enumerate(labels):
        name = f'v{i}.mp4'
        base = rng.integers(0, 256, (1, size, size, 3))
        drift = rng.integers(0, 40, (num_frames, 1, 1, 1))
        frames = np.clip(base + drift, 0, 255).astype(np.uint8)
        write_video(osp.join(root, name), frames)
        lines.append(f'{name} {label}')
    ann = osp.join(root, 'list.txt')
    with open(ann, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return ann


def save_checkpoint(model: torch.nn.Module,
                    path: str,
                    cfg_text: Optional[str] = None,
                    seed: int = 0) -> str:
    """Perturb ``model``'s weights (seeded) and save them as the Runner
    does (``state_dict``, ``meta.cfg`` when given)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=gen))
    ckpt = dict(state_dict=model.state_dict(), meta={})
    if cfg_text is not None:
        ckpt['meta']['cfg'] = cfg_text
    torch.save(ckpt, path)
    return path


DEMO_DDL_CONFIG = osp.join(REPO, 'configs', 'recognition', 'demo',
                           'ddl_slowfast-tiny_top5-of-30_synthetic-rgb.py')


def demo_ddl_checkpoints(root: str) -> Tuple[str, str]:
    """Random-weight checkpoints of the demo DDL config's base (bare keys,
    with its config in ``meta``) and DDNet, saved in ``root``: (base,
    ddnet)."""
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(DEMO_DDL_CONFIG)
    base_cfg = Config.fromfile(cfg.model.base)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmaction'):
        base = MODELS.build(base_cfg.model)
        ddnet = MODELS.build(cfg.model.ddnet)
    return (save_checkpoint(
        base, osp.join(root, 'base.pth'), base_cfg.pretty_text,
        seed=1), save_checkpoint(ddnet, osp.join(root, 'ddnet.pth'), seed=2))


def run_tool(script: str, args: List[str], cwd: str) -> str:
    """Run a tool script in a subprocess (one torch thread); its output."""
    env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1',
        PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run(
        [sys.executable, script] + args,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{script} failed:\n{out[-4000:]}'
    return out
