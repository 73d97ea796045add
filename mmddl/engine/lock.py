"""A lock file naming its holder (pid, host); a dead holder's is taken over."""
import errno
import json
import os
import os.path as osp
import socket
import sys
import time
from typing import Any, Dict, Optional

from mmengine.logging import print_log

try:
    import fcntl
except ImportError:  # pragma: no cover - not a POSIX system
    fcntl = None

#: lock paths held by this process -> nesting depth (re-entrant per process)
_HELD: Dict[str, int] = {}


class LockHeldError(RuntimeError):
    """Another live process holds the lock."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True


def _read_holder(path: str) -> Dict[str, Any]:
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
        return json.loads(text) if text.strip() else {}
    except (OSError, ValueError):
        return {}


class WorkDirLock:
    """Exclusive lock of a work folder for one run, as a context manager.

    The lock file holds the holder's pid, host, start time and command
    line. On POSIX the file is also ``flock``-ed, so the kernel releases it
    when the holder dies. Acquiring it:

    * free -> taken;
    * held by a live process -> :class:`LockHeldError` naming it;
    * left by a dead process on this host -> taken over, with a log line;
    * left by a process on another host (its state cannot be checked) ->
      :class:`LockHeldError` saying to delete the file if that run is gone.

    The same process may nest it (re-entrant).

    Args:
        path (str): the lock file (its folder is created).
        what (str): what is locked, for messages.
        advice (str): how to avoid the clash, for messages (after "Wait for
            that run to finish, or").
    """

    def __init__(self,
                 path: str,
                 what: str = 'work_dir',
                 advice: str = 'give this run another work_dir') -> None:
        self.path = osp.abspath(path)
        self.what = what
        self.advice = advice
        self._fd: Optional[int] = None

    def __enter__(self) -> 'WorkDirLock':
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def _describe(self, holder: Dict[str, Any]) -> str:
        return (f'pid {holder.get("pid")} on host {holder.get("host")} '
                f'(since {holder.get("started")}, command: '
                f'{holder.get("command")})')

    def acquire(self) -> None:
        """Take the lock (see the class docstring)."""
        if _HELD.get(self.path):
            _HELD[self.path] += 1
            return
        folder = osp.dirname(self.path)
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as e:
            raise OSError(
                e.errno, f'cannot create {folder!r} for the lock '
                f'file: {e.strerror or e}') from e
        host = socket.gethostname()
        for _ in range(10):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as e:
                raise OSError(
                    e.errno, f'cannot create the lock file '
                    f'{self.path!r}: {e.strerror or e}') from e
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as e:
                    os.close(fd)
                    if e.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    raise LockHeldError(
                        self._held_message(_read_holder(self.path),
                                           live=True)) from None
                # the file may have been released (unlinked) and re-created
                # between open and flock: then lock the new one
                try:
                    same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
                except FileNotFoundError:
                    same = False
                if not same:
                    os.close(fd)
                    continue
            holder = _read_holder(self.path)
            if holder:
                pid = holder.get('pid')
                mine = holder.get('host') == host
                if not mine or (fcntl is None and isinstance(pid, int)
                                and _alive(pid)):
                    os.close(fd)
                    raise LockHeldError(self._held_message(holder, live=mine))
                print_log(
                    f'{self.what}: taking over the lock '
                    f'{self.path} of {self._describe(holder)}, which '
                    'is no longer running',
                    logger='current',
                    level=30)
            record = dict(
                pid=os.getpid(),
                host=host,
                started=time.strftime('%Y-%m-%d %H:%M:%S'),
                command=' '.join(sys.argv)[:300])
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps(record).encode())
            os.fsync(fd)
            self._fd = fd
            _HELD[self.path] = 1
            return
        raise LockHeldError(f'could not take the lock {self.path!r}: it '
                            'kept being re-created by other processes')

    def _held_message(self, holder: Dict[str, Any], live: bool) -> str:
        who = self._describe(holder) if holder else 'another process'
        if live:
            return (f'{self.what} is in use: {self.path} is held by {who}. '
                    f'Wait for that run to finish, or {self.advice}.')
        return (f'{self.what} may be in use: {self.path} is held by {who}, '
                'whose state cannot be checked from this host. If that run '
                'is no longer running, delete the lock file.')

    def release(self) -> None:
        """Release the lock (the file is removed)."""
        depth = _HELD.get(self.path, 0)
        if depth > 1:
            _HELD[self.path] = depth - 1
            return
        _HELD.pop(self.path, None)
        if self._fd is None:
            return
        try:
            os.remove(self.path)
        except OSError:
            pass
        os.close(self._fd)  # drops the flock
        self._fd = None
