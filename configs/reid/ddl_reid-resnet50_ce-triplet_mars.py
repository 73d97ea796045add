# DDL on MARS video re-ID (paper Table 7): each test item is a tracklet; the
# DDNet scores every frame, frames with a D-score above t = 0.15 are kept, the
# ResNet-50 re-ID model runs only on them and their L2-normalised BN-neck
# features are fused with re-scaled D-score weights. Queries/gallery from
# info/query_IDX.mat; mAP and CMC rank-1/5/20 with the same-pid-same-camera
# gallery entries removed. Baselines are config switches, e.g.
#   --cfg-options model.aggregator.mode=dense model.aggregator.threshold=None
# (average pooling), mode=top1 (threshold=None), mode=ddl_norescale.
_base_ = [
    './reid_resnet50_ce-triplet_mars.py',
    './_base_/ddnet_resnet18-cd_reid.py',
]

model = dict(
    _delete_=True,
    type='DDLGroupEncoder',
    base=_base_.model,
    ddnet=_base_.ddnet_model,
    aggregator=dict(type='DDLAggregator', mode='ddl', threshold=0.15),
    ddnet_input_size=_base_.ddnet_input_size,
    feature_stage='pre_logits',  # BN-neck feature
    normalize_elements=True,
    normalize_output=False,
    base_checkpoint=None,  # tools/test.py: positional checkpoint
    ddnet_checkpoint=None,  # tools/test.py: --ddnet-checkpoint
    max_batch=256)

test_pipeline = [
    dict(type='LoadGroupImages', size=(_base_.img_scale[1],
                                       _base_.img_scale[0]),
         align=False, crop_bbox=False),
    dict(type='PackGroupInputs'),
]
test_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='group_collate'),
    dataset=dict(
        type='MARSDataset',
        data_root=_base_.data_root,
        split='test',
        item='tracklet',
        pipeline=test_pipeline))
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
