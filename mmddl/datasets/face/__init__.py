"""Face verification / training datasets in their real on-disk formats."""
from .alignment import (ARCFACE_TEMPLATE_112, align_face, arcface_template,
                        crop_bbox, similarity_transform)
from .base_group import BaseGroupDataset, DatasetFormatError
from .group_transforms import LoadGroupImages, PackGroupInputs
from .ijb import IJBDataset
from .ijba import IJBADataset
from .iqiyi import IQIYIVidFaceDataset
from .mxface import MXFaceDataset
from .ytf import YTFDataset

__all__ = [
    'ARCFACE_TEMPLATE_112', 'align_face', 'arcface_template', 'crop_bbox',
    'similarity_transform', 'BaseGroupDataset', 'DatasetFormatError',
    'LoadGroupImages', 'PackGroupInputs', 'IJBDataset', 'IJBADataset',
    'IQIYIVidFaceDataset', 'MXFaceDataset', 'YTFDataset'
]
