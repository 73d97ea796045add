"""DDNetResNet: the channel-reduced 2D ResNet used as DDNet on images."""
from typing import Optional, Sequence, Union

from mmengine.registry import MODELS

from .ddnet_base import DDNetResNetBase


@MODELS.register_module()
class DDNetResNet(DDNetResNetBase):
    """Channel-reduced ResNet-18/34 with BasicBlocks (DDL's DDNet, 2D).

    The default is the paper's DDNet: ResNet-18 with stage widths
    (8, 16, 32, 48) and a face-recognition style stem (one 3x3 conv at
    stride 1, no max-pool), so a 112x112 input keeps full resolution in
    stage 1 and ends at 14x14; its cost is in ``docs/models.md``. The
    Table 5 variants are configs of this class: ResNet-34-CD is
    ``depth=34`` and plain ResNet-18 is ``stage_widths=(64, 128, 256, 512)``.

    Args:
        stem_kernel_size (int): Stem conv kernel (odd).
        stem_stride (int): Stem conv stride.
        stem_pool (bool): Add a 3x3 stride-2 max-pool after the stem
            (the ImageNet ResNet stem when combined with kernel 7, stride 2).
        strides (Sequence[int]): Stride of the first block of each stage.
        norm_cfg (dict): mmcv norm config.
        init_cfg (dict | list[dict], optional): mmengine init config.
            Defaults to Kaiming for convs and constant 1 for norms.
        **kwargs: ``depth`` (18 or 34), ``stage_widths``, ``in_channels``,
            ``stem_channels``, ``out_indices``, ``frozen_stages``,
            ``norm_eval``, ``act_cfg``, ``zero_init_residual`` and
            ``channels_last`` (see :class:`DDNetResNetBase`).
    """

    def __init__(self,
                 stem_kernel_size: int = 3,
                 stem_stride: int = 1,
                 stem_pool: bool = False,
                 strides: Sequence[int] = (1, 2, 2, 2),
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 init_cfg: Optional[Union[dict, list]] = (
                     dict(type='Kaiming', layer=['Conv2d']),
                     dict(type='Constant', val=1, layer=['_BatchNorm'])),
                 **kwargs) -> None:
        super().__init__(
            ndim=2,
            stem_kernel=stem_kernel_size,
            stem_stride=stem_stride,
            stem_pool=dict(kernel_size=3, stride=2, padding=1)
            if stem_pool else None,
            stage_strides=tuple(strides),
            stage_conv1_kernels=(3, 3, 3, 3),
            conv2_kernel=3,
            norm_cfg=norm_cfg,
            init_cfg=init_cfg,
            **kwargs)
