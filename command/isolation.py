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
import importlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
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


#: A warm-up still running after this long is abandoned (the worker is replaced).
WARM_UP_TIMEOUT_S = 120.0


def call_named(target: str, *args: Any) -> Any:
    """Call ``"module:function"`` (in the child: the parent need not import the module)."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)(*args)


class IsolatedRunner:
    """One long-lived worker process (spawned, so it inherits no server threads).

    :meth:`warm` starts the worker ahead of the first call and runs a warm-up in it (the
    feed imports Py-ART there when the scheduler starts: ~2 s that the first volume after a
    start no longer waits for, on top of the process start)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._warming: Future[tuple[str, Any]] | None = None
        self._lock = threading.Lock()

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_die_with_parent,
                initargs=(os.getpid(),),
            )
        return self._pool

    def warm(self, fn: Callable[..., Any], *args: Any) -> Future[tuple[str, Any]]:
        """Start the worker now and run ``fn(*args)`` in it without waiting (once: while a
        warm-up is pending, asking again returns it).  A call made meanwhile waits for the
        warm-up first, so its own deadline covers only its own work; a warm-up that fails is
        logged and changes nothing else."""
        with self._lock:
            if self._warming is not None:
                return self._warming
            started = time.perf_counter()
            future = self._ensure_pool().submit(_run_captured, fn, *args)
            self._warming = future

        def report(done: Future[tuple[str, Any]]) -> None:
            if done.cancelled():
                return
            exc = done.exception()
            if exc is not None or done.result()[0] != "ok":
                log.warning("reader warm-up failed: %s", exc or done.result()[1])
            else:
                log.info("reading process warm in %.1f s", time.perf_counter() - started)

        future.add_done_callback(report)
        return future

    def _wait_for_warm_up(self) -> None:
        warming, self._warming = self._warming, None
        if warming is None:
            return
        try:
            warming.result(timeout=WARM_UP_TIMEOUT_S)
        except (FutureTimeout, BrokenProcessPool):
            self._kill()  # a stuck or dead warm-up: the call gets a fresh worker
        except CancelledError:
            pass

    def call(self, timeout_s: float, fn: Callable[..., T], *args: Any) -> T:
        with self._lock:  # one volume at a time, as the feed job runs
            self._wait_for_warm_up()
            future = self._ensure_pool().submit(_run_captured, fn, *args)
            try:
                kind, value = future.result(timeout=timeout_s)
            except FutureTimeout:
                self._kill()
                raise IsolatedCallFailed(
                    f"took longer than {timeout_s:g} s and was stopped"
                ) from None
            except BrokenProcessPool:
                self._kill()
                raise IsolatedCallFailed(
                    "the reading process died (crashed or was killed)"
                ) from None
            if kind == "error":
                name, text, radar_error = value
                raise IsolatedCallFailed(
                    text if radar_error else f"{name}: {text}", name, radar_error
                )
            result: T = value
            return result

    def pids(self) -> list[int]:
        pool = self._pool
        return [p.pid for p in getattr(pool, "_processes", {}).values() if p.pid] if pool else []

    def _kill(self) -> None:
        pool, self._pool = self._pool, None
        self._warming = None
        if pool is None:
            return
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            if self._warming is not None and not self._warming.done():
                self._kill()  # stopping during the warm-up: no need to wait for the imports
            self._warming = None
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None


RUNNER = IsolatedRunner()


def warm_reader_early() -> None:
    """For ``hailops run`` and ``hailops scheduler``, before the app is built: start the
    reading process and its warm-up (Py-ART's ~2-4 s import) now, so it overlaps building the
    app (~2 s) instead of following it.  Does nothing where the scheduler will not run, the
    reader is not isolated, warm-up is off or the settings are invalid (the app reports
    those)."""
    from command.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError:
        return
    if settings.scheduler_enabled and settings.radar_isolate and settings.radar_warm_up:
        RUNNER.warm(call_named, "radar.detect:warm_up")
