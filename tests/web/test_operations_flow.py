"""The whole operation through the HTTP API with Socket.IO clients watching: proposal,
authorization, dual clearance, order, acknowledgement, firing and report — persisted,
audited and announced to exactly the rooms that should see it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from command.extensions import socketio
from command.models import AuditRecord

SITE = "LS-01"  # sample site in Lishi: 37 mm gun, sector 300-60, 200 shells


def _iso(t):
    return t.astimezone(UTC).isoformat()


def _token(app, username):
    from command.auth import issue_token
    from command.extensions import get_db
    from command.models import User

    with app.app_context(), get_db().session() as s:
        token = issue_token(s, s.scalar(select(User).where(User.username == username)))
        s.commit()
    return token


@pytest.fixture
def api(app, users, seeded):
    """A client per role, authenticated with bearer tokens (as machine clients would be)."""
    clients = {}
    for name in ("commander", "atc", "military", "county_operator", "fenyang", "forecaster"):
        clients[name] = (app.test_client(), {"Authorization": f"Bearer {_token(app, name)}"})

    def call(who, method, path, body=None, key=None):
        client, headers = clients[who]
        h = dict(headers)
        if key:
            h["Idempotency-Key"] = key
        return client.open(path, method=method, json=body, headers=h)

    return call


def _propose(api, now):
    resp = api("commander", "POST", "/api/operations", {
        "cell_id": "C-TEST-1", "site_code": SITE,
        "window": [_iso(now - timedelta(minutes=1)), _iso(now + timedelta(minutes=30))],
        "azimuth_deg": 10.0, "elevation_deg": 60.0, "quantity": {"37mm_shell": 40},
        "max_altitude_m": 6000.0}, key="prop-1")
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _events(sock, name="operation.update"):
    return [r["args"][0]["data"] for r in sock.get_received("/live") if r["name"] == name]


def test_full_operation_flow(app, api, db_session):
    now = datetime.now(UTC)
    watchers = {n: socketio.test_client(app, namespace="/live", auth={"token": _token(app, n)})
                for n in ("commander", "atc", "county_operator", "fenyang")}
    for w in watchers.values():
        w.get_received("/live")

    op = _propose(api, now)
    assert op["state"] == "proposed"
    # Retrying the proposal with the same key creates nothing new.
    again = api("commander", "POST", "/api/operations", {"site_code": SITE}, key="prop-1")
    assert again.get_json()["id"] == op["id"]
    oid = op["id"]

    def act(who, action, body=None, key=None, expect=200):
        resp = api(who, "POST", f"/api/operations/{oid}/{action}", body or {}, key=key)
        assert resp.status_code == expect, resp.get_json()
        return resp.get_json()

    # Nothing can be ordered before both authorities grant.
    act("commander", "order", expect=409)
    act("commander", "authorize")
    req = act("commander", "request-clearance", {"ceiling_m": 6500.0})
    assert req["state"] == "clearance_requested"
    assert req["approval_clock"]["atc"]["state"] == "pending"
    assert _events(watchers["atc"])[-1]["operation"]["state"] == "clearance_requested"
    assert _events(watchers["county_operator"]) == []  # no order yet: the county hears nothing

    export = api("atc", "GET", f"/api/operations/{oid}/clearance-request").get_json()
    assert export and "site" in str(export).lower()

    act("forecaster", "grant", expect=403)
    narrowed = [_iso(now), _iso(now + timedelta(minutes=20))]
    granted = act("atc", "grant", {"window": narrowed}, key="atc-1")
    assert granted["state"] == "clearance_requested"  # one grant is not enough
    cleared = act("military", "grant", {"ceiling_m": 6200.0})
    assert cleared["state"] == "cleared"
    assert cleared["cleared"]["ceiling_m"] == 6200.0
    assert cleared["cleared"]["window"][1] == datetime.fromisoformat(narrowed[1]).isoformat()

    ordered = act("commander", "order")
    assert ordered["state"] == "ordered"
    assert _events(watchers["county_operator"])[-1]["operation"]["state"] == "ordered"
    assert _events(watchers["fenyang"]) == []  # another county never hears of it

    act("fenyang", "acknowledge", expect=403)
    act("county_operator", "acknowledge")
    fired_at = datetime.now(UTC)
    act("county_operator", "start-firing")
    report = {"started_at": _iso(fired_at),
              "ended_at": _iso(datetime.now(UTC)), "rounds": {"37mm_shell": 40},
              "observation": "hail"}
    done = act("county_operator", "report", report, key="rep-1")
    assert done["state"] == "completed" and done["violations"] == [], [v["message"] for v in done["violations"]]
    # A retried report is not counted twice.
    act("county_operator", "report", report, key="rep-1")
    stock = api("commander", "GET", f"/api/sites/{SITE}").get_json()["ammunition"]
    assert stock["37mm_shell"] == 160

    actions = db_session.scalars(select(AuditRecord.action).where(
        AuditRecord.object_id == oid).order_by(AuditRecord.id)).all()
    assert actions == ["operation.propose", "operation.authorize", "operation.request-clearance",
                       "operation.grant", "operation.grant", "operation.order",
                       "operation.acknowledge", "operation.start-firing", "operation.report"]
    assert api("commander", "GET", "/api/operations").status_code == 200
    from command import audit

    assert audit.verify(db_session).ok


def test_report_beyond_stock_is_rejected_and_nothing_changes(app, api):
    now = datetime.now(UTC)
    oid = _propose(api, now)["id"]
    for who, action, body in [("commander", "authorize", {}), ("commander", "request-clearance", {}),
                              ("atc", "grant", {}), ("military", "grant", {}),
                              ("commander", "order", {}), ("county_operator", "acknowledge", {}),
                              ("county_operator", "start-firing", {})]:
        assert api(who, "POST", f"/api/operations/{oid}/{action}", body).status_code == 200
    resp = api("county_operator", "POST", f"/api/operations/{oid}/report", {
        "started_at": _iso(now), "ended_at": _iso(datetime.now(UTC)),
        "rounds": {"37mm_shell": 5000}, "observation": "none"})
    assert resp.status_code == 409
    assert "stock" in resp.get_json()["message"]
    assert api("commander", "GET", f"/api/operations/{oid}").get_json()["state"] == "firing"
    assert api("commander", "GET", f"/api/sites/{SITE}").get_json()["ammunition"]["37mm_shell"] == 200


def test_revocation_ends_permission_and_late_report_is_a_violation(app, api):
    now = datetime.now(UTC)
    oid = _propose(api, now)["id"]
    for who, action in [("commander", "authorize"), ("commander", "request-clearance"),
                        ("atc", "grant"), ("military", "grant"), ("commander", "order")]:
        assert api(who, "POST", f"/api/operations/{oid}/{action}", {}).status_code == 200
    revoked = api("military", "POST", f"/api/operations/{oid}/revoke", {"reason": "traffic"})
    assert revoked.get_json()["state"] == "recalled" and revoked.get_json()["cease_fire"]
    late = api("county_operator", "POST", f"/api/operations/{oid}/report", {
        "started_at": _iso(datetime.now(UTC)), "ended_at": _iso(datetime.now(UTC)),
        "rounds": {"37mm_shell": 3}, "observation": "none"})
    assert late.status_code == 200
    assert late.get_json()["violations"], "a report after the revocation is a violation"


def test_validation_errors_are_422_with_fields(api):
    resp = api("commander", "POST", "/api/operations", {"site_code": SITE, "window": ["x"]})
    assert resp.status_code == 422
    assert "window" in resp.get_json()["details"] or "cell_id" in resp.get_json()["details"]
    resp = api("commander", "POST", "/api/operations", {"site_code": "NOPE"})
    assert resp.status_code == 422 and "site_code" in resp.get_json()["details"]


def test_deny_needs_a_reason_and_denies(app, api):
    oid = _propose(api, datetime.now(UTC))["id"]
    api("commander", "POST", f"/api/operations/{oid}/authorize", {})
    api("commander", "POST", f"/api/operations/{oid}/request-clearance", {})
    assert api("atc", "POST", f"/api/operations/{oid}/deny", {}).status_code == 422
    resp = api("atc", "POST", f"/api/operations/{oid}/deny", {"reason": "approach traffic"})
    assert resp.get_json()["state"] == "denied"


def test_standing_agreements_grant_at_once(app, api):
    for who in ("atc", "military"):
        resp = api(who, "POST", "/api/standing-agreements", {
            "site_code": SITE, "sectors": [[300, 60]], "ceiling_m": 8000.0,
            "daily_start": "00:00", "daily_end": "00:00"})
        assert resp.status_code == 201, resp.get_json()
    oid = _propose(api, datetime.now(UTC))["id"]
    api("commander", "POST", f"/api/operations/{oid}/authorize", {})
    resp = api("commander", "POST", f"/api/operations/{oid}/request-clearance",
               {"sectors": [[330, 30]], "ceiling_m": 6000.0})
    body = resp.get_json()
    assert body["state"] == "cleared" and body["cleared"]["standing"] is True


def test_browser_session_needs_csrf_for_transitions(app, client, users, seeded):
    app.config["WTF_CSRF_ENABLED"] = True
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": "commander", "password": "correct-horse-battery",
                                "csrf_token": token})
    body = {"cell_id": "C1", "site_code": SITE, "window": [_iso(datetime.now(UTC)),
            _iso(datetime.now(UTC) + timedelta(minutes=5))], "azimuth_deg": 0.0,
            "elevation_deg": 60.0, "quantity": {"37mm_shell": 1}, "max_altitude_m": 5000.0}
    assert client.post("/api/operations", json=body).status_code == 400
    ok = client.post("/api/operations", json=body, headers={"X-CSRFToken": token})
    assert ok.status_code == 201

