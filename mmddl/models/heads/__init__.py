"""Heads: the DDNet D-score head, face margin heads and the re-ID head."""
from .ddnet_head import DDNetHead
from .margin_heads import CosFaceClsHead, SphereFaceClsHead
from .reid_head import ReIDHead

__all__ = ['DDNetHead', 'CosFaceClsHead', 'SphereFaceClsHead', 'ReIDHead']
