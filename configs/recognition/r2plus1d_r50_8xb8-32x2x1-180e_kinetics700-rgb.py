# R(2+1)D-R50 on Kinetics-700, a base recognizer M of the paper's Table 9:
# mmaction2's R(2+1)D-R34 Kinetics-400 recipe at depth 50, Kinetics-700 data.
_base_ = [
    'mmaction::recognition/r2plus1d/'
    'r2plus1d_r34_8xb8-32x2x1-180e_kinetics400-rgb.py',
    '../_base_/ddl/candidates_k700.py',
    '../_base_/ddl/clip_views.py',
]
custom_imports = dict(imports=['mmddl'], allow_failed_imports=False)

model = dict(
    backbone=dict(depth=50),
    cls_head=dict(num_classes=700, in_channels=2048))

test_pipeline = _base_.k700_sampling + _base_.three_crop_128
train_dataloader = dict(dataset=_base_.k700_train)
val_dataloader = dict(dataset=_base_.k700_val)
test_dataloader = dict(dataset=dict(_base_.k700_val, pipeline=test_pipeline))
