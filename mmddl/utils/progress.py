"""Progress of a long loop as log lines with rate and ETA (the log file
shows them, unlike a terminal progress bar)."""
import time
from typing import Optional

from mmengine.logging import print_log


def format_seconds(seconds: float) -> str:
    """``h:mm:ss`` of a duration in seconds.

    Args:
        seconds (float): the duration.

    Returns:
        str: e.g. ``'0:01:05'``.
    """
    s = int(round(max(seconds, 0.0)))
    return f'{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}'


class LogProgress:
    """Log ``done / total`` with rate and ETA every ``fraction`` of the
    total or every ``interval_s`` seconds, whichever comes first.

    Work counted with :meth:`skip` (e.g. reused shards) advances the count
    but not the rate, so the ETA follows the work actually done.

    Args:
        total (int): units of work.
        what (str): the line's prefix.
        unit (str): the unit's name (plural).
        fraction (float): log at least every this fraction of ``total``.
        interval_s (float): and at least every this many seconds.
        logger (str): mmengine logger name (``'current'``: the runner's).
    """

    def __init__(self,
                 total: int,
                 what: str = 'DDL pass',
                 unit: str = 'samples',
                 fraction: float = 0.05,
                 interval_s: float = 30.0,
                 logger: str = 'current') -> None:
        if total < 0:
            raise ValueError(f'total must be >= 0, got {total}')
        if not 0 < fraction <= 1:
            raise ValueError(f'fraction must be in (0, 1], got {fraction}')
        self.total, self.what, self.unit = int(total), what, unit
        self.step = max(1, int(total * fraction))
        self.interval_s, self.logger = interval_s, logger
        self.done = self.skipped = 0
        self.start = self.last_time = time.perf_counter()
        self.next_count = self.step
        self.lines = 0

    def skip(self, n: int) -> None:
        """Count ``n`` units done without work (not in the rate).

        Args:
            n (int): units.
        """
        self.skipped += n
        self._advance(n)

    def update(self, n: int = 1) -> None:
        """Count ``n`` units of work done.

        Args:
            n (int): units.
        """
        self._advance(n)

    def _advance(self, n: int) -> None:
        self.done += n
        now = time.perf_counter()
        if (self.done >= self.next_count or self.done >= self.total
                or now - self.last_time >= self.interval_s):
            self.log(now)

    def eta(self, now: Optional[float] = None) -> Optional[float]:
        """Seconds left at the rate of the work done so far (None before
        any work)."""
        now = time.perf_counter() if now is None else now
        worked = self.done - self.skipped
        if worked <= 0:
            return None
        return (self.total - self.done) * (now - self.start) / worked

    def log(self, now: Optional[float] = None) -> None:
        """Write one progress line now."""
        now = time.perf_counter() if now is None else now
        elapsed = now - self.start
        worked = self.done - self.skipped
        pct = 100.0 * self.done / self.total if self.total else 100.0
        eta = self.eta(now)
        rate = f'{worked / elapsed:.2f} {self.unit}/s' \
            if worked > 0 and elapsed > 0 else 'rate n/a'
        reused = f', {self.skipped} reused' if self.skipped else ''
        print_log(
            f'{self.what}: {self.done}/{self.total} {self.unit} '
            f'({pct:.0f}%{reused}), {rate}, elapsed '
            f'{format_seconds(elapsed)}, ETA '
            f'{format_seconds(eta) if eta is not None else "n/a"}',
            logger=self.logger)
        self.lines += 1
        self.last_time = now
        while self.next_count <= self.done:
            self.next_count += self.step
