# DiscriminabilityHook settings shared by every DDNet training config: cosine
# discriminability (Eq. 2); each config adds its base config, checkpoint and
# candidate pipeline (and batch sizes where they differ).
discriminability_hook = dict(
    type='DiscriminabilityHook', metric='cosine', batch_size=1, num_workers=4)
