# DDL test of the R(2+1)D-R50 ActivityNet-1.2 recognizer (paper Table 8): the
# DDNet scores all 60 candidate clips x 3 crops, the base runs on the top-9.
_base_ = [
    './r2plus1d_r50_8xb8-32x2x1-180e_activitynet12-rgb.py',
    '../_base_/ddl/ddl_recognizer.py',
]

model = dict(
    _base_.ddl_recognizer,
    _delete_=True,
    base=_base_.model,
    aggregator=dict(type='DDLAggregator', mode='ddl', topk=_base_.anet12_topk))
test_pipeline = _base_.test_pipeline[:2] + [
    dict(_base_.ddl_two_stage_decode, pipeline=_base_.test_pipeline[3:-1]),
    dict(_base_.test_pipeline[-1], meta_keys=_base_.two_stage_meta_keys)
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_evaluator = dict(type='DDLMetric')
