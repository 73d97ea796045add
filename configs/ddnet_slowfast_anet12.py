# Train a 3D DDNet on the D-scores of the frozen slowfast ActivityNet-1.2
# recognizer: 60 candidate clips per untrimmed training video.
_base_ = ['./ddnet_slowfast_k700.py']

base_config = '{{ fileDirname }}/recognition/slowfast_r50_8xb8-4x16x1-256e_activitynet12-rgb.py'
base_checkpoint = 'checkpoints/slowfast_r50_activitynet12.pth'
train_dataloader = dict(dataset=dict(
    type='ActivityNetVideoDataset',
    ann_file='data/ActivityNet/activity_net.v1-2.min.json',
    subset='training', data_prefix=dict(video='data/ActivityNet/videos')))
candidate_pipeline = [
    dict(type='CheckedDecordInit'),
    dict(type='SampleFrames', clip_len=32, frame_interval=2, num_clips=60,
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
