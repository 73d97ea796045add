"""Face verification / training datasets in their real on-disk formats."""
from .alignment import (ARCFACE_TEMPLATE_112, align_face, arcface_template,
                        crop_bbox, similarity_transform)
from .ijb import IJBDataset
from .ijba import IJBADataset
from .iqiyi import IQIYIVidFaceDataset
from .mxface import MXFaceDataset
from .ytf import YTFDataset

__all__ = [
    'ARCFACE_TEMPLATE_112', 'align_face', 'arcface_template', 'crop_bbox',
    'similarity_transform', 'IJBDataset', 'IJBADataset', 'IQIYIVidFaceDataset',
    'MXFaceDataset', 'YTFDataset'
]
