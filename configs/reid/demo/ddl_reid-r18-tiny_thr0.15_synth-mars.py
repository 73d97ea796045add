# Re-ID demo group evaluation on the synthetic MARS miniature: the real MARS
# DDL config with the demo's small base model, 64x32 crops and the DDNet at
# that size.
_base_ = [
    '../ddl_reid-r50_thr0.15_mars.py',
    '../../_base_/demo/reid_settings.py',
]

model = dict(base=_base_.demo_base_model,
             ddnet_input_size=(_base_.demo_img_scale[1],
                               _base_.demo_img_scale[0]))

test_dataloader = dict(
    batch_size=8,
    num_workers=0,
    dataset=dict(
        data_root=_base_.demo_root + '/data/mars',
        pipeline=[
            dict(type='LoadGroupImages',
                 size=(_base_.demo_img_scale[1], _base_.demo_img_scale[0]),
                 align=False, crop_bbox=False),
            dict(type='PackGroupInputs'),
        ]))
