# Kinetics-400 in the DDL protocol for the examples: 30 candidate clips of 32
# frames (interval 2) per video; the DDNet pass sees their centre crops, the
# DDL test all 3 crops (num_clips packed for the views = clips x crops check).
k400_root = 'data/kinetics400'
k400_sampling = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=32, frame_interval=2, num_clips=30,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
]
k400_train = dict(
    type='VideoDataset',
    ann_file=f'{k400_root}/kinetics400_train_list_videos.txt',
    data_prefix=dict(video=f'{k400_root}/videos_train'))
pack = dict(type='PackActionInputs', meta_keys=(
    'img_shape', 'img_key', 'video_id', 'timestamp', 'num_clips'))
k400_candidates = k400_sampling + [
    dict(type='CenterCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCTHW'), pack]
k400_ddl_test = k400_sampling + [
    dict(type='ThreeCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCTHW'), pack]
