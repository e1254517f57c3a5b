"""Drills end to end: the built-in Canberra event, relocated over Lüliang, replayed at high
speed with automatic players — isolated from live operations and scored from the record."""

from __future__ import annotations

import json
import shutil
import threading
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from command import audit
from command.cli import main
from command.codec import decode
from command.drill import (
    DrillError,
    DrillRunner,
    SteppedWallClock,
    create_drill,
    parse_script,
    resolve_event,
)
from command.drill_report import build_report, render_html, render_pdf
from command.models import AuditRecord, CellRecord, DrillRecord, OperationRecord, RadarVolume
from dispatch import lifecycle as lc
from tests.unit.radar.radar_paths import canberra_volumes, feldberg_dir


def _run(app, db_session, **kwargs):
    event = resolve_event(db_session, "canberra_20181220")
    drill = create_drill(db_session, event, speed=600, started_by="test", auto_approve=True, **kwargs)
    db_session.commit()
    # A stepped wall clock: the drill's schedule is the same on a loaded machine (issue 12).
    clock = SteppedWallClock(drill.anchor_wall)
    with app.app_context():
        outcome = DrillRunner(app, drill.id, poll_s=0.02, clock=clock).run()
    assert outcome == "completed"
    db_session.expire_all()
    return drill.id


def test_builtin_drill_with_auto_approval(app, users, seeded, db_session, client):
    drill_id = _run(app, db_session)
    drill = db_session.get(DrillRecord, drill_id)
    assert drill.relocated and drill.relocate_to["lat"] == pytest.approx(37.5183)
    ops = [decode(lc.Operation, r.data) for r in db_session.scalars(
        select(OperationRecord).where(OperationRecord.drill_id == drill_id))]
    assert any(op.state == lc.S.COMPLETED for op in ops), [op.state for op in ops]
    # Every ordered operation held both grants covering the order time.
    for op in ops:
        for entry in op.history:
            if entry.action == "order":
                cleared = op.clearance(entry.at)
                assert cleared is not None and cleared.window.contains(entry.at)
    # Relocated over Lüliang, the hail cores are predicted to enter counties and site areas,
    # every arrival within the 60-minute horizon of its scan.
    arrivals = []
    for vol in db_session.scalars(select(RadarVolume).where(RadarVolume.drill_id == drill_id)):
        for t in vol.tracks:
            for group in (t.get("arrivals") or {}).values():
                arrivals += [(vol.scan_time, datetime.fromisoformat(v)) for v in group.values()]
    assert arrivals
    assert all(scan <= a <= scan + timedelta(minutes=60) for scan, a in arrivals)
    # Drill times are on the event's clock.
    assert all(op.history[0].at.year == 2018 for op in ops)

    # Nothing of the drill in live queries.
    from tests.conftest import login

    login(client, "commander")
    assert client.get("/api/operations").get_json()["operations"] == []
    assert client.get("/api/live/state").get_json()["volume"] is None
    assert client.get("/api/volumes").get_json()["volumes"] == []
    drill_vols = client.get(f"/api/volumes?drill={drill_id}").get_json()["volumes"]
    assert len(drill_vols) == 2  # the time slider of a drill steps through its own volumes
    assert client.get(f"/api/volumes/{drill_vols[0]['id']}").status_code == 404
    assert client.get(f"/api/volumes/{drill_vols[0]['id']}?drill={drill_id}").get_json()[
        "drill_id"] == drill_id
    assert client.get("/healthz").get_json()["radar_feed"]["latest_volume"] is None
    assert client.get("/api/sites/LS-01").get_json()["ammunition"]["37mm_shell"] == 200

    # The report's numbers match the audit log.
    report = build_report(db_session, drill_id)
    # The contract's fields stay (issue 10 adds end_reason, started_at, ended_at).
    assert report["drill"].items() >= {"id": drill_id, "event": "canberra_20181220",
                                       "relocated": True, "speed": 600.0, "state": "completed",
                                       "auto_approve": True,
                                       "relocate_to": drill.relocate_to}.items()
    completed_audit = db_session.scalar(select(func.count()).select_from(AuditRecord).where(
        AuditRecord.drill_id == drill_id, AuditRecord.action == "operation.report"))
    assert report["scores"]["completed"] == completed_audit
    assert report["scores"]["operations"] == db_session.scalar(
        select(func.count()).select_from(AuditRecord).where(
            AuditRecord.drill_id == drill_id, AuditRecord.action == "operation.propose"))
    for op in report["operations"]:
        audited = db_session.scalars(select(AuditRecord).where(
            AuditRecord.object_id == op["id"], AuditRecord.action.like("operation.%"))
            .order_by(AuditRecord.id)).all()
        assert {a.after["state"] for a in audited} == set(op["states"]) | (
            {"clearance_requested"} if "clearance_requested" in op["states"] else set())
        if "ordered" in op["states"]:
            assert op["clearance"]["atc"]["decision"] == "granted"
            assert op["clearance"]["military"]["decision"] == "granted"
    # Warnings were issued by the automatic forecaster and are scored county by county.
    w = report["scores"]["warnings"]
    issued = db_session.scalars(select(AuditRecord).where(
        AuditRecord.drill_id == drill_id, AuditRecord.action == "warning.issue")).all()
    assert issued and w["available"]
    assert set(w["warned_counties"]) == {c for a in issued for c in a.after["counties"]}
    h, m, f = len(w["hits"]), len(w["misses"]), len(w["false_alarms"])
    assert h + m == len(w["observed_counties"]) and h + f == len(w["warned_counties"])
    if h + m:
        assert w["pod"] == pytest.approx(h / (h + m))
    if h + m + f:
        assert w["csi"] == pytest.approx(h / (h + m + f))
    assert audit.verify(db_session).ok
    html = render_html(report, db_session)
    assert "POD" in html
    assert "data:image/png;base64," in html and "DRILL" in html
    assert render_pdf(report, db_session).startswith(b"%PDF")


