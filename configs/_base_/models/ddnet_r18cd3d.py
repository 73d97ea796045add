# The 3D DDNet (ResNet-18-CD3D: widths 8-16-32-48) in a stock Recognizer3D;
# it sees each base clip at 16 frames (interval 4, same span) and 112x112.
ddnet_input = dict(num_frames=16, size=112)
ddnet_clip_len, ddnet_frame_interval = 16, 4
ddnet_model = dict(
    type='Recognizer3D',
    backbone=dict(type='DDNetResNet3d'),
    cls_head=dict(type='DDNetHead', in_channels=48, dropout_ratio=0.2),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW'))
