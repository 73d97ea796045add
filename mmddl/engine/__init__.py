"""Engine of DDL training: the discriminability pass and its hook."""
from .base_model import base_model_cfg, build_base_model, load_weights_strict
from .candidates import (FeatureCollection, SafeDataset, SampleRange,
                         SampleSubset, candidate_dataset_cfg, collect_features,
                         ensure_meta_keys, train_dataset_cfg)
from .discriminability_pass import (DEFAULT_SHARD_SIZE, compute_score_table,
                                    prepare_score_table)
from .feature_store import FeatureShard, FeatureStore
from .features import extract_features
from .held_out_val_loop import HeldOutValLoop
from .hooks import DiscriminabilityHook
from .lock import LockHeldError, WorkDirLock
from mmddl.utils.progress import LogProgress

__all__ = [
    'base_model_cfg', 'build_base_model', 'load_weights_strict',
    'FeatureCollection', 'SafeDataset', 'SampleRange', 'SampleSubset',
    'candidate_dataset_cfg', 'collect_features', 'ensure_meta_keys',
    'train_dataset_cfg', 'DEFAULT_SHARD_SIZE', 'compute_score_table',
    'prepare_score_table', 'FeatureShard', 'FeatureStore', 'extract_features',
    'DiscriminabilityHook', 'LockHeldError', 'WorkDirLock', 'HeldOutValLoop',
    'LogProgress'
]
