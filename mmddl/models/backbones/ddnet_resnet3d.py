"""DDNetResNet3d: the 3D-conv twin of DDNetResNet for video clips."""
from typing import Optional, Sequence, Tuple, Union

from mmengine.registry import MODELS

from .ddnet_base import DDNetResNetBase


@MODELS.register_module()
class DDNetResNet3d(DDNetResNetBase):
    """Channel-reduced 3D ResNet-18/34: DDNet for (N, C, T, H, W) clips.

    Same stage widths as :class:`DDNetResNet`, 3D BasicBlocks whose first
    conv is ``(kt, 3, 3)`` (``kt`` from ``temporal_kernels``) and second conv
    ``(1, 3, 3)``. The default stem (3x3x3 conv, stride (1, 2, 2), then a
    (1, 3, 3) max-pool of stride (1, 2, 2)) and temporal strides keep one
    16x112x112 clip within DDL's budget of about 0.2 GFLOPs
    (measured numbers in ``docs/models.md``).

    Args:
        stem_kernel_size (Sequence[int]): (t, h, w) stem kernel (odd sizes).
        stem_stride (Sequence[int]): (t, h, w) stem stride.
        stem_pool (bool): Add a (1, 3, 3) max-pool of stride (1, 2, 2).
        spatial_strides (Sequence[int]): Spatial stride of each stage.
        temporal_strides (Sequence[int]): Temporal stride of each stage.
        temporal_kernels (Sequence[int]): Temporal kernel (odd) of the first
            conv of every block in each stage.
        norm_cfg (dict): mmcv norm config.
        init_cfg (dict | list[dict], optional): mmengine init config.
            Defaults to Kaiming for convs and constant 1 for norms.
        channels_last (bool): Run on ``channels_last_3d`` memory (same
            values; faster on CPU, measured in ``docs/benchmarks.md``).
            Defaults to True.
        **kwargs: ``depth`` (18 or 34), ``stage_widths``, ``in_channels``,
            ``stem_channels``, ``out_indices``, ``frozen_stages``,
            ``norm_eval``, ``act_cfg`` and ``zero_init_residual`` (see
            :class:`DDNetResNetBase`).
    """

    def __init__(self,
                 stem_kernel_size: Sequence[int] = (3, 3, 3),
                 stem_stride: Sequence[int] = (1, 2, 2),
                 stem_pool: bool = True,
                 spatial_strides: Sequence[int] = (1, 2, 2, 2),
                 temporal_strides: Sequence[int] = (1, 2, 2, 2),
                 temporal_kernels: Sequence[int] = (3, 3, 3, 3),
                 norm_cfg: dict = dict(type='BN3d', requires_grad=True),
                 init_cfg: Optional[Union[dict, list]] = (
                     dict(type='Kaiming', layer=['Conv3d']),
                     dict(type='Constant', val=1, layer=['_BatchNorm'])),
                 channels_last: bool = True,
                 **kwargs) -> None:
        stem_kernel_size = _triple(stem_kernel_size, 'stem_kernel_size')
        stem_stride = _triple(stem_stride, 'stem_stride')
        for name, seq in (('spatial_strides', spatial_strides),
                          ('temporal_strides', temporal_strides),
                          ('temporal_kernels', temporal_kernels)):
            if len(seq) != 4:
                raise ValueError(
                    f'{name} needs one entry per stage (4), got {seq}')
        super().__init__(
            ndim=3,
            stem_kernel=stem_kernel_size,
            stem_stride=stem_stride,
            stem_pool=dict(
                kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
            if stem_pool else None,
            stage_strides=[(t, s, s)
                           for t, s in zip(temporal_strides, spatial_strides)],
            stage_conv1_kernels=[(k, 3, 3) for k in temporal_kernels],
            conv2_kernel=(1, 3, 3),
            norm_cfg=norm_cfg,
            init_cfg=init_cfg,
            channels_last=channels_last,
            **kwargs)


def _triple(value: Union[int, Sequence[int]],
            name: str) -> Tuple[int, int, int]:
    """Expand an int to (v, v, v) and check a sequence has 3 entries."""
    if isinstance(value, int):
        return (value, value, value)
    if len(value) != 3:
        raise ValueError(f'{name} must be an int or (t, h, w), got {value}')
    return tuple(int(v) for v in value)
