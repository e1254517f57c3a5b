"""Run radar reading in a child process: a reader that hangs or crashes on a bad file is
stopped after a deadline and the feed goes on (a thread cannot be stopped, and the
reader's own SIGALRM guard only works on the main thread)."""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class IsolatedCallFailed(RuntimeError):
    """The child took too long (and was killed) or died."""


class IsolatedRunner:
    """One long-lived worker process (spawned, so it inherits no server threads)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def call(self, timeout_s: float, fn: Callable[..., T], *args: Any) -> T:
        with self._lock:  # one volume at a time, as the feed job runs
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            future = self._pool.submit(fn, *args)
            try:
                return future.result(timeout=timeout_s)
            except FutureTimeout:
                self._kill()
                raise IsolatedCallFailed(f"took longer than {timeout_s:g} s and was stopped") from None
            except BrokenProcessPool:
                self._kill()
                raise IsolatedCallFailed("the reading process died") from None

    def _kill(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None


RUNNER = IsolatedRunner()
