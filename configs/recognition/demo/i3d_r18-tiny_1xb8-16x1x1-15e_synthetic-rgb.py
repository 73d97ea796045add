# Demo base recognizer, I3D family: the SlowFast demo config's data and
# schedule with a small inflated 3D-ResNet-18 (16 base channels).
_base_ = ['./slowfast_r18-tiny_1xb8-16x1x1-15e_synthetic-rgb.py']
num_classes = 6

model = dict(
    _delete_=True,
    type='Recognizer3D',
    backbone=dict(
        type='ResNet3d', depth=18, pretrained=None, pretrained2d=False,
        base_channels=16, conv1_kernel=(5, 7, 7), conv1_stride_t=1,
        pool1_stride_t=1, inflate=(1, 1, 1, 1), norm_eval=False,
        zero_init_residual=False),
    cls_head=dict(type='I3DHead', num_classes=num_classes, in_channels=128,
                  spatial_type='avg', dropout_ratio=0.5,
                  average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], format_shape='NCTHW'))
