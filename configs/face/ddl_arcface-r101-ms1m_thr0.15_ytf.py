# DDL on YouTube Faces (paper Table 1): each test item is a video (all its
# frames), 5000 pairs in 10 splits, 10-fold accuracy with the threshold chosen
# on the other 9 folds.
_base_ = ['../_base_/models/ddl_arcface-r101.py']

data_root = 'data/ytf'
test_pipeline = [
    # aligned_images_DB frames, resized to the base's 112x112 input
    dict(type='LoadGroupImages', size=112, align=False, crop_bbox=False),
    dict(type='PackGroupInputs'),
]
test_dataloader = dict(
    batch_size=4,
    dataset=dict(
        type='YTFDataset',
        data_root=data_root,
        ann_file='splits.txt',
        data_prefix='aligned_images_DB',
        pipeline=test_pipeline))
test_evaluator = dict(
    type='GroupVerificationMetric',
    protocols=['kfold'],
    group_key='group_id',  # pairs refer to the data set's group ids
    folds_key='pair_folds')
