# The 2D DDNet (ResNet-18-CD: widths 8-16-32-48, face stem) in a stock
# ImageClassifier: one D-score per 112x112 face, kept as `ddnet_model`.
ddnet_input_size = 112
ddnet_model = dict(
    type='ImageClassifier',
    backbone=dict(type='DDNetResNet', depth=18, stage_widths=(8, 16, 32, 48)),
    head=dict(type='DDNetHead', in_channels=48),
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        to_rgb=True))
