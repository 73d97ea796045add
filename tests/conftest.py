"""Suite-wide settings.

* One torch thread per test (set again before each one, since a demo or
  tool run may change it): the suite runs on 2 shared cores and torch's
  default pool oversubscribes them (measured: some model tests 3-30x
  slower).
* Each test starts with the default scope it would have alone: mmengine's
  ``DefaultScope`` is process-global (a Runner with ``default_scope=
  'mmpretrain'`` leaves it set), and a leaked scope makes later
  ``mmaction`` builds look in the wrong registry.
* The source tree's root is importable, so tests reach the demos
  (``demo/``, a package beside ``mmddl`` that is not installed).
"""
import os.path as osp
import sys

import pytest
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolate_default_scope():
    from mmengine.registry import DefaultScope
    saved = DefaultScope._instance_dict
    DefaultScope._instance_dict = type(saved)()
    yield
    DefaultScope._instance_dict = saved
