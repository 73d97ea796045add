"""One tiny generated footage (2 cameras x 40 frames of 320x240, with an mp4
per camera) shared by the track tests."""
import pytest

from mmddl.testing.synthetic_footage import generate_footage, load_record


@pytest.fixture(scope='session')
def footage(tmp_path_factory):
    """``dict(root, summary, record)`` of the default footage, seed 0."""
    root = str(tmp_path_factory.mktemp('footage'))
    summary = generate_footage(root, seed=0, write_videos=True)
    return dict(root=root, summary=summary, record=load_record(root))