def test_injects_deny_and_missing_volume(app, users, seeded, db_session):
    script = parse_script(json.dumps([
        {"at_s": 0, "kind": "deny", "params": {"authority": "atc"}},
        {"at_s": 10, "kind": "missing_volume", "params": {"index": 1}},
        {"at_s": 20, "kind": "false_hail_report", "params": {"lat": 37.5, "lon": 111.3}},
    ]))
    # Relocated a little north-east of the Lüliang radar (Z9358), where the first volume's hail
    # cores already threaten sites: the deny inject needs an operation before the second volume
    # goes missing. Over Z9358 itself the first volume's cores reach no site in time.
    drill_id = _run(app, db_session, script=script, relocate_to=(37.55, 111.17))
    report = build_report(db_session, drill_id)
    assert report["scores"]["denied"] >= 1
    assert [i["inject"] for i in report["scores"]["injects"]] == ["deny", "missing_volume",
                                                                  "false_hail_report"]
    kinds = [i["kind"] for i in db_session.get(DrillRecord, drill_id).timeline]
    assert "volume_missing" in kinds
    assert db_session.scalar(select(func.count()).select_from(RadarVolume).where(
        RadarVolume.drill_id == drill_id)) == 1
    assert any(i["item"].startswith(f"{report['scores']['denied']} operation(s) denied")
               for i in report["after_action"]["to_improve"])


def test_bad_script_is_refused():
    with pytest.raises(DrillError, match="kind must be one of"):
        parse_script('[{"at_s": 1, "kind": "meteor"}]')
    with pytest.raises(DrillError, match="JSON"):
        parse_script("not json")


