# DiscriminabilityHook settings shared by every DDNet training config: cosine
# discriminability (Eq. 2); each config adds its base config, checkpoint and
# candidate pipeline (and batch sizes where they differ). A stale table (other
# data list / sample files / checkpoint / settings) stops the run naming what
# differs (on_stale='recompute' recomputes it); feature shards of a killed
# pass are verified by content before reuse (verify='size': sizes only).
discriminability_hook = dict(
    type='DiscriminabilityHook', metric='cosine', batch_size=1, num_workers=4,
    on_stale='error', verify='sha256')
