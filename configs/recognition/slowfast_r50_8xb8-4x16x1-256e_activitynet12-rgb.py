# The SlowFast-R50 recognizer on ActivityNet-1.2 (paper Table 8): untrimmed
# videos, 100 leaf classes, 60 candidate clips per video at test time.
_base_ = [
    './slowfast_r50_8xb8-4x16x1-256e_kinetics700-rgb.py',
    '../_base_/ddl/candidates_anet12.py',
]

model = dict(cls_head=dict(num_classes=_base_.anet12_num_classes))

test_pipeline = _base_.anet12_sampling + _base_.three_crop_256
train_dataloader = dict(dataset=_base_.anet12_train)
val_dataloader = dict(dataset=_base_.anet12_val)
test_dataloader = dict(dataset=dict(_base_.anet12_val, pipeline=test_pipeline))
