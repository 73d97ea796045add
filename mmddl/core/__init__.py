"""The paper's equations as pure functions (torch in and out).

* :mod:`.discriminability` - Eq. 2-4 (training: centroids, D, D-score).
* :mod:`.fusion` - Eq. 7-11 (test: selection, re-scaling, weighted fusion).
"""
from .discriminability import (centroid_sums, centroids_from_sums,
                               class_centroids, discriminability,
                               discriminability_ratio,
                               discriminability_stats,
                               normalize_discriminability)
from .fusion import (fuse, fuse_groups, rescale_groups, rescale_weights,
                     select_elements, select_groups, weighted_mean,
                     weighted_mean_groups)

__all__ = [
    'centroid_sums', 'centroids_from_sums', 'class_centroids',
    'discriminability', 'discriminability_ratio', 'discriminability_stats',
    'normalize_discriminability', 'select_elements', 'rescale_weights',
    'weighted_mean', 'fuse', 'fuse_groups', 'select_groups',
    'rescale_groups', 'weighted_mean_groups'
]
