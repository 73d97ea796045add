# Test-time DDL group encoder around the ArcFace ResNet-101 base (paper
# Sec. 3.3): the DDNet scores every image of a group, the elements with a
# D-score above t = 0.15 (Eq. 7) are kept, the base runs only on them and
# their L2-normalised embeddings are fused with re-scaled D-score weights
# (Eq. 8-11). The data-set configs (ddl_*_ytf / _ijbc / _ijba / _iqiyi) add
# the test data and metric. Baselines are config switches, e.g.
#   --cfg-options model.aggregator.mode=dense model.aggregator.threshold=None
# (average pooling of all elements), mode=top1 (top-1 only, threshold=None),
# mode=ddl_norescale (DDL without re-scaling).
_base_ = [
    '../arcface_resnet101_ms1m-recordio.py',
    './ddnet_resnet18-cd.py',
]

model = dict(
    _delete_=True,
    type='DDLGroupEncoder',
    base=_base_.model,
    ddnet=_base_.ddnet_model,
    aggregator=dict(type='DDLAggregator', mode='ddl', threshold=0.15),
    ddnet_input_size=_base_.ddnet_input_size,
    feature_stage='pre_logits',  # the 512-d embedding of the neck
    normalize_elements=True,
    normalize_output=False,
    base_checkpoint=None,  # tools/test.py: positional checkpoint
    ddnet_checkpoint=None,  # tools/test.py: --ddnet-checkpoint
    max_batch=256)

# a test-only config: drop the base model's training settings
train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
auto_scale_lr = None
custom_hooks = []
test_cfg = dict()
