"""Entry points over footage: detect and track persons or faces with mmdet,
encode every track with DDL, match tracks across cameras (mmdet is imported
only when a detector runs)."""
from .contact_sheet import draw_contact_sheet
from .mot_tracker import (TARGET_CLASSES, MOTTracker, TrackingResult,
                          config_classes, init_tracker,
                          load_tracker_checkpoint, target_labels,
                          track_footage)
from .track_ddl import open_inputs, run_track_ddl
from .track_encoder import (METHODS, TrackEncoder, TrackEncoding,
                            build_track_encoder, config_target, encode_tracks,
                            method_summary)
from .track_matching import cross_video_matches, normalize_rows

__all__ = [
    'TARGET_CLASSES', 'METHODS', 'MOTTracker', 'TrackingResult',
    'TrackEncoder', 'TrackEncoding', 'build_track_encoder', 'config_target',
    'config_classes', 'cross_video_matches', 'draw_contact_sheet',
    'encode_tracks', 'init_tracker', 'load_tracker_checkpoint',
    'method_summary', 'normalize_rows', 'open_inputs', 'run_track_ddl',
    'target_labels', 'track_footage'
]
