# ActivityNet-1.2 in the DDL protocol (paper Table 8): untrimmed videos, N = 60
# candidate clips of 32 frames (interval 2) per video, the base on the top 9.
anet12_topk = 9
anet12_num_classes = 100
anet12_sampling = [
    dict(type='CheckedDecordInit'),
    dict(type='SampleFrames', clip_len=32, frame_interval=2, num_clips=60,
         test_mode=True),
    dict(type='CheckedDecordDecode'),
]
anet12_train = dict(
    type='ActivityNetVideoDataset',
    ann_file='data/ActivityNet/activity_net.v1-2.min.json',
    subset='training',
    data_prefix=dict(video='data/ActivityNet/videos'))
anet12_val = dict(anet12_train, subset='validation')
