"""The paper's equations as pure functions: Eq. 2-4 in
:mod:`.discriminability`, Eq. 7-11 in :mod:`.fusion`."""
from .discriminability import (centroid_sums, centroids_from_sums,
                               class_centroids, discriminability,
                               discriminability_ratio, discriminability_stats,
                               normalize_discriminability,
                               normalize_discriminability_per_class)
from .fusion import (fuse, fuse_groups, rescale_groups, rescale_weights,
                     select_elements, select_groups, weighted_mean,
                     weighted_mean_groups)

__all__ = [
    'centroid_sums', 'centroids_from_sums', 'class_centroids',
    'discriminability', 'discriminability_ratio', 'discriminability_stats',
    'normalize_discriminability', 'normalize_discriminability_per_class',
    'select_elements', 'rescale_weights', 'weighted_mean', 'fuse',
    'fuse_groups', 'select_groups', 'rescale_groups', 'weighted_mean_groups'
]
