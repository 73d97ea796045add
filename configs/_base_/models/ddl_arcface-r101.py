# DDLGroupEncoder around the ArcFace ResNet-101 face base (test only); the
# ddl_arcface-r101-ms1m_* configs add the test data and metric. Baselines:
#   --cfg-options model.aggregator.mode=dense model.aggregator.threshold=None
# (average pooling), mode=top1 (threshold=None), mode=ddl_norescale.
_base_ = [
    '../../face/arcface_r101_4xb128-24e_ms1m-recordio.py',
    './ddnet_r18cd_face.py',
    '../ddl/ddl_group_encoder.py',
]

model = dict(
    _base_.ddl_group_encoder,
    _delete_=True,
    base=_base_.model,
    ddnet=_base_.ddnet_model,
    ddnet_input_size=_base_.ddnet_input_size)
test_dataloader = dict(batch_size=8, **_base_.group_test_dataloader)

# a test-only config: drop the base model's training settings
train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
auto_scale_lr = None
custom_hooks = []
test_cfg = dict()
