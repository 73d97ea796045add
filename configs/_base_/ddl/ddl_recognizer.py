# DDLRecognizer settings (Eq. 7-11): the 3D DDNet scores every candidate clip
# x 3 crops, the base runs on the top-K; a config adds `base` and the K.
_base_ = ['../models/ddnet_r18cd3d.py']

ddl_recognizer = dict(
    type='DDLRecognizer',
    ddnet=_base_.ddnet_model,
    base_checkpoint=None,  # tools/test.py: positional checkpoint
    ddnet_checkpoint=None,  # tools/test.py: --ddnet-checkpoint
    num_crops=3,
    ddnet_input=_base_.ddnet_input)
