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
