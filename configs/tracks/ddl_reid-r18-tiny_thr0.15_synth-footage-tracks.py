# DDL per person track on the generated street footage: the re-ID demo's DDL
# parts (its tiny ResNet-18 re-ID base, the DDNet at 64x32, t = 0.15, fusion
# of L2-normalised features) with the test set swapped for MOTTrackDataset:
# each track is a group of crops cut from its frames (box + 10 % margin,
# clipped to the frame, resized to the base's 64x32 input; the crops that
# mmddl.testing.synthetic_footage.write_reid_crops writes for the base's
# training), in frame order.
# As written it evaluates the ground-truth tracks of two cameras of
# <data_root> as cross-camera re-ID (queries: camera 0), e.g.
#   python tools/test.py <this config> base.pth --ddnet-checkpoint ddnet.pth
# tools/track_ddl.py replaces the sequences with its inputs (videos, frame
# folders, MOTChallenge sequences) and their tracks (a detector + tracker's
# or given ones).
_base_ = ['../reid/demo/ddl_reid-r18-tiny_thr0.15_synth-mars.py',
          '../_base_/ddl/track_meta_keys.py']

track_target = 'person'  # tools/track_ddl.py keeps the detector's persons

crop_size = (_base_.demo_img_scale[1], _base_.demo_img_scale[0])  # (h, w)

test_dataloader = dict(
    batch_size=8,
    num_workers=0,
    dataset=dict(
        _delete_=True,
        type='MOTTrackDataset',
        data_root='data/synth_footage/test',
        sequences=[
            dict(source='SYNTH-01', camid=0),
            dict(source='SYNTH-02', camid=1),
        ],
        min_length=1,
        ids_are_identities=True,
        query_camids=[0],
        pipeline=[
            dict(type='LoadTrackCrops', size=crop_size, margin=0.1,
                 cache_frames=32),
            dict(type='PackGroupInputs', meta_keys=_base_.track_meta_keys),
        ]))
test_evaluator = dict(
    type='GroupReIDMetric', ranks=(1, 5, 20), normalize=True)
