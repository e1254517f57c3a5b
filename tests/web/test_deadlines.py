"""Deadline jobs: an ended window expires the operation (cease-fire for an order), pending
clearances and unacknowledged orders raise one alert each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from command.models import AuditRecord, LiveEvent
from command.watch import watch_deadlines
from tests.web.test_operations_flow import _propose, api  # noqa: F401  (fixture)


def test_pending_clearance_alerts_once_then_window_end_expires(app, api, db_session):  # noqa: F811
    now = datetime.now(UTC)
    oid = _propose(api, now)["id"]
    api("commander", "POST", f"/api/operations/{oid}/authorize", {})
    api("commander", "POST", f"/api/operations/{oid}/request-clearance", {})
    assert watch_deadlines(db_session, now + timedelta(minutes=1)) == 0
    assert watch_deadlines(db_session, now + timedelta(minutes=6)) == 1
    db_session.commit()
    assert watch_deadlines(db_session, now + timedelta(minutes=7)) == 0  # said once
    db_session.commit()
    watch_deadlines(db_session, now + timedelta(minutes=31))
    db_session.commit()
    state = api("commander", "GET", f"/api/operations/{oid}").get_json()["state"]
    assert state == "expired"
    kinds = [e.payload["kind"] for e in db_session.scalars(
        select(LiveEvent).where(LiveEvent.event == "alert"))]
    assert kinds == ["clearance_pending"]
    assert "operation.expire" in db_session.scalars(select(AuditRecord.action)).all()


def test_ordered_but_unacknowledged_alerts_the_county(app, api, db_session):  # noqa: F811
    now = datetime.now(UTC)
    oid = _propose(api, now)["id"]
    for who, action in [("commander", "authorize"), ("commander", "request-clearance"),
                        ("atc", "grant"), ("military", "grant"), ("commander", "order")]:
        assert api(who, "POST", f"/api/operations/{oid}/{action}", {}).status_code == 200
    assert watch_deadlines(db_session, datetime.now(UTC) + timedelta(minutes=4)) >= 1
    db_session.commit()
    alert = db_session.scalars(select(LiveEvent).where(LiveEvent.event == "alert")).first()
    assert alert.payload["kind"] == "order_unacknowledged"
    assert "county:lishi" in alert.rooms


def test_the_live_watch_leaves_drill_operations_alone(app, api, db_session):  # noqa: F811
    """Drill operations run on the drill clock (years ago): the live watch must not expire them."""
    from command.drill import create_drill, resolve_event
    from command.models import DrillRecord, OperationRecord
    from command.operations import propose
    from dispatch.lifecycle import Actor, Role

    event = resolve_event(db_session, "canberra_20181220")
    drill = create_drill(db_session, event, speed=1, started_by="test")
    db_session.commit()
    from command.drill import drill_now

    dnow = drill_now(db_session.get(DrillRecord, drill.id))
    with app.extensions["hailops_db"].session() as s:
        op = propose(s, Actor("c", Role.COMMANDER), {
            "cell_id": "C", "site_code": "LS-01",
            "window": [dnow.isoformat(), (dnow + timedelta(minutes=30)).isoformat()],
            "azimuth_deg": 10.0, "elevation_deg": 60.0, "quantity": {"37mm_shell": 1},
            "max_altitude_m": 6000.0}, dnow, drill_id=drill.id)
        s.commit()
    watch_deadlines(db_session, datetime.now(UTC))
    db_session.commit()
    db_session.expire_all()
    assert db_session.get(OperationRecord, op.id).state == "proposed"
    watch_deadlines(db_session, dnow + timedelta(minutes=31), drill_id=drill.id)
    db_session.commit()
    db_session.expire_all()
    assert db_session.get(OperationRecord, op.id).state == "expired"


def test_the_watch_reads_open_operations_only_and_forgets_alerts_of_history(
        app, api, db_session):  # noqa: F811
    """Issue 16: the watch decoded every operation ever made (completed ones included) and
    rewrote every alert key ever sent, each pass."""
    from sqlalchemy import event

    from command.models import OperationRecord, ServiceStatus
    from tests.web.test_season_queries import _clone_operations

    now = datetime.now(UTC)
    open_id = _propose(api, now)["id"]
    _clone_operations(db_session, open_id, [(f"OP-H{i}", "completed", now - timedelta(days=30 + i))
                                            for i in range(20)])
    _clone_operations(db_session, open_id, [("OP-RECENT", "completed", now - timedelta(hours=2))])
    old_keys = {f"OP-H{i}:written_report_overdue": "2026-01-01T00:00:00+00:00" for i in range(20)}
    db_session.merge(ServiceStatus(name="alerts", info=old_keys))
    db_session.commit()
    db_session.expire_all()
    loaded: list[str] = []

    def on_load(target, _context):
        loaded.append(target.id)

    event.listen(OperationRecord, "load", on_load)
    try:
        watch_deadlines(db_session, now + timedelta(minutes=1))
        db_session.commit()
    finally:
        event.remove(OperationRecord, "load", on_load)
    assert set(loaded) == {open_id, "OP-RECENT"}
    assert db_session.get(ServiceStatus, "alerts").info == {}
