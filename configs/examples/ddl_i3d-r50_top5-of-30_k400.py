# DDL for mmaction2's stock I3D-R50 (Kinetics-400), step 2: the DDNet scores
# 30 candidate clips x 3 crops, the base runs on the top 5. Its bases come
# from the installed packages, so a copy works in any folder. Our tool, or
# mmaction2's own with --cfg-options model.ddnet_checkpoint=PATH/TO/ddnet.pth:
#   python tools/test.py configs/examples/ddl_i3d-r50_top5-of-30_k400.py \
#       PATH/TO/base.pth --ddnet-checkpoint PATH/TO/ddnet.pth
_base_ = [
    'mmaction::recognition/i3d/i3d_imagenet-pretrained-r50_8xb8-32x2x1-100e_kinetics400-rgb.py',
    'mmddl::_base_/ddl/ddl_recognizer.py',
    'mmddl::examples/_base_/k400_ddl.py',
]
custom_imports = dict(imports=['mmddl'], allow_failed_imports=False)

model = dict(
    _base_.ddl_recognizer,
    _delete_=True,
    base=_base_.model,
    aggregator=dict(type='DDLAggregator', mode='ddl', topk=5))
test_dataloader = dict(dataset=dict(pipeline=_base_.k400_ddl_test))
test_evaluator = dict(type='DDLMetric')
