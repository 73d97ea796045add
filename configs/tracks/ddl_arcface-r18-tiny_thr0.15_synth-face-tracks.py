# DDL per face track: the face demo's DDL parts (its tiny ResNet-18 ArcFace
# base for 32x32 faces, the DDNet at that size, t = 0.15) with the test set
# swapped for MOTTrackDataset. Each face box (+ `margin`, clipped to the
# frame) is resized to the base's square input: the synthetic faces the base
# was trained on fill their image, so the generated face boxes are cut
# without margin. No landmark alignment is done (MOTChallenge files carry no
# landmarks): for a real face detector's tight boxes and an ArcFace base
# trained on aligned 112x112 crops, set the base's input size and a margin of
# about 0.2 so the crop resembles the aligned training crops.
# As written it evaluates ground-truth face tracks of two cameras of
# <data_root> as cross-camera identification (queries: camera 0);
# tools/track_ddl.py replaces the sequences with its inputs and their tracks.
_base_ = ['../face/demo/ddl_arcface-r18-tiny_thr0.15_synth-ytf.py',
          '../_base_/ddl/track_meta_keys.py']

track_target = 'face'  # tools/track_ddl.py keeps the detector's faces
crop_size = (_base_.demo_img_size, _base_.demo_img_size)  # (h, w)
margin = 0.0

test_dataloader = dict(
    batch_size=8,
    num_workers=0,
    dataset=dict(
        _delete_=True,
        type='MOTTrackDataset',
        data_root='data/synth_faces/test',
        sequences=[
            dict(source='FACES-01', camid=0),
            dict(source='FACES-02', camid=1),
        ],
        min_length=1,
        ids_are_identities=True,
        query_camids=[0],
        pipeline=[
            dict(type='LoadTrackCrops', size=crop_size, margin=margin,
                 cache_frames=32),
            dict(type='PackGroupInputs', meta_keys=_base_.track_meta_keys),
        ]))
test_evaluator = dict(
    _delete_=True, type='GroupReIDMetric', ranks=(1, 5, 20), normalize=True)
