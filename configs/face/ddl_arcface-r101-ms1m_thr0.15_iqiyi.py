# DDL on iQIYI-VID-FACE style video verification: each test item is a video;
# TPR at FPR = 1e-4 over all pairs of videos. The "videoname label" list is
# mmddl's format (see docs/face_reid_data.md).
_base_ = ['../_base_/models/ddl_arcface-r101.py']

data_root = 'data/iqiyi_vid_face'
test_pipeline = [
    dict(type='LoadGroupImages', size=112, align=False, crop_bbox=False),
    dict(type='PackGroupInputs'),
]
test_dataloader = dict(
    batch_size=4,
    dataset=dict(
        type='IQIYIVidFaceDataset',
        data_root=data_root,
        ann_file='labels.txt',
        data_prefix='frames',
        fpr=1e-4,
        pipeline=test_pipeline))
test_evaluator = dict(
    type='GroupVerificationMetric',
    protocols=['all_pairs_tpr_at_fpr'],
    fpr=1e-4,
    group_key='group_id',
    label_key='gt_label')
