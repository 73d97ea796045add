"""A demo's work dir is held by one run at a time (demo.common.hold_work_dir)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from demo.common import LOCK_FILE, hold_work_dir, repo_root
from mmddl.engine.lock import LockHeldError

HOLD = ('import sys; sys.path.insert(0, {root!r}); '
        'from demo.common import hold_work_dir; '
        'hold_work_dir({work!r}); print("held", flush=True); '
        'sys.stdin.readline()')


def _holder(work: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, '-c',
         HOLD.format(root=repo_root(), work=work)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == 'held'
    return proc


def test_a_second_run_in_the_same_work_dir_stops_naming_the_first(tmp_path):
    work = str(tmp_path / 'work')
    proc = _holder(work)
    try:
        with pytest.raises(LockHeldError) as e:
            hold_work_dir(work)
        msg = str(e.value)
        assert f'pid {proc.pid} on host' in msg, msg
        assert osp.join(work, LOCK_FILE) in msg and '--work-dir' in msg
        # another folder is free
        assert hold_work_dir(str(tmp_path / 'other')).endswith(LOCK_FILE)
    finally:
        proc.communicate('\n', timeout=60)
    # the first run ended (its lock file went with it): this process takes
    # the folder, and taking it again here is a no-op
    path = hold_work_dir(work)
    assert hold_work_dir(work) == path
    with open(path) as f:
        assert json.load(f)['pid'] == os.getpid()
    # now a second process is refused
    proc = subprocess.run(
        [sys.executable, '-c',
         HOLD.format(root=repo_root(), work=work)],
        input='\n', capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert 'LockHeldError' in proc.stderr
    assert f'pid {os.getpid()} on host' in proc.stderr, proc.stderr
