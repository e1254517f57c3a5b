"""Issue 11: the escalation ladder on an injected clock — each step raised once, persisted,
audited and announced to its audience; the second contact with an outbox record; each step
acknowledged by a person (audited); an acknowledged order stops the climb."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from command.extensions import socketio
from command.models import AuditRecord, EscalationRecord, OutboxMessage
from command.watch import watch_deadlines
from tests.web.test_operations_flow import SITE, _iso, _token, api  # noqa: F401 (fixture)


def _ordered(api, now):  # noqa: F811
    oid = api("commander", "POST", "/api/operations", {
        "cell_id": "C-E", "site_code": SITE,
        "window": [_iso(now - timedelta(minutes=1)), _iso(now + timedelta(minutes=40))],
        "azimuth_deg": 10.0, "elevation_deg": 60.0, "quantity": {"37mm_shell": 5},
        "max_altitude_m": 6000.0}).get_json()["id"]
    for who, action in (("commander", "authorize"), ("commander", "request-clearance"),
                        ("atc", "grant"), ("military", "grant"), ("commander", "order")):
        r = api(who, "POST", f"/api/operations/{oid}/{action}", {})
        assert r.status_code == 200, r.get_json()
    return oid


def test_unacknowledged_order_climbs_the_ladder(app, api, db_session):  # noqa: F811
    now = datetime.now(UTC)
    oid = _ordered(api, now)
    county = socketio.test_client(app, namespace="/live",
                                  auth={"token": _token(app, "county_operator")})
    cmd = socketio.test_client(app, namespace="/live", auth={"token": _token(app, "commander")})
    county.get_received("/live")
    cmd.get_received("/live")

    def tick(minutes):
        n = watch_deadlines(db_session, now + timedelta(minutes=minutes))
        db_session.commit()
        return n

    def steps():
        return [r.step for r in db_session.scalars(select(EscalationRecord).where(
            EscalationRecord.operation_id == oid).order_by(EscalationRecord.id))]

    tick(1.5)
    assert steps() == []
    tick(2.1)
    assert steps() == ["banner"]
    tick(2.5)
    assert steps() == ["banner"]  # raised once
    got = [r["args"][0]["data"] for r in county.get_received("/live") if r["name"] == "escalation"]
    assert [g["step"] for g in got] == ["banner"] and got[0]["info"]["site_code"] == SITE
    tick(4.1)
    assert steps() == ["banner", "second_contact"]
    second = db_session.scalar(select(EscalationRecord).where(
        EscalationRecord.operation_id == oid, EscalationRecord.step == "second_contact"))
    phones = [c["phone"] for c in second.info["contacts"]]
    assert phones and all(phones)
    calls = db_session.scalars(select(OutboxMessage).where(
        OutboxMessage.ref == f"escalation:{oid}:order_unacknowledged")).all()
    assert len(calls) == len(phones)
    tick(6.1)
    assert steps() == ["banner", "second_contact", "commander_alarm"]
    to_cmd = [r["args"][0]["data"]["step"] for r in cmd.get_received("/live")
              if r["name"] == "escalation"]
    assert to_cmd == ["banner", "second_contact", "commander_alarm"]
    # the county never gets the commander's alarm
    assert [r["args"][0]["data"]["step"] for r in county.get_received("/live")
            if r["name"] == "escalation"] == ["second_contact"]

    # a person acknowledges each step: recorded, audited, gone from the open list
    open_ = api("county_operator", "GET", "/api/escalations").get_json()["escalations"]
    assert sorted(e["step"] for e in open_) == ["banner", "second_contact"]
    alarm = db_session.scalar(select(EscalationRecord).where(
        EscalationRecord.operation_id == oid, EscalationRecord.step == "commander_alarm"))
    assert api("county_operator", "POST", f"/api/escalations/{alarm.id}/ack").status_code == 404
    r = api("commander", "POST", f"/api/escalations/{alarm.id}/ack")
    assert r.status_code == 200 and r.get_json()["acked_by"] == "commander"
    db_session.expire_all()
    acks = db_session.scalars(select(AuditRecord).where(
        AuditRecord.action == "escalation.ack", AuditRecord.object_id == oid)).all()
    assert len(acks) == 1 and acks[0].actor == "commander"
    raised = db_session.scalars(select(AuditRecord.action).where(
        AuditRecord.object_id == oid, AuditRecord.action.like("escalation.%"))).all()
    assert {"escalation.banner", "escalation.second_contact", "escalation.commander_alarm"} <= set(raised)


def test_acknowledged_order_stops_the_ladder(app, api, db_session):  # noqa: F811
    now = datetime.now(UTC)
    oid = _ordered(api, now)
    watch_deadlines(db_session, now + timedelta(minutes=2.1))
    db_session.commit()
    assert api("county_operator", "POST", f"/api/operations/{oid}/acknowledge").status_code == 200
    watch_deadlines(db_session, now + timedelta(minutes=10))
    db_session.commit()
    assert [r.step for r in db_session.scalars(select(EscalationRecord).where(
        EscalationRecord.operation_id == oid))] == ["banner"]


def test_pending_clearance_escalates_to_the_undecided_authority(app, api, db_session):  # noqa: F811
    now = datetime.now(UTC)
    oid = api("commander", "POST", "/api/operations", {
        "cell_id": "C-E", "site_code": SITE,
        "window": [_iso(now - timedelta(minutes=1)), _iso(now + timedelta(minutes=40))],
        "azimuth_deg": 10.0, "elevation_deg": 60.0, "quantity": {"37mm_shell": 5},
        "max_altitude_m": 6000.0}).get_json()["id"]
    api("commander", "POST", f"/api/operations/{oid}/authorize", {})
    api("commander", "POST", f"/api/operations/{oid}/request-clearance", {})
    api("atc", "POST", f"/api/operations/{oid}/grant", {})
    watch_deadlines(db_session, now + timedelta(minutes=6.5))
    db_session.commit()
    recs = db_session.scalars(select(EscalationRecord).where(
        EscalationRecord.operation_id == oid).order_by(EscalationRecord.id)).all()
    assert [r.step for r in recs] == ["banner", "second_contact"]
    assert recs[0].info["waiting_for"] == ["military"]
    assert [c["role"] for c in recs[1].info["contacts"]] == ["military_liaison"]
    assert api("military", "GET", "/api/escalations").get_json()["escalations"]
    assert api("atc", "GET", "/api/escalations").get_json()["escalations"] == []
