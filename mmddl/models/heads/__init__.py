"""DDNet heads (registered in mmengine's root MODELS registry)."""
from .ddnet_head import DDNetHead

__all__ = ['DDNetHead']
