# Face demo group evaluation on the synthetic YouTube Faces miniature: the
# real YTF DDL config with the demo's small base model, 32x32 frames and the
# DDNet at that size.
_base_ = [
    '../ddl_arcface-r101-ms1m_thr0.15_ytf.py',
    '../../_base_/demo/face_settings.py',
]

model = dict(base=_base_.demo_base_model,
             ddnet_input_size=_base_.demo_img_size)

test_dataloader = dict(
    batch_size=8,
    num_workers=0,
    dataset=dict(
        data_root=_base_.demo_root + '/data/ytf',
        pipeline=[
            dict(type='LoadGroupImages', size=_base_.demo_img_size,
                 align=False, crop_bbox=False),
            dict(type='PackGroupInputs'),
        ]))
