# DDLGroupEncoder settings for face templates / videos and re-ID tracklets
# (Eq. 7-11): elements with a D-score above t = 0.15 go through the base,
# their L2-normalised features are fused with re-scaled D-score weights.
ddl_group_encoder = dict(
    type='DDLGroupEncoder',
    aggregator=dict(type='DDLAggregator', mode='ddl', threshold=0.15),
    feature_stage='pre_logits',
    normalize_elements=True,
    normalize_output=False,
    base_checkpoint=None,  # tools/test.py: positional checkpoint
    ddnet_checkpoint=None,  # tools/test.py: --ddnet-checkpoint
    max_batch=256,
    # test-time flip: each image's D-score is the mean of the DDNet's on the
    # image and on its mirror (twice the DDNet's ~0.08 GFLOPs per image); it
    # ranked the face and re-ID validation groups better (docs/face_reid.md).
    # The paper's single pass: --cfg-options model.ddnet_flip=False
    # (docs/fidelity.md lists every departure from the paper)
    ddnet_flip=True)
group_test_dataloader = dict(
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='group_collate'))
