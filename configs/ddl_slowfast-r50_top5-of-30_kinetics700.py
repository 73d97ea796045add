# Test the SlowFast-R50 Kinetics-700 recognizer with DDL (paper Table 8):
# the DDNet scores all 30 candidate clips (x 3 crops), the base runs on the
# top-5 clips only, and their class scores are fused with re-scaled D-score
# weights (Eq. 8-11).
#
#   python tools/test.py configs/ddl_slowfast-r50_top5-of-30_kinetics700.py \
#       PATH/TO/slowfast.pth --ddnet-checkpoint PATH/TO/ddnet.pth
# Baselines: --cfg-options model.aggregator.mode=dense (all 30), uniform,
# random (K=5) or ddl_norescale.
_base_ = ['./recognition/slowfast_r50_8xb8-4x16x1-256e_kinetics700-rgb.py']
custom_imports = dict(imports=['mmddl'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='DDLRecognizer',
    base={{_base_.model}},
    base_checkpoint=None,  # the positional checkpoint of tools/test.py
    ddnet=dict(
        type='Recognizer3D',
        backbone=dict(type='DDNetResNet3d'),
        cls_head=dict(type='DDNetHead', in_channels=48),
        data_preprocessor={{_base_.model.data_preprocessor}}),
    ddnet_checkpoint=None,
    aggregator=dict(type='DDLAggregator', mode='ddl', topk=5),
    num_crops=3,
    ddnet_input=dict(num_frames=16, size=112))

test_evaluator = dict(type='DDLMetric')
