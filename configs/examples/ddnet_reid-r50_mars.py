# DDL for the re-ID base (configs/reid/reid_r50_1xb64-ce-triplet-120e_mars.py)
# on your MARS copy, step 1: train the DDNet on the base's D-scores.
#   python tools/train.py configs/examples/ddnet_reid-r50_mars.py
_base_ = ['mmddl::reid/ddnet_r18cd_reid-r50-dscore-10e_mars.py']

train_dataloader = dict(dataset=dict(data_root='data/mars'))
custom_hooks = [
    dict(
        _base_.custom_hooks[0],
        base=dict(
            _base_.custom_hooks[0].base,
            checkpoint='work_dirs/reid_r50/epoch_120.pth'))
]
