# Views of a sampled clip: the recognizers' 3-crop test view and the centre
# view scored by the discriminability pass, at short side 256 or 128 (the
# mmaction2 recipes' views; the paper's 112 px centre crop: docs/fidelity.md).
# The test views pack num_clips so DDLRecognizer checks clips x crops.
test_meta_keys = ('img_shape', 'img_key', 'video_id', 'timestamp',
                  'num_clips')
# DDLTwoStageDecode's clip source (and the file, for error messages) travel
# to DDLRecognizer in the data samples.
two_stage_meta_keys = test_meta_keys + ('filename', 'ddl_clip_source')
three_crop_256 = [
    dict(type='Resize', scale=(-1, 256)),
    dict(type='ThreeCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=test_meta_keys),
]
center_crop_256 = [
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
three_crop_128 = [
    dict(type='Resize', scale=(-1, 128)),
    dict(type='ThreeCrop', crop_size=128),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=test_meta_keys),
]
center_crop_128 = [
    dict(type='Resize', scale=(-1, 128)),
    dict(type='CenterCrop', crop_size=128),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
