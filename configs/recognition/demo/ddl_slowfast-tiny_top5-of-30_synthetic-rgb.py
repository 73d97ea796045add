# Demo DDL test: the SlowFast Kinetics-700 DDL config made small: the demo base
# recognizer, 30 candidate clips per video, the DDNet seeing each clip at
# 4 frames and 32x32 (as it was trained).
_base_ = ['../ddl_slowfast-r50_top5-of-30_kinetics700-rgb.py']

data_root = 'work_dirs/demo/data'
clip_len, frame_interval, num_candidates = 16, 1, 30

model = dict(
    base=('{{ fileDirname }}/'
          'slowfast_r18-tiny_1xb8-16x1x1-15e_synthetic-rgb.py'),
    num_crops=1,
    ddnet_input=dict(num_frames=4, size=32))

# Two-stage decoding: the data loader decodes the 4 frames per candidate clip
# the DDNet sees, the model the selected clips' 16 frames (same predictions as
# decoding every clip in full, which the dense baseline does with
# --cfg-options test_dataloader.dataset.pipeline.2.one_stage=True).
test_pipeline = [
    dict(type='CheckedDecordInit'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=num_candidates,
         test_mode=True),
    dict(type='DDLTwoStageDecode', ddnet_frames=4,
         pipeline=[dict(type='CenterCrop', crop_size=64),
                   dict(type='FormatShape', input_format='NCTHW')]),
    dict(type='PackActionInputs',
         meta_keys=('img_shape', 'img_key', 'video_id', 'timestamp',
                    'filename', 'num_clips', 'ddl_clip_source'))
]
test_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=False,
    dataset=dict(ann_file=f'{data_root}/val_list.txt',
                 data_prefix=dict(video=data_root), pipeline=test_pipeline))
