# DDL test of the SlowFast-R50 Kinetics-700 recognizer (paper Table 9): the
# DDNet scores all 30 candidate clips x 3 crops, the base runs on the top-5.
#
#   python tools/test.py \
#       configs/recognition/ddl_slowfast-r50_top5-of-30_kinetics700-rgb.py \
#       PATH/TO/slowfast.pth --ddnet-checkpoint PATH/TO/ddnet.pth
_base_ = [
    './slowfast_r50_8xb8-4x16x1-256e_kinetics700-rgb.py',
    '../_base_/ddl/ddl_recognizer.py',
]

model = dict(
    _base_.ddl_recognizer,
    _delete_=True,
    base=_base_.model,
    aggregator=dict(type='DDLAggregator', mode='ddl', topk=_base_.k700_topk))
test_pipeline = _base_.test_pipeline[:2] + [
    dict(_base_.ddl_two_stage_decode, pipeline=_base_.test_pipeline[3:-1]),
    dict(_base_.test_pipeline[-1], meta_keys=_base_.two_stage_meta_keys)
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_evaluator = dict(type='DDLMetric')
