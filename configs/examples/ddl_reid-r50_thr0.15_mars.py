# DDL for the re-ID base, step 2. `base=None`: the base is rebuilt from the
# config saved in its checkpoint (with the overrides it was trained with), so
# only our tools/test.py (which sets model.base_checkpoint) can run it:
#   python tools/test.py configs/examples/ddl_reid-r50_thr0.15_mars.py \
#       PATH/TO/reid_r50.pth --ddnet-checkpoint PATH/TO/ddnet.pth
_base_ = ['mmddl::reid/ddl_reid-r50_thr0.15_mars.py']

model = dict(base=None)
test_dataloader = dict(dataset=dict(data_root='data/mars'))
