"""Random sequences of actions by random roles through the HTTP API (hypothesis stateful
testing).  After every step: no order without an active dual clearance covering its time,
no accepted firing outside a window without a recorded violation, ammunition never negative,
every transition in the audit log, and the audit chain verifies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from command import audit
from command.codec import decode
from command.models import AmmunitionEntry, AuditRecord, OperationRecord
from dispatch import lifecycle as lc
from tests.web.test_operations_flow import _token

ROLES = ["commander", "atc", "military", "county_operator", "fenyang", "forecaster", "member"]
ACTIONS = ["authorize", "request-clearance", "grant", "deny", "revoke", "order", "acknowledge",
           "start-firing", "report", "cancel", "recall"]
NEXT = {
    "proposed": [("commander", "authorize")],
    "authorized": [("commander", "request-clearance")],
    "clearance_requested": [("atc", "grant"), ("military", "grant")],
    "cleared": [("commander", "order")],
    "ordered": [("county_operator", "acknowledge")],
    "acknowledged": [("county_operator", "start-firing")],
    "firing": [("county_operator", "report")],
}
SITES = ["LS-01", "LS-02"]  # Lishi: a 37 mm gun (200 shells) and a WR-98 launcher (15 rockets)
AMMO = {"LS-01": "37mm_shell", "LS-02": "rocket_wr98"}


def _iso(t):
    return t.astimezone(UTC).isoformat()


@pytest.mark.slow  # a stateful property run over HTTP
def test_random_action_sequences_keep_the_safety_rules(app, users, seeded):
    tokens = {r: _token(app, r) for r in ROLES}
    client = app.test_client()
    db = app.extensions["hailops_db"]

    class Machine(RuleBasedStateMachine):
        @initialize()
        def start(self):
            self.ops: list[str] = []
            self.keys = 0

        def call(self, role, method, path, body=None, key=None):
            headers = {"Authorization": f"Bearer {tokens[role]}"}
            if key:
                headers["Idempotency-Key"] = key
            resp = client.open(path, method=method, json=body or {}, headers=headers)
            assert resp.status_code in (200, 201, 403, 404, 409, 422), resp.get_json()
            assert resp.status_code != 500
            return resp

        @precondition(lambda self: len(self.ops) < 4)
        @rule(site=st.sampled_from(SITES), minutes=st.integers(2, 40))
        def propose(self, site, minutes):
            now = datetime.now(UTC)
            resp = self.call("commander", "POST", "/api/operations", {
                "cell_id": "C-H", "site_code": site,
                "window": [_iso(now - timedelta(seconds=5)), _iso(now + timedelta(minutes=minutes))],
                "azimuth_deg": 20.0 if site == "LS-01" else 100.0, "elevation_deg": 60.0,
                "quantity": {AMMO[site]: 4}, "max_altitude_m": 6000.0})
            if resp.status_code == 201:
                self.ops.append(resp.get_json()["id"])

        @rule(data=st.data(), role=st.sampled_from(ROLES), action=st.sampled_from(ACTIONS),
              rounds=st.integers(0, 300), retry=st.booleans())
        def act(self, data, role, action, rounds, retry):
            if not self.ops:
                return
            oid = data.draw(st.sampled_from(self.ops))
            rec_site = oid and self.site_of(oid)
            body: dict = {}
            if action in ("deny", "cancel", "recall", "revoke"):
                body = {"reason": "drill"}
            if action == "grant" and data.draw(st.booleans()):
                now = datetime.now(UTC)
                body = {"window": [_iso(now - timedelta(seconds=5)),
                                   _iso(now + timedelta(minutes=data.draw(st.integers(1, 30))))]}
            if action == "report":
                now = datetime.now(UTC)
                body = {"started_at": _iso(now - timedelta(seconds=2)), "ended_at": _iso(now),
                        "rounds": {AMMO[rec_site]: rounds}, "observation": "none"}
            self.keys += 1
            key = f"k{self.keys}"
            self.call(role, "POST", f"/api/operations/{oid}/{action}", body, key=key)
            if retry:
                self.call(role, "POST", f"/api/operations/{oid}/{action}", body, key=key)

        @rule(data=st.data(), rounds=st.integers(0, 30))
        def advance(self, data, rounds):
            """The natural next step by the right role (random actions rarely get far)."""
            if not self.ops:
                return
            oid = data.draw(st.sampled_from(self.ops))
            with db.session() as s:
                state = s.get(OperationRecord, oid).state
            step = NEXT.get(state)
            if step is None:
                return
            for role, action in step:
                body = {}
                if action == "report":
                    now = datetime.now(UTC)
                    body = {"started_at": _iso(now - timedelta(seconds=1)), "ended_at": _iso(now),
                            "rounds": {AMMO[self.site_of(oid)]: rounds}, "observation": "hail"}
                self.call(role, "POST", f"/api/operations/{oid}/{action}", body)

        def site_of(self, oid):
            with db.session() as s:
                return s.get(OperationRecord, oid).site_code

        @invariant()
        def safety_rules_hold(self):
            with db.session() as s:
                for rec in s.scalars(select(OperationRecord)):
                    op = decode(lc.Operation, rec.data)
                    for entry in op.history:
                        if entry.action == "order":
                            cleared = op.clearance(entry.at)
                            assert cleared is not None and cleared.window.contains(entry.at)
                    if op.report is not None and not op.violations:
                        cleared = op.clearance(op.report.started_at)
                        assert cleared is not None
                        assert cleared.window.contains(op.report.started_at)
                    n_audit = s.scalar(select(func.count()).select_from(AuditRecord).where(
                        AuditRecord.object_id == op.id, AuditRecord.action.like("operation.%")))
                    assert n_audit == len(op.history)
                for site in SITES:
                    total = s.scalar(select(func.coalesce(func.sum(AmmunitionEntry.delta), 0))
                                     .where(AmmunitionEntry.site_code == site))
                    assert total >= 0
                assert audit.verify(s).ok

    run_state_machine_as_test(Machine, settings=settings(
        max_examples=25, stateful_step_count=30, deadline=None,
        suppress_health_check=list(HealthCheck)))
    with db.session() as s:
        reached = set(s.scalars(select(OperationRecord.state)))
    # The sequences must reach deep into the lifecycle, not only bounce off its first steps.
    assert {"ordered", "acknowledged", "firing", "completed"} & reached, reached
