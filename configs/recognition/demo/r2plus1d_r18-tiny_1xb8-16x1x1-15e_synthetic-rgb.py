# Demo base recognizer, R(2+1)D family: the SlowFast demo config's data and
# schedule with a small R(2+1)D-18 (16 base channels).
_base_ = ['./slowfast_r18-tiny_1xb8-16x1x1-15e_synthetic-rgb.py']
num_classes = 6

model = dict(
    _delete_=True,
    type='Recognizer3D',
    backbone=dict(
        type='ResNet2Plus1d', depth=18, pretrained=None, pretrained2d=False,
        base_channels=16, norm_eval=False, conv_cfg=dict(type='Conv2plus1d'),
        norm_cfg=dict(type='BN3d', requires_grad=True, eps=1e-3),
        conv1_kernel=(3, 7, 7), conv1_stride_t=1, pool1_stride_t=1,
        inflate=(1, 1, 1, 1), spatial_strides=(1, 2, 2, 2),
        temporal_strides=(1, 2, 2, 2), zero_init_residual=False),
    cls_head=dict(type='I3DHead', num_classes=num_classes, in_channels=128,
                  spatial_type='avg', dropout_ratio=0.5,
                  average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], format_shape='NCTHW'))
