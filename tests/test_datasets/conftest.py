"""Shared tiny synthetic identities for the face, re-ID and transform tests."""
import mmddl  # noqa: F401  (compat first)

# isort: split
import pytest

from mmddl.testing.synthetic_faces import make_identities


@pytest.fixture(scope='session')
def tiny_ids():
    """6 identities x 6 images of 16x16 px (fast to write and read)."""
    return make_identities(6, 6, size=16, seed=0)
