# Train a 3D DDNet on the D-scores of a frozen 3D-ResNet-50 (I3D) Kinetics-700
# recognizer: configs/ddnet_slowfast_k700.py with another base.
_base_ = ['./ddnet_slowfast_k700.py']

base_config = '{{ fileDirname }}/recognition/i3d_r50_8xb8-32x2x1-100e_kinetics700-rgb.py'
base_checkpoint = 'checkpoints/i3d_r50_kinetics700.pth'
candidate_pipeline = [
    dict(type='CheckedDecordInit'),
    dict(type='SampleFrames', clip_len=32, frame_interval=2, num_clips=30,
         test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
custom_hooks = [
    dict(type='DiscriminabilityHook', base_config=base_config,
         base_checkpoint=base_checkpoint,
         candidate_pipeline=candidate_pipeline, batch_size=1,
         num_workers=4, metric='cosine')
]
