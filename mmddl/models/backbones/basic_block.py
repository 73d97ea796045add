"""ResNet BasicBlock shared by the 2D and 3D DDNet backbones."""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_activation_layer
from mmengine.model import BaseModule

IntOrSeq = Union[int, Sequence[int]]


def same_padding(kernel_size: IntOrSeq) -> Union[int, tuple]:
    """Padding that keeps the size of an odd kernel's output at stride 1.

    Args:
        kernel_size (int | Sequence[int]): Kernel size, one int or one per
            dimension. Every entry must be odd.

    Returns:
        int | tuple: ``k // 2`` in the same form as ``kernel_size``.
    """
    sizes = [kernel_size] if isinstance(kernel_size,
                                        int) else list(kernel_size)
    if any(k % 2 == 0 or k < 1 for k in sizes):
        raise ValueError(
            f'kernel sizes must be positive odd numbers, got {kernel_size}')
    return kernel_size // 2 if isinstance(kernel_size, int) else tuple(
        k // 2 for k in sizes)


def conv_norm(in_channels: int,
              out_channels: int,
              kernel_size: IntOrSeq,
              stride: IntOrSeq = 1,
              conv_cfg: Optional[dict] = None,
              norm_cfg: Optional[dict] = None,
              act_cfg: Optional[dict] = None) -> ConvModule:
    """A bias-free conv with :func:`same_padding`, then norm, then the
    activation (none when ``act_cfg`` is None).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int | Sequence[int]): Kernel (odd sizes).
        stride (int | Sequence[int]): Stride.
        conv_cfg (dict, optional): mmcv conv config; None means ``Conv2d``.
        norm_cfg (dict, optional): mmcv norm config.
        act_cfg (dict, optional): mmcv activation config.

    Returns:
        ConvModule: The layer.
    """
    return ConvModule(
        in_channels,
        out_channels,
        kernel_size,
        stride=stride,
        padding=same_padding(kernel_size),
        bias=False,
        conv_cfg=conv_cfg,
        norm_cfg=norm_cfg,
        act_cfg=act_cfg)


def _is_unit(stride: IntOrSeq) -> bool:
    return stride == 1 if isinstance(stride, int) else all(s == 1
                                                           for s in stride)


class DDNetBasicBlock(BaseModule):
    """Two-conv residual block of ResNet-18/34 (expansion 1), 2D or 3D.

    ``conv1`` (kernel ``conv1_kernel``, stride ``stride``) -> norm -> act ->
    ``conv2`` (kernel ``conv2_kernel``, stride 1) -> norm, plus the identity
    (or a strided 1x1 conv + norm when the shape changes), then act.
    The dimensionality follows ``conv_cfg`` / ``norm_cfg`` (e.g. ``Conv3d``,
    ``BN3d``).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int | Sequence[int]): Stride of ``conv1`` and of the shortcut.
        conv1_kernel (int | Sequence[int]): Kernel of ``conv1`` (odd sizes).
        conv2_kernel (int | Sequence[int]): Kernel of ``conv2`` (odd sizes).
        conv_cfg (dict, optional): mmcv conv config; None means ``Conv2d``.
        norm_cfg (dict): mmcv norm config.
        act_cfg (dict): mmcv activation config.
        init_cfg (dict | list[dict], optional): mmengine init config.
    """

    expansion = 1

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: IntOrSeq = 1,
                 conv1_kernel: IntOrSeq = 3,
                 conv2_kernel: IntOrSeq = 3,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        cfgs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.conv1 = conv_norm(
            in_channels,
            out_channels,
            conv1_kernel,
            stride,
            act_cfg=act_cfg,
            **cfgs)
        self.conv2 = conv_norm(out_channels, out_channels, conv2_kernel,
                               **cfgs)
        self.downsample = None
        if not _is_unit(stride) or in_channels != out_channels:
            self.downsample = conv_norm(in_channels, out_channels, 1, stride,
                                        **cfgs)
        self.relu = (
            build_activation_layer(act_cfg)
            if act_cfg is not None else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block.

        Args:
            x (Tensor): (N, C, H, W) or (N, C, T, H, W) input.

        Returns:
            Tensor: The block output.
        """
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv2(self.conv1(x)) + identity)
