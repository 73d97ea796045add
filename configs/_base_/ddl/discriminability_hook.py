# DiscriminabilityHook settings shared by every DDNet training config: cosine
# discriminability (Eq. 2); each config adds the base model
# (base=dict(config=..., checkpoint=...)) and its candidate pipeline
# (candidates=dict(_base_.discriminability_hook.candidates, pipeline=...)),
# and batch sizes where they differ. A stale table (other data list / sample
# files / checkpoint / settings) stops the run naming what differs
# (table.on_stale='recompute' recomputes it); feature shards of a killed pass
# are verified by content before reuse (compute.verify='size': sizes only).
discriminability_hook = dict(
    type='DiscriminabilityHook',
    candidates=dict(batch_size=1, num_workers=4),
    dscore=dict(metric='cosine'),
    table=dict(on_stale='error'),
    compute=dict(verify='sha256'))
