"""A reader that hangs or dies is stopped in its child process; the feed goes on."""

from __future__ import annotations

import os
import time

import pytest

from command.isolation import IsolatedCallFailed, IsolatedRunner


def _sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "done"


def _die() -> None:
    os._exit(3)


def test_hang_is_stopped_and_the_runner_recovers():
    runner = IsolatedRunner()
    try:
        started = time.monotonic()
        with pytest.raises(IsolatedCallFailed, match="stopped"):
            runner.call(1.0, _sleep, 30)
        assert time.monotonic() - started < 10
        with pytest.raises(IsolatedCallFailed, match="died"):
            runner.call(30.0, _die)
        assert runner.call(30.0, _sleep, 0) == "done"
    finally:
        runner.close()
