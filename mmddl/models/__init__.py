"""DDL models (registered in the OpenMMLab registries)."""
from . import aggregators, losses, recognizers, utils  # noqa: F401
from .backbones import DDNetBasicBlock, DDNetResNet, DDNetResNet3d
from .heads import CosFaceClsHead, DDNetHead, ReIDHead, SphereFaceClsHead

__all__ = [
    'DDNetBasicBlock', 'DDNetResNet', 'DDNetResNet3d', 'DDNetHead',
    'CosFaceClsHead', 'SphereFaceClsHead', 'ReIDHead'
]
