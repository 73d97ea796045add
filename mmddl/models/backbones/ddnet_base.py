"""Shared body of the 2D and 3D DDNet ResNets (stem, stages, freezing)."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.model.weight_init import constant_init
from torch.nn.modules.batchnorm import _BatchNorm

from .basic_block import DDNetBasicBlock, conv_norm

#: Blocks per stage of the supported depths (BasicBlock ResNets).
STAGE_BLOCKS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}

IntOrSeq = Union[int, Sequence[int]]


class DDNetResNetBase(BaseModule):
    """ResNet-18/34 made of :class:`DDNetBasicBlock` with free stage widths.

    Subclasses fix the dimensionality and translate their user-facing
    arguments into the per-stage settings taken here; the arguments from
    ``depth`` on are the ones every DDNet ResNet takes as they are.

    Args:
        ndim (int): 2 or 3 spatial(-temporal) dimensions.
        stem_kernel (int | Sequence[int]): Kernel of the stem conv.
        stem_stride (int | Sequence[int]): Stride of the stem conv.
        stem_pool (dict, optional): ``kernel_size``/``stride``/``padding``
            of a max-pool after the stem; None for no pool.
        stage_strides (Sequence): Stride of the first block of each stage.
        stage_conv1_kernels (Sequence): ``conv1`` kernel of each stage.
        conv2_kernel (int | Sequence[int]): ``conv2`` kernel of every block.
        norm_cfg (dict): mmcv norm config.
        init_cfg (dict | list[dict], optional): mmengine init config (a
            tuple is taken as a list).
        depth (int): 18 or 34 (blocks [2, 2, 2, 2] or [3, 4, 6, 3]).
        stage_widths (Sequence[int]): Output channels of the 4 stages.
        in_channels (int): Input channels.
        stem_channels (int, optional): Output channels of the stem conv;
            None means ``stage_widths[0]``.
        out_indices (Sequence[int]): Stages (0-3) whose outputs are returned.
        frozen_stages (int): -1 freezes nothing, 0 the stem, k the stem and
            stages 1..k (parameters fixed, norms in eval mode).
        norm_eval (bool): Keep every norm layer in eval mode while training.
        act_cfg (dict): mmcv activation config.
        zero_init_residual (bool): Zero the last norm of every block.
        channels_last (bool): Run the layers on ``channels_last``
            (``channels_last_3d`` for 3D) memory: the input is converted
            once (no copy when it is in that format already); values and
            shapes are unchanged, only the speed differs. Defaults to False.
    """

    def __init__(self,
                 ndim: int,
                 stem_kernel: IntOrSeq,
                 stem_stride: IntOrSeq,
                 stem_pool: Optional[dict],
                 stage_strides: Sequence[IntOrSeq],
                 stage_conv1_kernels: Sequence[IntOrSeq],
                 conv2_kernel: IntOrSeq,
                 norm_cfg: dict,
                 init_cfg: Optional[Union[dict, list, tuple]],
                 depth: int = 18,
                 stage_widths: Sequence[int] = (8, 16, 32, 48),
                 in_channels: int = 3,
                 stem_channels: Optional[int] = None,
                 out_indices: Sequence[int] = (3, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 act_cfg: dict = dict(type='ReLU'),
                 zero_init_residual: bool = False,
                 channels_last: bool = False) -> None:
        if isinstance(init_cfg, tuple):
            init_cfg = list(init_cfg)
        stem_channels = stem_channels or stage_widths[0]
        super().__init__(init_cfg=init_cfg)
        if depth not in STAGE_BLOCKS:
            raise ValueError(
                f'depth must be one of {sorted(STAGE_BLOCKS)}, got {depth}')
        for name, seq in (('stage_widths', stage_widths), ('stage_strides',
                                                           stage_strides),
                          ('stage_conv1_kernels', stage_conv1_kernels)):
            if len(seq) != 4:
                raise ValueError(
                    f'{name} needs one entry per stage (4), got {seq}')
        if any(int(w) < 1
               for w in stage_widths) or in_channels < 1 or stem_channels < 1:
            raise ValueError(
                'channel numbers must be positive, got '
                f'in_channels={in_channels}, stem_channels={stem_channels}, '
                f'stage_widths={stage_widths}')
        out_indices = tuple(out_indices)
        if not out_indices or any(i not in range(4) for i in out_indices):
            raise ValueError(
                'out_indices must be a non-empty subset of 0..3, got '
                f'{out_indices}')
        if frozen_stages not in range(-1, 5):
            raise ValueError(
                f'frozen_stages must be in -1..4, got {frozen_stages}')
        if ndim not in (2, 3):
            raise ValueError(f'ndim must be 2 or 3, got {ndim}')

        self.depth = depth
        self.stage_blocks = STAGE_BLOCKS[depth]
        self.stage_widths = tuple(int(w) for w in stage_widths)
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.zero_init_residual = zero_init_residual
        self.memory_format = None if not channels_last else (
            torch.channels_last if ndim == 2 else torch.channels_last_3d)
        conv_cfg = dict(type=f'Conv{ndim}d')

        self.stem = conv_norm(in_channels, stem_channels, stem_kernel,
                              stem_stride, conv_cfg, norm_cfg, act_cfg)
        pool_cls = nn.MaxPool2d if ndim == 2 else nn.MaxPool3d
        self.stem_pool = pool_cls(
            **stem_pool) if stem_pool is not None else nn.Identity()

        self.layer_names: List[str] = []
        channels = stem_channels
        for i, (num_blocks,
                width) in enumerate(zip(self.stage_blocks, self.stage_widths)):
            blocks = []
            for b in range(num_blocks):
                blocks.append(
                    DDNetBasicBlock(
                        channels,
                        width,
                        stride=stage_strides[i] if b == 0 else 1,
                        conv1_kernel=stage_conv1_kernels[i],
                        conv2_kernel=conv2_kernel,
                        conv_cfg=conv_cfg,
                        norm_cfg=norm_cfg,
                        act_cfg=act_cfg))
                channels = width
            name = f'layer{i + 1}'
            self.add_module(name, nn.Sequential(*blocks))
            self.layer_names.append(name)
        self.feat_dim = channels
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        """Fix parameters and norm statistics of the first stages."""
        if self.frozen_stages < 0:
            return
        modules = [self.stem] + [
            getattr(self, n) for n in self.layer_names[:self.frozen_stages]
        ]
        for m in modules:
            m.eval()
            for param in m.parameters():
                param.requires_grad = False

    def init_weights(self) -> None:
        """Initialize weights, then optionally zero each block's last norm."""
        super().init_weights()
        pretrained = isinstance(
            self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained'
        if self.zero_init_residual and not pretrained:
            for m in self.modules():
                if isinstance(m, DDNetBasicBlock):
                    constant_init(m.conv2.norm, 0)

    def train(self, mode: bool = True) -> 'DDNetResNetBase':
        """Set train mode, keeping frozen stages in eval mode.

        With ``norm_eval`` the norm layers stay in eval mode too.

        Args:
            mode (bool): Train mode if True.

        Returns:
            DDNetResNetBase: This module.
        """
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Extract feature maps.

        Args:
            x (Tensor): (N, C, H, W) images or (N, C, T, H, W) clips.

        Returns:
            tuple[Tensor]: Outputs of the stages in ``out_indices``.
        """
        expected = 2 + (2 if isinstance(self.stem.conv, nn.Conv2d) else 3)
        if x.dim() != expected:
            raise ValueError(
                f'{type(self).__name__} expects a {expected}D input '
                f'(N, C, {"H, W" if expected == 4 else "T, H, W"}), '
                f'got shape {tuple(x.shape)}')
        if self.memory_format is not None:
            x = x.contiguous(memory_format=self.memory_format)
        x = self.stem_pool(self.stem(x))
        outs = []
        for i, name in enumerate(self.layer_names):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
