# The video DDL test part (Eq. 7-11), inherited beside a recognizer config:
# the 3D DDNet scores every candidate clip x 3 crops, the base runs on the
# top-K. A DDL test config wraps that config's model and test pipeline:
#   model = dict(_base_.ddl_recognizer, _delete_=True, base=_base_.model,
#                aggregator=dict(type='DDLAggregator', mode='ddl', topk=K))
#   test_pipeline = sampling + [dict(_base_.ddl_two_stage_decode,
#                                    pipeline=views), pack with meta_keys]
#   test_evaluator = dict(type='DDLMetric')
# Run with our tool (bare base checkpoint, --ddnet-checkpoint) or the stock
# one (--cfg-options model.ddnet_checkpoint=...), see docs/plugin_guide.md.
# Baselines: --cfg-options model.aggregator.mode=dense (all N), uniform,
# random (K clips) or ddl_norescale.
_base_ = ['../models/ddnet_r18cd3d.py']

ddl_recognizer = dict(
    type='DDLRecognizer',
    ddnet=_base_.ddnet_model,
    base_checkpoint=None,  # tools/test.py: positional checkpoint
    ddnet_checkpoint=None,  # tools/test.py: --ddnet-checkpoint
    num_crops=3,
    ddnet_input=_base_.ddnet_input)
# Two-stage decoding (replaces the decode + view transforms): the DDNet's
# frames of every candidate clip in the data loader, the selected clips at
# full size in the model (same predictions). Whole clips up front (the dense
# baseline): --cfg-options test_dataloader.dataset.pipeline.2.one_stage=True
ddl_two_stage_decode = dict(
    type='DDLTwoStageDecode', ddnet_frames=_base_.ddnet_input['num_frames'])
