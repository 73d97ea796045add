# I3D-R50 (inflated 3D ResNet-50) on Kinetics-700, a base recognizer M of the
# paper's Table 9: mmaction2's Kinetics-400 recipe, Kinetics-700 data.
_base_ = [
    'mmaction::recognition/i3d/'
    'i3d_imagenet-pretrained-r50_8xb8-32x2x1-100e_kinetics400-rgb.py',
    '../_base_/ddl/candidates_k700.py',
    '../_base_/ddl/clip_views.py',
]
custom_imports = dict(imports=['mmddl'], allow_failed_imports=False)

model = dict(cls_head=dict(num_classes=700))

test_pipeline = _base_.k700_sampling + _base_.three_crop_256
train_dataloader = dict(dataset=_base_.k700_train)
val_dataloader = dict(dataset=_base_.k700_val)
test_dataloader = dict(dataset=dict(_base_.k700_val, pipeline=test_pipeline))
