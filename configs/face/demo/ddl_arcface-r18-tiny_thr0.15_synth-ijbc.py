# Face demo group evaluation on the synthetic IJB-C miniature: the real IJB-C
# DDL config with the demo's small base model and 32x32 faces aligned with
# their landmarks. A miniature has tens of thousands of impostor pairs at
# most, so TAR is reported at FAR >= 1e-4 only.
_base_ = [
    '../ddl_arcface-r101-ms1m_thr0.15_ijbc.py',
    '../../_base_/demo/face_settings.py',
]

fars = (1e-4, 1e-3, 1e-2, 1e-1)
model = dict(base=_base_.demo_base_model,
             ddnet_input_size=_base_.demo_img_size)

test_dataloader = dict(
    batch_size=8,
    num_workers=0,
    dataset=dict(
        data_root=_base_.demo_root + '/data/ijbc',
        fars=fars,
        pipeline=[
            dict(type='LoadGroupImages', size=_base_.demo_img_size,
                 align=True, crop_bbox=False),
            dict(type='PackGroupInputs'),
        ]))
test_evaluator = dict(fars=fars)
