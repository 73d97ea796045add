# Shared sizes of the re-ID demo (`make demo TASK=reid`): 64x32 synthetic
# pedestrians written as MARS, a small base model and the DDNet at the
# images' own size. The demo (demo/reid.py) overrides the data roots and
# `num_classes` on the command line when it uses other ones.
demo_root = 'work_dirs/demo_reid'
demo_img_scale = (32, 64)  # (w, h)
demo_num_classes = 100  # training identities written by the demo
demo_feature_dim = 128

# overrides of the ResNet-50 re-ID model: a CIFAR-style ResNet-18 with 16
# base channels (3x3 stem, no max-pool: 64x32 -> 8x4), 128-d BN-neck feature
demo_base_model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet_CIFAR',
        depth=18,
        stem_channels=16,
        base_channels=16,
        out_indices=(3, )),
    head=dict(num_classes=demo_num_classes, in_channels=demo_feature_dim))
