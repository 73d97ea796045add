# Test the R(2+1)D-R50 Kinetics-700 recognizer with DDL (paper Table 8):
# DDNet on all 30 candidate clips x 3 crops, the base on the top-5 clips.
_base_ = ['./ddl_slowfast-r50_top5-of-30_kinetics700.py']

model = dict(base='{{ fileDirname }}/recognition/r2plus1d_r50_8xb8-32x2x1-180e_kinetics700-rgb.py')
test_dataloader = dict(dataset=dict(pipeline=[
    dict(type='CheckedDecordInit'),
    dict(type='SampleFrames', clip_len=32, frame_interval=2, num_clips=30,
         test_mode=True),
    dict(type='CheckedDecordDecode'),
    dict(type='Resize', scale=(-1, 128)),
    dict(type='ThreeCrop', crop_size=128),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]))