@pytest.mark.slow  # a drill replayed through the real ingestion
def test_live_operations_continue_while_a_drill_runs(app, users, seeded, db_session, client):
    """A live volume and a live operation go on, unaffected, during a running drill."""
    from command.ingest import poll_incoming
    from tests.conftest import login

    event = resolve_event(db_session, "canberra_20181220")
    drill = create_drill(db_session, event, speed=300, started_by="test", auto_approve=True)
    db_session.commit()
    runner = threading.Thread(target=DrillRunner(app, drill.id, poll_s=0.02).run)
    runner.start()
    try:
        incoming = app.config["HAILOPS"].incoming
        incoming.mkdir(parents=True, exist_ok=True)
        shutil.copy(canberra_volumes()[0],
                    incoming / "live.h5")
        assert [o.status for o in poll_incoming(app)] == ["processed"]
        login(client, "commander")
        now = datetime.now(UTC)
        resp = client.post("/api/operations", json={
            "cell_id": "LIVE-1", "site_code": "LS-01",
            "window": [now.isoformat(), (now + timedelta(minutes=20)).isoformat()],
            "azimuth_deg": 10.0, "elevation_deg": 60.0, "quantity": {"37mm_shell": 5},
            "max_altitude_m": 6000.0})
        assert resp.status_code == 201
        live_id = resp.get_json()["id"]
        assert client.post(f"/api/operations/{live_id}/authorize").get_json()["state"] == "authorized"
    finally:
        runner.join(timeout=120)
    db_session.expire_all()
    live_ops = client.get("/api/operations").get_json()["operations"]
    assert [o["id"] for o in live_ops] == [live_id]
    assert live_ops[0]["state"] == "authorized"
    live_vol = client.get("/api/live/state").get_json()["volume"]
    assert live_vol["drill_id"] is None and live_vol["file"] == "live.h5"
    assert db_session.scalar(select(func.count()).select_from(CellRecord).where(
        CellRecord.drill_id == drill.id)) > 0
    assert db_session.get(DrillRecord, drill.id).state == "completed"


@pytest.mark.slow  # a drill replayed through the real ingestion
def test_cli_import_run_and_report(app_config, app, users, seeded, tmp_path):
    env = {"HAILOPS_DATABASE_URL": app_config["database_url"],
           "HAILOPS_INSTANCE_PATH": str(app_config["instance_path"]), "HAILOPS_ENV": "test"}
    runner = CliRunner()
    r = runner.invoke(main, ["drill", "import", str(feldberg_dir()),
                             "--name", "feldberg"], env=env)
    assert r.exit_code == 0, r.output
    assert "4 volumes" in r.output and "realistic drill needs" in r.output
    r = runner.invoke(main, ["drill", "run", "canberra_20181220", "--speed", "600",
                             "--auto-approve", "--delay", "nonsense_s=3"], env=env)
    assert r.exit_code != 0 and "atc_s" in r.output
    r = runner.invoke(main, ["drill", "run", "canberra_20181220", "--speed", "600",
                             "--auto-approve", "--delay", "atc_s=30"], env=env)
    assert r.exit_code == 0, r.output
    assert "completed" in r.output
    r = runner.invoke(main, ["drill", "report", "latest"], env=env)
    report = json.loads(r.output)
    assert set(report) >= {"drill", "operations", "scores"}
    assert set(report["drill"]) >= {"id", "event", "relocated", "speed"}
    for op in report["operations"]:
        assert set(op) >= {"id", "site", "cell", "states", "clearance"}
    out = tmp_path / "r.pdf"
    r = runner.invoke(main, ["drill", "report", "latest", "--format", "pdf", "--output", str(out)],
                      env=env)
    assert r.exit_code == 0 and out.read_bytes().startswith(b"%PDF")
    r = runner.invoke(main, ["drill", "run", "no-such-event"], env=env)
    assert r.exit_code != 0 and "no drill event" in r.output


