"""Issue 12: /healthz is 503 when the scheduler's heartbeat is stale and shows no internals
without login; a second scheduler refuses to start."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from command.models import ServiceStatus
from command.scheduler import SchedulerAlreadyRunning, SchedulerLock
from tests.conftest import login

REPO = Path(__file__).resolve().parents[2]


def _beat(db_session, age: timedelta) -> None:
    row = db_session.get(ServiceStatus, "scheduler") or ServiceStatus(name="scheduler")
    row.updated_at = datetime.now(UTC) - age
    row.info = {"jobs": ["heartbeat", "radar_feed"]}
    db_session.merge(row)
    db_session.commit()


def test_healthz_is_503_when_the_scheduler_heartbeat_is_stale(client, db_session) -> None:
    _beat(db_session, timedelta(seconds=5))
    fresh = client.get("/healthz")
    assert fresh.status_code == 200 and fresh.get_json()["scheduler"]["ok"] is True
    _beat(db_session, timedelta(minutes=3))  # the scheduler died three minutes ago
    stale = client.get("/healthz")
    assert stale.status_code == 503
    assert stale.get_json()["scheduler"] == {
        "ok": False,
        "state": "stale",
        "last_heartbeat": stale.get_json()["scheduler"]["last_heartbeat"],
    }
    assert stale.get_json()["status"] == "degraded"


def test_healthz_shows_no_internals_without_login(app, client, users, db_session) -> None:
    _beat(db_session, timedelta(seconds=1))
    public = client.get("/healthz").get_data(as_text=True)
    for internal in (
        str(app.config["HAILOPS"].instance_path),
        "incoming_dir",
        "dialect",
        "recent_quarantine",
        'radar_feed": {"incoming',
        'heartbeat",',
    ):
        assert internal not in public, internal
    login(client, "admin")
    inside = client.get("/healthz").get_json()
    assert inside["radar_feed"]["incoming_dir"] and inside["scheduler"]["jobs"]


def test_a_second_scheduler_lock_is_refused(app) -> None:
    first, second = SchedulerLock(app), SchedulerLock(app)
    first.acquire()
    try:
        with pytest.raises(SchedulerAlreadyRunning, match="another hailops scheduler"):
            second.acquire()
    finally:
        first.release()
    second.acquire()  # free again once the first has gone
    second.release()


@pytest.mark.slow
def test_a_second_hailops_scheduler_process_refuses_to_start(app, app_config) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "HAILOPS_ENV": "test",
        "HAILOPS_DATABASE_URL": app_config["database_url"],
        "HAILOPS_INSTANCE_PATH": str(app_config["instance_path"]),
        "HAILOPS_SECRET_KEY": "test-secret",
        "HAILOPS_RADAR_POLL_SECONDS": "3600",
    }
    cmd = [sys.executable, "-m", "command.cli", "scheduler"]
    first = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        lines = []
        while not any("scheduler running" in line for line in lines):
            line = first.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        started = time.monotonic()
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode != 0
        assert "another hailops scheduler is running" in second.stderr + second.stdout
        assert time.monotonic() - started < 120
    finally:
        first.terminate()
        first.wait(timeout=30)
