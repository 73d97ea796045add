"""Fixtures for the compatibility-layer tests."""
import pytest


@pytest.fixture
def one_thread():
    """Run torch single-threaded (the CPUs are shared); restore afterwards."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
