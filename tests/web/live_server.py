"""A real `hailops run` server for browser tests (see ``command.testing``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from command.testing import HailopsServer, ServerStartError, hailops_command


def server_env(tmp: Path) -> dict[str, str]:
    env = {**os.environ, "HAILOPS_ENV": "demo", "HAILOPS_INSTANCE_PATH": str(tmp),
           "HAILOPS_DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}", "PYART_QUIET": "1",
           # No volume is dropped into these servers' feed: no reader process warming up
           # (seconds of CPU) beside the browser's timed steps.
           "HAILOPS_RADAR_WARM_UP": "false"}
    env.pop("HAILOPS_TEST_DATABASE_URL", None)
    return env


@contextmanager
def running_server(tmp: Path, run_args: list[str],
                   prepare: Callable[[dict[str, str]], None] | None = None, *,
                   demo_accounts: bool = False) -> Iterator[str]:
    """Migrate, optionally seed the demo accounts (one per role and county, password
    ``hailops-demo``) and prepare the database, start `hailops run ARGS`, yield its URL."""
    import subprocess

    env = server_env(tmp)
    subprocess.run([*hailops_command(), "db", "upgrade"], env=env, check=True, capture_output=True)
    if demo_accounts:
        subprocess.run([*hailops_command(), "seed", "--demo-accounts"], env=env, check=True,
                       capture_output=True)
    if prepare is not None:
        prepare(env)
    server = HailopsServer("browser", env, tmp / "server.log", tuple(run_args))
    try:
        try:
            server.wait_ready()
        except ServerStartError as exc:
            pytest.fail(str(exc))
        yield server.url
    finally:
        server.stop()
