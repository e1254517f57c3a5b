"""Issue 11 over HTTP: ATC lowers the ceiling; the military console and the commander see the
live envelope and the conflict at once; one amendment inside it, and the same operation is
ordered — no cancel, no second request; every step audited and announced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from command.extensions import socketio
from command.models import AuditRecord
from tests.web.test_operations_flow import SITE, _iso, _token, api  # noqa: F401 (fixture)


def _events(sock, name="operation.update"):
    return [r["args"][0]["data"] for r in sock.get_received("/live") if r["name"] == name]


def test_narrowed_ceiling_seen_live_and_amended_in_one_step(app, api, db_session):  # noqa: F811
    now = datetime.now(UTC)
    mil = socketio.test_client(app, namespace="/live", auth={"token": _token(app, "military")})
    resp = api("commander", "POST", "/api/operations", {
        "cell_id": "C-T", "site_code": SITE,
        "window": [_iso(now - timedelta(minutes=1)), _iso(now + timedelta(minutes=30))],
        "azimuth_deg": 10.0, "elevation_deg": 80.0, "quantity": {"37mm_shell": 20},
        "max_altitude_m": 6500.0})
    oid = resp.get_json()["id"]

    def act(who, action, body=None, expect=200):
        r = api(who, "POST", f"/api/operations/{oid}/{action}", body or {})
        assert r.status_code == expect, r.get_json()
        return r.get_json()

    act("commander", "authorize")
    act("commander", "request-clearance", {"ceiling_m": 6500})
    mil.get_received("/live")
    after_atc = act("atc", "grant", {"ceiling_m": 6000})
    # the commander's copy: the intersection so far, the conflict, the amendment
    assert after_atc["envelope"]["ceiling_m"] == 6000
    assert after_atc["envelope"]["narrowed_by"] == {"ceiling_m": ["atc"]}
    assert after_atc["envelope"]["pending"] == ["military"]
    assert [c["kind"] for c in after_atc["conflicts"]] == ["ceiling"]
    fix = after_atc["amendment"]
    assert fix["max_altitude_m"] <= 6000 and fix["elevation_deg"] < 80
    # the military console sees ATC's narrowing before deciding
    seen = _events(mil)
    assert seen and seen[-1]["operation"]["envelope"]["ceiling_m"] == 6000
    assert seen[-1]["operation"]["conflicts"][0]["allowed"] == 6000

    act("military", "grant")
    refused = api("commander", "POST", f"/api/operations/{oid}/order", {})
    assert refused.status_code == 409

    amended = act("commander", "amend", {"fit": True})
    assert amended["state"] == "cleared" and amended["conflicts"] == []
    assert amended["max_altitude_m"] == fix["max_altitude_m"]
    ordered = act("commander", "order")
    assert ordered["state"] == "ordered"
    assert [h["action"] for h in ordered["history"]] == [
        "propose", "authorize", "request_clearance", "grant", "grant", "amend", "order"]
    actions = db_session.scalars(select(AuditRecord.action).where(
        AuditRecord.object_id == oid)).all()
    assert "operation.amend" in actions


def test_amend_outside_the_envelope_and_by_the_wrong_role_is_refused(app, api):  # noqa: F811
    now = datetime.now(UTC)
    oid = api("commander", "POST", "/api/operations", {
        "cell_id": "C-T", "site_code": SITE,
        "window": [_iso(now - timedelta(minutes=1)), _iso(now + timedelta(minutes=30))],
        "azimuth_deg": 10.0, "elevation_deg": 80.0, "quantity": {"37mm_shell": 20},
        "max_altitude_m": 6500.0}).get_json()["id"]
    api("commander", "POST", f"/api/operations/{oid}/authorize", {})
    api("commander", "POST", f"/api/operations/{oid}/request-clearance", {})
    api("atc", "POST", f"/api/operations/{oid}/grant", {"ceiling_m": 6000})
    r = api("commander", "POST", f"/api/operations/{oid}/amend", {"max_altitude_m": 6100})
    assert r.status_code == 409
    r = api("atc", "POST", f"/api/operations/{oid}/amend", {"fit": True})
    assert r.status_code == 403
    r = api("commander", "POST", f"/api/operations/{oid}/amend", {"elevation_deg": "high"})
    assert r.status_code == 422


def test_manual_proposal_needs_no_cell_id(api):  # noqa: F811
    """Issue 11: with no cells on the map the commander can still propose for a site."""
    now = datetime.now(UTC)
    r = api("commander", "POST", "/api/operations", {
        "site_code": SITE,
        "window": [_iso(now), _iso(now + timedelta(minutes=30))],
        "azimuth_deg": 10.0, "elevation_deg": 60.0, "quantity": {"37mm_shell": 5},
        "max_altitude_m": 6000.0})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["cell_id"] == "manual"


def test_readiness_follows_the_operation(app, api):  # noqa: F811
    """Issue 11: firing → 作业中, back to ready when reported, out of ammunition at zero."""
    def run(rounds):
        now = datetime.now(UTC)
        oid = api("commander", "POST", "/api/operations", {
            "site_code": SITE, "window": [_iso(now - timedelta(minutes=1)),
                                         _iso(now + timedelta(minutes=30))],
            "azimuth_deg": 10.0, "elevation_deg": 60.0, "quantity": {"37mm_shell": rounds},
            "max_altitude_m": 6000.0}).get_json()["id"]
        for who, action in (("commander", "authorize"), ("commander", "request-clearance"),
                            ("atc", "grant"), ("military", "grant"), ("commander", "order"),
                            ("county_operator", "acknowledge"), ("county_operator", "start-firing")):
            assert api(who, "POST", f"/api/operations/{oid}/{action}", {}).status_code == 200
        assert api("commander", "GET", f"/api/sites/{SITE}").get_json()["readiness"] == "firing"
        r = api("county_operator", "POST", f"/api/operations/{oid}/report", {
            "started_at": _iso(now), "ended_at": _iso(datetime.now(UTC)),
            "rounds": {"37mm_shell": rounds}, "observation": "hail"})
        assert r.status_code == 200, r.get_json()
        return api("commander", "GET", f"/api/sites/{SITE}").get_json()["readiness"]

    assert run(20) == "ready"
    assert run(180) == "out_of_ammunition"  # LS-01 held 200 shells
