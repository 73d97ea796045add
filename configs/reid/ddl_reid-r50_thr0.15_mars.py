# DDL on MARS video re-ID (paper Table 7): each test item is a tracklet;
# queries / gallery from info/query_IDX.mat, mAP and CMC rank-1/5/20 with the
# same-pid-same-camera gallery entries removed.
_base_ = [
    './reid_r50_1xb64-ce-triplet-120e_mars.py',
    '../_base_/models/ddnet_r18cd_reid.py',
    '../_base_/ddl/ddl_group_encoder.py',
]

model = dict(
    _base_.ddl_group_encoder,
    _delete_=True,
    base=_base_.model,
    ddnet=_base_.ddnet_model,
    ddnet_input_size=_base_.ddnet_input_size)

# Two-stage reading (the DDNet's 128x64 input from a 1/2-size JPEG decode,
# the kept frames at 256x128 on demand; D-scores differ slightly from
# resizing the full frame): --cfg-options
#   test_dataloader.dataset.pipeline.0.two_stage=True
test_pipeline = [
    dict(type='LoadGroupImages', size=(_base_.img_scale[1],
                                       _base_.img_scale[0]),
         align=False, crop_bbox=False, two_stage=False,
         ddnet_size=_base_.ddnet_input_size),
    dict(type='PackGroupInputs'),
]
test_dataloader = dict(
    batch_size=4,
    dataset=dict(
        type='MARSDataset',
        data_root=_base_.data_root,
        split='test',
        item='tracklet',
        pipeline=test_pipeline),
    **_base_.group_test_dataloader)
test_evaluator = dict(
    type='GroupReIDMetric', ranks=(1, 5, 20), normalize=True)

# a test-only config: drop the base model's training settings
train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
auto_scale_lr = None
custom_hooks = []
test_cfg = dict()
