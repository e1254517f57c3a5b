"""Issue 10: drills are owned by the scheduler and survive their runner — progress is
persisted, a dead runner (heartbeat stopped) is detected, and the drill resumes where it
was or ends cleanly with every operation closed.  Never a drill left ``running``."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from command import operations
from command.drill import (
    DrillError,
    DrillRunner,
    create_drill,
    drill_now,
    resolve_event,
    runner_name,
    set_state,
    supervise_drills,
)
from command.models import AuditRecord, DrillRecord, OperationRecord, RadarVolume
from command.testing import ROOT, hailops_command
from dispatch import lifecycle as lc

OPEN = [s.value for s in lc.OperationState if s not in lc.TERMINAL_STATES]


class FakeClock:
    """The runner's wall clock: sleeping advances it, so a 600x drill is deterministic however
    loaded the machine is."""

    def __init__(self, start: datetime) -> None:
        self.t = start

    def now(self) -> datetime:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += timedelta(seconds=max(seconds, 0.001))


class Killed(BaseException):
    """Stands for kill -9: nothing after it runs, no except clause sees it."""


def _new_drill(db_session, **kw):
    event = resolve_event(db_session, "canberra_20181220")
    drill = create_drill(db_session, event, speed=600, started_by="test", **kw)
    db_session.commit()
    return drill.id


def _open_ops(db_session, drill_id):
    db_session.expire_all()
    return db_session.scalar(
        select(func.count())
        .select_from(OperationRecord)
        .where(OperationRecord.drill_id == drill_id, OperationRecord.state.in_(OPEN))
    )


def test_a_killed_runner_is_resumed_from_its_progress(app, users, seeded, db_session):
    drill_id = _new_drill(db_session, auto_approve=True, runner="cli:gone:1")

    class DiesAfterFirstVolume(FakeClock):
        def sleep(self, seconds):
            super().sleep(seconds)
            with app.extensions["hailops_db"].session() as s:
                if (s.get(DrillRecord, drill_id).progress or {}).get("next_volume", 0) >= 1:
                    raise Killed

    clock = DiesAfterFirstVolume(datetime.now(UTC))
    with app.app_context(), pytest.raises(Killed):
        DrillRunner(app, drill_id, runner_id="cli:gone:1", poll_s=0.5, clock=clock).run()
    db_session.expire_all()
    drill = db_session.get(DrillRecord, drill_id)
    assert drill.state == "running" and drill.progress["next_volume"] == 1
    seen = datetime.fromisoformat(drill.progress["drill_time"])

    # Still beating recently: left alone.  Silent for longer than the stale limit: resumed.
    started = []
    assert (
        supervise_drills(
            app, wall=clock.t + timedelta(seconds=5), start=lambda a, d: started.append(d)
        )
        == {}
    )
    later = clock.t + timedelta(seconds=60)
    assert supervise_drills(app, wall=later, start=lambda a, d: started.append(d)) == {
        drill_id: "resumed"
    }
    assert started == [drill_id]
    db_session.expire_all()
    drill = db_session.get(DrillRecord, drill_id)
    assert drill.runner == runner_name("scheduler")
    assert drill_now(drill, later) == seen  # the clock restarts where it stopped
    assert drill.timeline[-1]["kind"] == "resumed" and "cli:gone:1" in drill.timeline[-1]["reason"]
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(
                AuditRecord.action == "drill.resume_after_loss", AuditRecord.drill_id == drill_id
            )
        )
        == 1
    )

    clock = FakeClock(later)
    with app.app_context():
        outcome = DrillRunner(
            app, drill_id, runner_id=runner_name("scheduler"), poll_s=0.5, clock=clock
        ).run()
    assert outcome == "completed"
    db_session.expire_all()
    drill = db_session.get(DrillRecord, drill_id)
    assert drill.state == "completed" and drill.end_reason
    # Each volume was ingested exactly once across the two runners.
    assert (
        db_session.scalar(
            select(func.count()).select_from(RadarVolume).where(RadarVolume.drill_id == drill_id)
        )
        == 2
    )
    assert _open_ops(db_session, drill_id) == 0


def _operation_in(db_session, drill_id, steps):
    drill = db_session.get(DrillRecord, drill_id)
    now = drill_now(drill)
    body = {
        "cell_id": "C1",
        "site_code": "LS-01",
        "window": [now.isoformat(), (now + timedelta(minutes=30)).isoformat()],
        "azimuth_deg": 10.0,
        "elevation_deg": 60.0,
        "quantity": {"37mm_shell": 4},
        "max_altitude_m": 6000.0,
    }
    commander = lc.Actor("c", lc.Role.COMMANDER)
    op = operations.propose(db_session, commander, body, now, drill_id=drill_id)
    actors = {
        "authorize": commander,
        "request-clearance": commander,
        "order": commander,
        "grant-atc": lc.Actor("a", lc.Role.ATC),
        "grant-military": lc.Actor("m", lc.Role.MILITARY),
        "acknowledge": lc.Actor("o", lc.Role.COUNTY_OPERATOR, "lishi"),
        "start-firing": lc.Actor("o", lc.Role.COUNTY_OPERATOR, "lishi"),
    }
    for i, step in enumerate(steps):
        t = now + timedelta(seconds=i + 1)
        op = operations.transition(
            db_session,
            op.id,
            step.split("-")[0] if step.startswith("grant") else step,
            actors[step],
            {},
            t,
        )
    db_session.commit()
    return op.id


def test_a_drill_whose_runner_is_gone_too_long_is_ended_with_every_operation_closed(
    app, users, seeded, db_session
):
    drill_id = _new_drill(db_session, runner="cli:gone:2")
    full = [
        "authorize",
        "request-clearance",
        "grant-atc",
        "grant-military",
        "order",
        "acknowledge",
        "start-firing",
    ]
    ids = [_operation_in(db_session, drill_id, full[:n]) for n in (0, 1, 2, 5, 6, 7)]
    assert _open_ops(db_session, drill_id) == 6
    assert supervise_drills(app, wall=datetime.now(UTC) + timedelta(hours=2)) == {drill_id: "ended"}
    db_session.expire_all()
    drill = db_session.get(DrillRecord, drill_id)
    assert drill.state == "stopped" and "lost" in drill.end_reason
    assert _open_ops(db_session, drill_id) == 0
    states = {db_session.get(OperationRecord, i).state for i in ids}
    assert states == {"cancelled", "recalled"}
    last = operations.load(db_session, ids[-1])[1].history[-1]
    assert last.action == "recall" and "drill ended" in last.detail


def test_an_admin_stop_closes_the_drills_operations(app, users, seeded, db_session, client):
    from tests.conftest import login

    drill_id = _new_drill(db_session)
    op_id = _operation_in(
        db_session,
        drill_id,
        ["authorize", "request-clearance", "grant-atc", "grant-military", "order"],
    )
    login(client, "admin")
    assert client.post(f"/api/drills/{drill_id}/stop").get_json()["state"] == "stopped"
    db_session.expire_all()
    assert db_session.get(OperationRecord, op_id).state == "recalled"
    assert client.get("/api/drills").get_json()["drills"][0]["end_reason"] == "stopped by admin"


def test_the_admin_page_requests_and_the_scheduler_runs(app, users, seeded, db_session, client):
    from tests.conftest import login

    login(client, "admin")
    resp = client.post("/api/drills", json={"event": "canberra_20181220", "speed": 600})
    assert resp.status_code == 201 and resp.get_json()["state"] == "requested"
    assert not app.extensions.get("hailops_drill_runs")  # the web request started nothing
    drill_id = resp.get_json()["id"]
    started = []
    assert supervise_drills(app, start=lambda a, d: started.append(d)) == {drill_id: "started"}
    db_session.expire_all()
    assert db_session.get(DrillRecord, drill_id).state == "running" and started == [drill_id]
    set_state(db_session, db_session.get(DrillRecord, drill_id), "stopped")
    db_session.commit()


def test_a_drill_without_sites_or_players_says_so_before_it_starts(app, users, db_session):
    event = resolve_event(db_session, "canberra_20181220")
    with pytest.raises(DrillError, match="no operation sites"):
        create_drill(db_session, event, speed=60, started_by="t", auto_approve=True)
    db_session.rollback()


def test_a_drill_without_the_roles_says_so_when_automatic_players_are_off(app, seeded, db_session):
    event = resolve_event(db_session, "canberra_20181220")
    db_session.commit()
    with pytest.raises(DrillError, match="county_operator, atc, military"):
        create_drill(db_session, event, speed=60, started_by="t")
    db_session.rollback()
    assert create_drill(db_session, event, speed=60, started_by="t", auto_approve=True).id


@pytest.mark.slow
def test_kill_9_of_a_cli_drill_then_restart_leaves_nothing_running(
    app_config, app, users, seeded, db_session, tmp_path
):
    """The crash test of the issue: ``kill -9`` the process running a drill, restart (the
    scheduler's drill job), and the drill resumes to its end with no operation left open."""
    env = {
        **os.environ,
        "HAILOPS_DATABASE_URL": app_config["database_url"],
        "HAILOPS_INSTANCE_PATH": str(app_config["instance_path"]),
        "HAILOPS_ENV": "test",
        "PYTHONPATH": str(ROOT),
    }
    log = (tmp_path / "drill.log").open("w")
    proc = subprocess.Popen(
        [
            *hailops_command(),
            "drill",
            "run",
            "canberra_20181220",
            "--speed",
            "600",
            "--auto-approve",
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    drill_id = None
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            db_session.expire_all()
            drill = db_session.scalar(select(DrillRecord).where(DrillRecord.started_by == "cli"))
            if drill is not None and (drill.progress or {}).get("next_volume", 0) >= 1:
                drill_id = drill.id
                break
            time.sleep(0.2)
        assert drill_id, (tmp_path / "drill.log").read_text()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    db_session.expire_all()
    assert db_session.get(DrillRecord, drill_id).state == "running"  # left behind by the kill

    time.sleep(1.0)
    assert supervise_drills(app, stale_s=0.5) == {drill_id: "resumed"}
    for thread in app.extensions["hailops_drill_threads"]:
        thread.join(timeout=180)
    db_session.expire_all()
    drill = db_session.get(DrillRecord, drill_id)
    assert drill.state == "completed", drill.timeline[-3:]
    assert _open_ops(db_session, drill_id) == 0
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(DrillRecord)
            .where(DrillRecord.state.in_(["running", "paused", "requested"]))
        )
        == 0
    )


def test_inject_scripts_are_checked_before_the_drill_starts(client, users, seeded):
    from command.drill import parse_script
    from tests.conftest import login

    for text, message in (
        ('[{"at_s": -5, "kind": "deny"}]', "at_s"),
        ('[{"at_s": 5, "kind": "deny", "params": {"authority": "tower"}}]', "atc or military"),
        ('[{"at_s": 5, "kind": "site_offline"}]', "site_code"),
        ('[{"at_s": 5, "kind": "missing_volume", "params": {"index": "2"}}]', "index"),
        ('[{"at_s": 5, "kind": "deny", "params": [1]}]', "params must be"),
    ):
        with pytest.raises(DrillError, match=message):
            parse_script(text)
    assert parse_script('[{"at_s": 5, "kind": "missing_volume", "params": {"index": 1}}]')
    login(client, "admin")
    resp = client.post(
        "/api/drills",
        json={
            "event": "canberra_20181220",
            "auto_approve": True,
            "script": '[{"at_s": 5, "kind": "site_offline"}]',
        },
    )
    assert resp.status_code == 422 and "site_code" in resp.get_json()["message"]
    resp = client.post("/api/drills", json={"event": "canberra_20181220", "script": "[{"})
    assert resp.status_code == 422 and "not JSON" in resp.get_json()["message"]
