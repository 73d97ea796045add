# The design card's name for the 3D DDNet of the SlowFast-R50 Kinetics-700
# recognizer; work_dirs/ddnet_slowfast_k700/ is named after this file.
_base_ = [
    './recognition/ddnet_r18cd3d_slowfast-r50-dscore-30e_kinetics700-rgb.py'
]
