"""Pure metric functions for the face-verification, re-ID and MOT
(TrackEval) protocols."""
from ._utils import NON_FINITE_HINT, NonFiniteError, check_finite
from .mot_challenge import mot_challenge_metrics
from .reid_metrics import cmc_at, normalize_rows, pairwise_l2, reid_evaluate
from .track_reid import (NO_IDENTITY, box_iou, cross_camera_queries,
                         cross_camera_reid, track_identities)
from .verification import (TAR_MODES, KFoldResult, best_threshold,
                           kfold_accuracy, media_template_pool, roc_points,
                           roc_tar_at_far, roc_tar_at_far_folds, tpr_at_fpr,
                           tpr_at_fpr_all_pairs)

__all__ = [
    'NON_FINITE_HINT', 'NonFiniteError', 'check_finite', 'TAR_MODES',
    'KFoldResult', 'best_threshold', 'kfold_accuracy', 'media_template_pool',
    'roc_points', 'roc_tar_at_far', 'roc_tar_at_far_folds', 'tpr_at_fpr',
    'tpr_at_fpr_all_pairs', 'reid_evaluate', 'pairwise_l2', 'cmc_at',
    'normalize_rows', 'mot_challenge_metrics', 'NO_IDENTITY', 'box_iou',
    'cross_camera_queries', 'cross_camera_reid', 'track_identities'
]
