"""Run radar reading in a child process: a reader that hangs or crashes on a bad file is
stopped after a deadline and the feed goes on (a thread cannot be stopped, and the
reader's own SIGALRM guard only works on the main thread).

The child's exception crosses the process boundary as its class name and text (an exception
object with a custom ``__init__`` cannot be unpickled, which used to kill the pool and report
every failure as "the reading process died"); the parent re-raises a ``RadarReadError`` naming
the real cause.  The child ends with its parent: on Linux the kernel kills it when the parent
dies (``PR_SET_PDEATHSIG``), and a watcher thread exits it if it is ever re-parented.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class IsolatedCallFailed(RuntimeError):
    """The child took too long (and was killed), died, or its call raised (``cause`` names
    the child's exception class; ``radar_error`` tells a bad-input error from a bug)."""

    def __init__(self, message: str, cause: str = "", radar_error: bool = False) -> None:
        super().__init__(message)
        self.cause, self.radar_error = cause, radar_error


def _die_with_parent(parent_pid: int) -> None:
    """Pool initializer (in the child): end this process when the parent dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _run_captured(fn: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """In the child: the result, or the exception as plain strings (always picklable)."""
    try:
        return "ok", fn(*args)
    except Exception as exc:  # noqa: BLE001 - carried to the parent, which decides
        from radar.errors import RadarError

        return "error", (type(exc).__name__, str(exc), isinstance(exc, RadarError))


class IsolatedRunner:
    """One long-lived worker process (spawned, so it inherits no server threads)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def call(self, timeout_s: float, fn: Callable[..., T], *args: Any) -> T:
        with self._lock:  # one volume at a time, as the feed job runs
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_die_with_parent, initargs=(os.getpid(),))
            future = self._pool.submit(_run_captured, fn, *args)
            try:
                kind, value = future.result(timeout=timeout_s)
            except FutureTimeout:
                self._kill()
                raise IsolatedCallFailed(f"took longer than {timeout_s:g} s and was stopped") from None
            except BrokenProcessPool:
                self._kill()
                raise IsolatedCallFailed("the reading process died (crashed or was killed)") from None
            if kind == "error":
                name, text, radar_error = value
                raise IsolatedCallFailed(text if radar_error else f"{name}: {text}", name,
                                         radar_error)
            result: T = value
            return result

    def pids(self) -> list[int]:
        pool = self._pool
        return [p.pid for p in getattr(pool, "_processes", {}).values() if p.pid] if pool else []

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
