# DDL on IJB-C 1:1 verification (paper Tables 3-4): each test item is a
# template; images are aligned with their 5 landmarks to the ArcFace template
# (insightface's protocol); TAR at FAR = 1e-6 ... 1e-1 over all listed pairs.
_base_ = ['./_base_/ddl_arcface-resnet101.py']

data_root = 'data/IJBC'
fars = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
test_pipeline = [
    dict(type='LoadGroupImages', size=112, align=True, crop_bbox=False),
    dict(type='PackGroupInputs'),
]
test_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='group_collate'),
    dataset=dict(
        type='IJBDataset',
        data_root=data_root,
        prefix='ijbc',
        data_prefix='loose_crop',
        fars=fars,
        pipeline=test_pipeline))
test_evaluator = dict(
    type='GroupVerificationMetric',
    protocols=['tar_at_far'],
    fars=fars,
    roc_mode='le',
    group_key='group_id')
