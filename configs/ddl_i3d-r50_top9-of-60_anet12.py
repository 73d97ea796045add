# Test the i3d ActivityNet-1.2 recognizer with DDL (paper Table 9): the
# DDNet scores all 60 candidate clips (x 3 crops), the base runs on the top-9.
_base_ = ['./recognition/i3d_r50_8xb8-32x2x1-100e_activitynet12-rgb.py']
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
    aggregator=dict(type='DDLAggregator', mode='ddl', topk=9),
    num_crops=3,
    ddnet_input=dict(num_frames=16, size=112))
test_evaluator = dict(type='DDLMetric')
