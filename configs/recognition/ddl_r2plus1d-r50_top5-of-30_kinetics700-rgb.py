# DDL test of the R(2+1)D-R50 Kinetics-700 recognizer (paper Table 9): the
# DDNet scores all 30 candidate clips x 3 crops, the base runs on the top-5.
_base_ = [
    './r2plus1d_r50_8xb8-32x2x1-180e_kinetics700-rgb.py',
    '../_base_/ddl/ddl_recognizer.py',
]

model = dict(
    _delete_=True,
    base=_base_.model,
    aggregator=dict(
        type='DDLAggregator', mode='ddl', topk=_base_.k700_topk),
    **_base_.ddl_recognizer)
test_evaluator = dict(type='DDLMetric')

# Two-stage decoding: the DDNet's frames of every candidate clip in the data
# loader, the selected clips at full size in the model (same predictions).
# Whole clips up front (the dense baseline): --cfg-options
# test_dataloader.dataset.pipeline.2.one_stage=True
test_pipeline = _base_.test_pipeline[:2] + [
    dict(type='DDLTwoStageDecode',
         ddnet_frames=_base_.ddnet_input['num_frames'],
         pipeline=_base_.test_pipeline[3:-1]),
    dict(_base_.test_pipeline[-1], meta_keys=_base_.two_stage_meta_keys)
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
