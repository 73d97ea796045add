# DDL test of the SlowFast-R50 Kinetics-700 recognizer (paper Table 9): the
# DDNet scores all 30 candidate clips x 3 crops, the base runs on the top-5.
#
#   python tools/test.py \
#       configs/recognition/ddl_slowfast-r50_top5-of-30_kinetics700-rgb.py \
#       PATH/TO/slowfast.pth --ddnet-checkpoint PATH/TO/ddnet.pth
# Baselines: --cfg-options model.aggregator.mode=dense (all N), uniform,
# random (K clips) or ddl_norescale.
_base_ = [
    './slowfast_r50_8xb8-4x16x1-256e_kinetics700-rgb.py',
    '../_base_/ddl/ddl_recognizer.py',
]

model = dict(
    _delete_=True,
    base=_base_.model,
    aggregator=dict(
        type='DDLAggregator', mode='ddl', topk=_base_.k700_topk),
    **_base_.ddl_recognizer)
test_evaluator = dict(type='DDLMetric')
