# The 2D DDNet (ResNet-18-CD, widths 8-16-32-48) for person crops: one D-score
# per frame seen at 128x64 (h, w), kept as `ddnet_model`.
ddnet_input_size = (128, 64)  # (h, w)
ddnet_model = dict(
    type='ImageClassifier',
    backbone=dict(type='DDNetResNet', depth=18, stage_widths=(8, 16, 32, 48)),
    head=dict(type='DDNetHead', in_channels=48),
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True))
