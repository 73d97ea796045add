# Shared sizes of the face demo (`make demo TASK=face`): 32x32 synthetic
# faces, a small base model and the DDNet at the images' own size. The demo
# (demo/face.py) writes its data under `demo_root` and overrides the
# data roots and `num_classes` on the command line when it uses other ones.
demo_root = 'work_dirs/demo_face'
demo_img_size = 32
demo_num_classes = 160  # training identities written by the demo
demo_embedding_dim = 128

# overrides of the ResNet-101 ArcFace model: a CIFAR-style ResNet-18 with
# 16 base channels (3x3 stem, no max-pool: 32x32 -> 4x4), 128-d embedding
demo_base_model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet_CIFAR',
        depth=18,
        stem_channels=16,
        base_channels=16,
        out_indices=(3, )),
    neck=dict(in_channels=128, out_channels=demo_embedding_dim),
    head=dict(
        num_classes=demo_num_classes,
        in_channels=demo_embedding_dim,
        scale=32.,
        margins=0.3))
