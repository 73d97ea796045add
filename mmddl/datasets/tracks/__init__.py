"""Tracks (MOTChallenge files over frames or a video) as DDL groups."""
from .crop_geometry import box_status, crop_region, cut_crop
from .frame_source import FrameSource
from .load_track_crops import TRACK_META_KEYS, LoadTrackCrops
from .mot_format import (MOTTable, SeqInfo, format_mot, read_mot, read_seqinfo,
                         write_mot, write_mot_table, write_seqinfo)
from .mot_track_dataset import MOTTrackDataset

__all__ = [
    'FrameSource', 'LoadTrackCrops', 'MOTTable', 'MOTTrackDataset', 'SeqInfo',
    'TRACK_META_KEYS', 'box_status', 'crop_region', 'cut_crop', 'format_mot',
    'read_mot', 'read_seqinfo', 'write_mot', 'write_mot_table', 'write_seqinfo'
]
