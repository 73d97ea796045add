"""DDNet models: backbones and heads (registered in mmengine's root MODELS)."""
from .backbones import DDNetBasicBlock, DDNetResNet, DDNetResNet3d  # noqa: F401
from .heads import DDNetHead  # noqa: F401

__all__ = ['DDNetBasicBlock', 'DDNetResNet', 'DDNetResNet3d', 'DDNetHead']
