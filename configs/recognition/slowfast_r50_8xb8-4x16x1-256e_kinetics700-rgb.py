# SlowFast-R50 on Kinetics-700, a base recognizer M of the paper's Table 9:
# mmaction2's Kinetics-400 recipe with the Kinetics-700 data and 700 classes.
_base_ = [
    'mmaction::recognition/slowfast/'
    'slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb.py',
    '../_base_/ddl/candidates_k700.py',
    '../_base_/ddl/clip_views.py',
]
custom_imports = dict(imports=['mmddl'], allow_failed_imports=False)

model = dict(cls_head=dict(num_classes=700))

test_pipeline = _base_.k700_sampling + _base_.three_crop_256
train_dataloader = dict(dataset=_base_.k700_train)
val_dataloader = dict(dataset=_base_.k700_val)
test_dataloader = dict(dataset=dict(_base_.k700_val, pipeline=test_pipeline))
