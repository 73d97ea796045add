"""DDNet backbones (registered in mmengine's root MODELS registry)."""
from .basic_block import DDNetBasicBlock
from .ddnet_resnet import DDNetResNet
from .ddnet_resnet3d import DDNetResNet3d

__all__ = ['DDNetBasicBlock', 'DDNetResNet', 'DDNetResNet3d']
