"""Engine pieces of DDL training: the discriminability pass and its hook.

* :mod:`.features` - one pooled feature per element from a stock model.
* :mod:`.score_table` - the D-score table (``.npz``, fingerprinted).
* :mod:`.discriminability_pass` - features -> centroids -> D -> D-scores.
* :mod:`.sharded_pass` - the same pass over rank shards (torchrun / slurm),
  with features on disk (:mod:`.feature_store`), all-reduced centroids
  (:mod:`.distributed`), a blocked hardest-negative search
  (:mod:`.fast_similarity`) and resume from finished shards.
* :mod:`.hooks` - ``DiscriminabilityHook`` (mmengine ROOT ``HOOKS``).
"""
from .discriminability_pass import (FeatureCollection, SafeDataset,
                                    build_candidate_loader, collect_features,
                                    compute_centroids, compute_score_table,
                                    ensure_meta_keys, score_elements)
from .fast_similarity import HardestNegativeSearch, blocked_discriminability
from .feature_store import FeatureShard, FeatureStore
from .features import extract_features
from .hooks import DiscriminabilityHook
from mmddl.structures.score_table import (ScoreTable, StaleScoreTableError,
                                        make_fingerprint)
from .sharded_pass import compute_score_table_sharded

__all__ = [
    'extract_features', 'ScoreTable', 'StaleScoreTableError',
    'make_fingerprint', 'FeatureCollection', 'SafeDataset',
    'build_candidate_loader', 'collect_features', 'compute_centroids',
    'score_elements', 'compute_score_table', 'ensure_meta_keys',
    'DiscriminabilityHook', 'compute_score_table_sharded', 'FeatureStore',
    'FeatureShard', 'HardestNegativeSearch', 'blocked_discriminability'
]
