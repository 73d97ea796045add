# DDL on IJB-C 1:1 verification (paper Table 4): each test item is a template,
# images aligned with their 5 landmarks; TAR at FAR = 1e-6 ... 1e-1 over all
# listed pairs, read with insightface's 'nearest' rule.
_base_ = ['../_base_/models/ddl_arcface-r101.py']

data_root = 'data/IJBC'
fars = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
# insightface's IJB-B/C protocol: media-then-template pooling
model = dict(media_pooling=True)
test_pipeline = [
    dict(type='LoadGroupImages', size=112, align=True, crop_bbox=False),
    dict(type='PackGroupInputs'),
]
test_dataloader = dict(
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
    tar_mode='nearest',
    group_key='group_id')
