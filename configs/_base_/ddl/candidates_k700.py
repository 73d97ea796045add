# Kinetics-700 in the DDL protocol (paper Table 9): N = 30 candidate clips of
# 32 frames (interval 2) per video, the base model runs on the top K = 5.
k700_topk = 5
k700_sampling = [
    dict(type='CheckedDecordInit'),
    dict(type='SampleFrames', clip_len=32, frame_interval=2, num_clips=30,
         test_mode=True),
    dict(type='CheckedDecordDecode'),
]
k700_train = dict(
    type='CheckedVideoDataset',
    ann_file='data/kinetics700/kinetics700_train_list_videos.txt',
    data_prefix=dict(video='data/kinetics700/videos_train'))
k700_val = dict(
    type='CheckedVideoDataset',
    ann_file='data/kinetics700/kinetics700_val_list_videos.txt',
    data_prefix=dict(video='data/kinetics700/videos_val'))
