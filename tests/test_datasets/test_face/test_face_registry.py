"""Every face / re-ID component is built from a config under mmpretrain's scope."""
import pytest
from mmengine.registry import DefaultScope
from mmpretrain.registry import DATASETS, TRANSFORMS

from mmddl.testing.synthetic_faces import write_ytf


@pytest.mark.parametrize('name', ['YTFDataset', 'IJBDataset', 'IJBADataset',
                                  'IQIYIVidFaceDataset', 'MXFaceDataset', 'MARSDataset'])
def test_datasets_registered(name):
    import mmddl.datasets.reid  # noqa: F401
    assert DATASETS.get(name) is not None


def test_build_from_config_in_mmpretrain_scope(tmp_path, tiny_ids):
    write_ytf(str(tmp_path), tiny_ids[:2], num_splits=2, seed=0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ds = DATASETS.build(dict(type='YTFDataset', data_root=str(tmp_path), pipeline=[
            dict(type='LoadGroupImages', size=16), dict(type='PackGroupInputs')]))
        assert TRANSFORMS.get('LoadGroupImages') is not None
    assert ds[0]['inputs'].shape[1:] == (3, 16, 16)
