# ByteTrack on face footage: the person config's ByteTrack + YOLOX-nano
# (320x320, trained from scratch) for one class, `face`. Train it on frames
# with face boxes in the same layout (COCO-VID json of MOTChallenge
# sequences whose gt.txt holds the face boxes, class 1):
#   <data_root>/{train,val}/<sequence>/img1/...,
#   <data_root>/annotations/{train,val}_cocoformat.json
# and pair it in tools/track_ddl.py with
# configs/tracks/ddl_arcface-r18-tiny_thr0.15_synth-face-tracks.py.
# Generated face footage for it: mmddl.testing.synthetic_face_footage
# (generate_face_footage) + synthetic_footage.write_coco_annotations(...,
# category='face'); tests/test_tools/test_track_ddl.py trains it there for 2
# iterations and tracks faces with it (wiring, not accuracy).
_base_ = ['./bytetrack_yolox-nano_1xb8-20e_synth-footage.py']

data_root = 'data/synth_faces/'
classes = ('face', )

train_dataloader = dict(
    dataset=dict(
        dataset=dict(data_root=data_root, metainfo=dict(classes=classes))))
val_dataloader = dict(
    dataset=dict(data_root=data_root, metainfo=dict(classes=classes)))
test_dataloader = val_dataloader
