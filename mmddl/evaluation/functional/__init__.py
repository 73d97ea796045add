"""Pure metric functions for the face-verification and re-ID protocols."""
from ._utils import NON_FINITE_HINT, NonFiniteError, check_finite
from .reid_metrics import cmc_at, pairwise_l2, reid_evaluate
from .verification import (TAR_MODES, KFoldResult, best_threshold,
                           kfold_accuracy, media_template_pool, roc_points,
                           roc_tar_at_far, roc_tar_at_far_folds, tpr_at_fpr,
                           tpr_at_fpr_all_pairs)

__all__ = [
    'NON_FINITE_HINT', 'NonFiniteError', 'check_finite', 'TAR_MODES',
    'KFoldResult', 'best_threshold', 'kfold_accuracy', 'media_template_pool',
    'roc_points', 'roc_tar_at_far', 'roc_tar_at_far_folds', 'tpr_at_fpr',
    'tpr_at_fpr_all_pairs', 'reid_evaluate', 'pairwise_l2', 'cmc_at'
]
