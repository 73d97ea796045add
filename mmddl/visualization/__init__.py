"""Pictures of D-scores: Fig. 3-style galleries and histograms."""
from .elements import (ClipReader, choose_groups, dump_groups, dump_labels,
                       read_dump, read_image, table_groups)
from .gallery import GalleryGroup, draw_gallery, kept_mask
from .histograms import class_histograms, dscore_histogram_image, figure_to_rgb

__all__ = [
    'ClipReader', 'choose_groups', 'dump_groups', 'dump_labels', 'read_dump',
    'read_image', 'table_groups', 'GalleryGroup', 'draw_gallery', 'kept_mask',
    'class_histograms', 'dscore_histogram_image', 'figure_to_rgb'
]