def test_admin_controls_pause_resume_stop(app, users, seeded, client, db_session):
    from tests.conftest import login

    login(client, "commander")
    assert client.post("/api/drills", json={"event": "canberra_20181220"}).status_code == 403
    login(client, "admin")
    resp = client.post("/api/drills", json={"event": "canberra_20181220", "speed": 1})
    assert resp.status_code == 201, resp.get_json()
    drill_id = resp.get_json()["id"]
    assert "realistic drill needs" in " ".join(resp.get_json()["notes"])
    from command.drill import supervise_drills

    supervise_drills(app)  # the scheduler picks the request up
    assert client.post(f"/api/drills/{drill_id}/pause").get_json()["state"] == "paused"
    t1 = client.get("/api/drills").get_json()["drills"][0]["drill_time"]
    assert client.get("/api/drills").get_json()["drills"][0]["drill_time"] == t1  # clock stopped
    assert client.post(f"/api/drills/{drill_id}/resume").get_json()["state"] == "running"
    assert client.post(f"/api/drills/{drill_id}/stop").get_json()["state"] == "stopped"
    assert client.post(f"/api/drills/{drill_id}/resume").status_code == 409
    for thread in app.extensions.get("hailops_drill_threads", []):
        thread.join(timeout=10)
        assert not thread.is_alive()
    assert client.get("/admin/drills").status_code == 200


def test_demo_starts_one_drill_at_a_time(app, users, seeded):
    from command.demo import DEMO_USER, ensure_demo_drill, present_roles

    first = ensure_demo_drill(app)
    assert first is not None
    assert ensure_demo_drill(app) is None  # one demo drill at a time
    assert present_roles(app, first) == set()  # nobody connected: automatic players act
    with app.extensions["hailops_db"].session() as s:
        drill = s.get(DrillRecord, first)
        assert drill.started_by == DEMO_USER and drill.auto_approve and drill.relocated
        assert drill.state == "running"  # the scheduler's drill job started it
    # A restarted process (its threads gone) still starts no second demo drill: the open
    # one is the scheduler's to resume or end.
    app.extensions["hailops_drill_runs"].clear()
    assert ensure_demo_drill(app) is None
    with app.extensions["hailops_db"].session() as s:
        from command.drill import set_state

        assert s.scalar(select(func.count()).select_from(DrillRecord)) == 1
        set_state(s, s.get(DrillRecord, first), "stopped")
        s.commit()
    for thread in app.extensions.get("hailops_drill_threads", []):
        thread.join(timeout=10)


def test_monthly_schedule_announces_once_then_starts(app_config, users, seeded):
    from zoneinfo import ZoneInfo

    from apscheduler.schedulers.background import BackgroundScheduler

    from command import create_app
    from command.drill import (
        announce_if_due,
        next_scheduled,
        register_schedule,
        start_scheduled_drill,
    )
    from command.models import LiveEvent

    app = create_app(app_config | {"drill_cron": "0 9 15 * *", "drill_speed": 600.0})
    settings = app.config["HAILOPS"]
    first = next_scheduled(settings, datetime(2027, 6, 1, tzinfo=UTC))
    assert first.astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None) == datetime(2027, 6, 15, 9, 0)
    assert not announce_if_due(app, first - timedelta(hours=30))  # too early
    assert announce_if_due(app, first - timedelta(hours=20))
    assert not announce_if_due(app, first - timedelta(hours=19))  # told once
    scheduler = BackgroundScheduler(timezone="UTC")
    register_schedule(app, scheduler)
    assert {j.id for j in scheduler.get_jobs()} == {"drills", "monthly_drill", "drill_announce"}
    drill_id = start_scheduled_drill(app)
    with app.extensions["hailops_db"].session() as s:
        assert s.get(DrillRecord, drill_id).started_by == "schedule"
        events = s.scalars(select(LiveEvent.event)).all()
        assert "drill.announce" in events and "drill.state" in events
    for thread in app.extensions.get("hailops_drill_threads", []):
        thread.join(timeout=60)
