# DDL on IJB-A 1:1 verification: templates of the 10 splits, faces cropped
# with their boxes; TAR at FAR = 1e-3, 1e-2, 1e-1 as mean and std over splits.
_base_ = ['../_base_/models/ddl_arcface-r101.py']

data_root = 'data/IJBA'
fars = (1e-3, 1e-2, 1e-1)
test_pipeline = [
    dict(type='LoadGroupImages', size=112, align=False, crop_bbox=True,
         bbox_scale=1.0),
    dict(type='PackGroupInputs'),
]
test_dataloader = dict(
    dataset=dict(
        type='IJBADataset',
        data_root=data_root,
        splits=tuple(range(1, 11)),
        fars=fars,
        pipeline=test_pipeline))
test_evaluator = dict(
    type='GroupVerificationMetric',
    protocols=['tar_at_far_folds'],
    fars=fars,
    tar_mode='le',
    group_key='group_id',
    folds_key='pair_folds')
