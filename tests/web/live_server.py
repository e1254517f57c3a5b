"""A real `hailops run` server on a free port, for browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

HAILOPS = str(Path(sys.executable).parent / "hailops")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(tmp: Path) -> dict[str, str]:
    env = {**os.environ, "HAILOPS_ENV": "demo", "HAILOPS_INSTANCE_PATH": str(tmp),
           "HAILOPS_DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}", "PORT": str(free_port()),
           "PYART_QUIET": "1"}
    env.pop("HAILOPS_TEST_DATABASE_URL", None)
    return env


@contextmanager
def running_server(tmp: Path, run_args: list[str],
                   prepare: Callable[[dict[str, str]], None] | None = None) -> Iterator[str]:
    """Migrate, optionally prepare the database, start `hailops run ARGS`, yield its URL."""
    env = server_env(tmp)
    subprocess.run([HAILOPS, "db", "upgrade"], env=env, check=True, capture_output=True)
    if prepare is not None:
        prepare(env)
    log = (tmp / "server.log").open("w")
    proc = subprocess.Popen([HAILOPS, "run", *run_args], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{env['PORT']}"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("server did not start: " + (tmp / "server.log").read_text()[-2000:])
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
