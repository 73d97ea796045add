# DDL with mmpretrain's stock ResNet-50 (ImageNet), step 2: one feature per
# MARS tracklet from the frames the DDNet scores above 0.15. Our tool or
# mmpretrain's own (model.ddnet_checkpoint=... in --cfg-options):
#   python tools/test.py configs/examples/ddl_resnet50-in1k_thr0.15_mars.py \
#       PATH/TO/resnet50.pth --ddnet-checkpoint PATH/TO/ddnet.pth
_base_ = ['mmddl::reid/ddl_reid-r50_thr0.15_mars.py']

model = dict(base='mmpretrain::resnet/resnet50_8xb32_in1k.py')
