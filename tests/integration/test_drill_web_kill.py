"""Issue 10, the crash test of the production layout: a web process (``hailops serve``,
scheduler disabled) and the one ``hailops scheduler`` on a temporary database.  The admin
page's POST starts a drill; ``kill -9`` of the web process that took it does not touch the
drill (the scheduler owns it and runs it to its normal end); ``kill -9`` of the scheduler
mid-drill, then a restart, resumes the drill, which again ends normally — never a drill left
``running``, never an operation left open.

Before drills belonged to the scheduler, the POST ran the drill inside the web worker: the
kill left it ``running`` forever with its operations stuck."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from command.models import DrillRecord, OperationRecord
from command.testing import HOST, ROOT, free_port, hailops_command
from dispatch import lifecycle as lc
from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.slow]

OPEN_OPS = [s.value for s in lc.OperationState if s not in lc.TERMINAL_STATES]
OPEN_DRILLS = ["requested", "running", "paused"]


class Process:
    """A child in its own process group, so kill -9 takes all of it (gunicorn's master and
    worker alike)."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], tmp: Path) -> None:
        self.name, self.log_path = name, tmp / f"{name}.log"
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(
                [*hailops_command(), *args],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill_9(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.kill_9()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for p in started:
        p.stop()


def _env(app_config: dict) -> dict[str, str]:
    return {
        **os.environ,
        "HAILOPS_DATABASE_URL": app_config["database_url"],
        "HAILOPS_INSTANCE_PATH": str(app_config["instance_path"]),
        "HAILOPS_ENV": "test",
        "PYTHONPATH": str(ROOT),
    }


def _web(app_config, tmp_path, processes, name: str) -> tuple[Process, str]:
    port = free_port()
    env = _env(app_config) | {"HAILOPS_SCHEDULER_ENABLED": "false"}
    web = Process(
        name, ["serve", "--host", HOST, "--port", str(port), "--threads", "8"], env, tmp_path
    )
    processes.append(web)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert web.proc.poll() is None, web.log()
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.5):
            return web, f"http://{HOST}:{port}"
        time.sleep(0.3)
    pytest.fail(f"{name} not listening:\n{web.log()}")


def _scheduler(app_config, tmp_path, processes, name: str) -> Process:
    sched = Process(name, ["scheduler"], _env(app_config), tmp_path)
    processes.append(sched)
    return sched


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def _start_from_the_admin_page(base: str, speed: float) -> dict:
    """What the admin page does: log in, open /admin/drills, POST /api/drills with the
    page's CSRF token."""
    import requests

    s = requests.Session()
    login = s.get(f"{base}/login", timeout=30)
    r = s.post(
        f"{base}/login",
        data={"username": "admin", "password": TEST_PASSWORD, "csrf_token": _csrf(login.text)},
        timeout=30,
    )
    assert r.status_code == 200, r.text[:500]
    page = s.get(f"{base}/admin/drills", timeout=30)
    assert page.status_code == 200
    resp = s.post(
        f"{base}/api/drills",
        json={"event": "canberra_20181220", "speed": speed, "auto_approve": True},
        headers={"X-CSRFToken": _csrf(page.text)},
        timeout=30,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def _drill(db_session, drill_id: str) -> DrillRecord:
    db_session.expire_all()
    return db_session.get(DrillRecord, drill_id)


def _wait(db_session, drill_id, ok, timeout_s: float, *logs: Process) -> DrillRecord:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        drill = _drill(db_session, drill_id)
        if ok(drill):
            return drill
        time.sleep(0.3)
    drill = _drill(db_session, drill_id)
    pytest.fail(
        f"drill {drill_id}: {drill.state} {drill.runner} {drill.progress} "
        f"{(drill.timeline or [])[-3:]}\n" + "\n".join(p.log() for p in logs)
    )


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _open_ops(db_session, drill_id: str) -> int:
    db_session.expire_all()
    return db_session.scalar(
        select(func.count())
        .select_from(OperationRecord)
        .where(OperationRecord.drill_id == drill_id, OperationRecord.state.in_(OPEN_OPS))
    )


def _all_ops(db_session, drill_id: str) -> int:
    return db_session.scalar(
        select(func.count())
        .select_from(OperationRecord)
        .where(OperationRecord.drill_id == drill_id)
    )


def test_kill_9_of_the_web_process_then_of_the_scheduler(
    app_config, app, users, seeded, db_session, tmp_path, processes
):
    sched = _scheduler(app_config, tmp_path, processes, "scheduler")
    web, base = _web(app_config, tmp_path, processes, "web")

    # 1. The web process that took the POST dies at once; the drill is the scheduler's.
    requested = _start_from_the_admin_page(base, speed=600)
    assert requested["state"] == "requested"
    drill_id = requested["id"]
    web.kill_9()
    killed_at = datetime.now(UTC)
    drill = _wait(db_session, drill_id, lambda d: d.state != "requested", 60, sched)
    assert drill.runner.startswith("scheduler:") and drill.runner.endswith(f":{sched.proc.pid}")
    drill = _wait(db_session, drill_id, lambda d: d.state not in OPEN_DRILLS, 180, sched)
    assert drill.state == "completed", drill.end_reason
    assert drill.end_reason.startswith("the event's last volume")
    assert _aware(drill.heartbeat_at) > killed_at
    assert drill.progress["next_volume"] == 2  # both volumes played after the web died
    assert _all_ops(db_session, drill_id) >= 1 and _open_ops(db_session, drill_id) == 0

    # 2. The scheduler dies mid-drill; a restarted one resumes the drill to its end.
    web2, base = _web(app_config, tmp_path, processes, "web2")
    drill_id = _start_from_the_admin_page(base, speed=120)["id"]
    web2.stop()
    _wait(
        db_session,
        drill_id,
        lambda d: d.state == "running" and (d.progress or {}).get("next_volume", 0) >= 1,
        60,
        sched,
    )
    sched.kill_9()
    left = _drill(db_session, drill_id)
    assert left.state == "running"  # left behind by the kill: nobody runs it now
    time.sleep(3)
    assert _drill(db_session, drill_id).heartbeat_at == left.heartbeat_at  # no runner beats
    sched2 = _scheduler(app_config, tmp_path, processes, "scheduler2")
    drill = _wait(
        db_session,
        drill_id,
        lambda d: any(t.get("kind") == "resumed" for t in d.timeline or []),
        120,
        sched2,
    )
    resumed = next(t for t in drill.timeline if t.get("kind") == "resumed")
    assert (
        drill.runner.endswith(f":{sched2.proc.pid}") and f":{sched.proc.pid}" in resumed["reason"]
    )
    drill = _wait(db_session, drill_id, lambda d: d.state not in OPEN_DRILLS, 240, sched2)
    assert drill.state == "completed", drill.end_reason
    assert _open_ops(db_session, drill_id) == 0
    db_session.expire_all()
    assert (
        db_session.scalar(
            select(func.count()).select_from(DrillRecord).where(DrillRecord.state.in_(OPEN_DRILLS))
        )
        == 0
    )
