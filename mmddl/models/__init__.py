"""DDL models (registered in the OpenMMLab registries).

* backbones / heads: the DDNet (2D, 3D) and its D-score head;
* aggregators: the test-time sampler / aggregator (Eq. 7-11 adapter);
* recognizers: ``DDLRecognizer`` (video, mmaction2);
* face: margin heads, re-ID head, ``DDLGroupEncoder`` (face / re-ID groups).
"""
from . import aggregators, face, recognizers, utils  # noqa: F401
from .backbones import DDNetBasicBlock, DDNetResNet, DDNetResNet3d  # noqa: F401
from .heads import DDNetHead  # noqa: F401

__all__ = ['DDNetBasicBlock', 'DDNetResNet', 'DDNetResNet3d', 'DDNetHead']
