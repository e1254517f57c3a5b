"""The operation state machine: transition table, roles, counties, idempotency (issue 5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from dispatch.ammunition import AmmunitionLedger
from dispatch.clearance import Authority, TimeWindow
from dispatch.errors import (
    AmmunitionError,
    ClearanceViolation,
    IllegalTransition,
    PermissionDenied,
    ValidationFailed,
)
from dispatch.firing import FiringReport, Observation
from dispatch.lifecycle import (
    ROLE_ACTIONS,
    SYSTEM,
    Actor,
    Operation,
    OperationState,
    Role,
    acknowledge,
    amend,
    authorize,
    cancel,
    deny,
    expire,
    file_written_report,
    grant,
    order,
    recall,
    report_firing,
    request_clearance,
    revoke,
    start_firing,
    written_report_due,
)
from sites.model import Sector
from tests.unit.dispatch.dispatch_factories import (
    ADMIN,
    ALL_ACTORS,
    ATC,
    COMMANDER,
    FORECASTER,
    MEMBER,
    MILITARY,
    OPERATOR,
    OTHER_OPERATOR,
    at,
    drive,
    make_operation,
    make_request,
)

S = OperationState
LEDGER = AmmunitionLedger.from_stock("T-01", {"37mm_shell": 100}, at(-60))


def report(**overrides: Any) -> FiringReport:
    fields: dict[str, Any] = {
        "started_at": at(5),
        "ended_at": at(8),
        "rounds": {"37mm_shell": 20},
        "observation": Observation.RAIN,
    }
    fields.update(overrides)
    return FiringReport(**fields)


def in_state(state: OperationState) -> Operation:
    """An operation that has reached ``state`` by the ordinary route."""
    op = make_operation()
    if state == S.COMPLETED:
        done, _ = report_firing(drive(op, S.FIRING), LEDGER, OPERATOR, at(9), report())
        return done
    if state == S.DENIED:
        return deny(drive(op, S.CLEARANCE_REQUESTED), ATC, at(1), "traffic")
    if state == S.CANCELLED:
        return cancel(op, COMMANDER, at(1), "cell decayed")
    if state == S.EXPIRED:
        return expire(op, at(31))
    if state == S.RECALLED:
        return recall(drive(op, S.ORDERED), COMMANDER, at(4), "cell decayed")
    return drive(op, state)


def _report(op: Operation, actor: Actor) -> Operation:
    return report_firing(op, LEDGER, actor, at(9), report())[0]


# Every action, called by an actor allowed to take it, at a moment that suits the happy path.
ACTIONS: dict[str, Callable[[Operation, Actor], Operation]] = {
    "authorize": lambda op, a: authorize(op, a, at(0)),
    "request_clearance": lambda op, a: request_clearance(op, a, at(0), make_request()),
    "grant": lambda op, a: grant(op, a, at(1)),
    "deny": lambda op, a: deny(op, a, at(1), "traffic"),
    "revoke": lambda op, a: revoke(op, a, at(6), "traffic"),
    "order": lambda op, a: order(op, a, at(3)),
    "acknowledge": lambda op, a: acknowledge(op, a, at(4)),
    "start_firing": lambda op, a: start_firing(op, a, at(5)),
    "report_firing": _report,
    "file_written_report": lambda op, a: file_written_report(op, a, at(60)),
    "cancel": lambda op, a: cancel(op, a, at(6), "why"),
    "recall": lambda op, a: recall(op, a, at(6), "why"),
    "expire": lambda op, a: expire(op, at(31), actor=a),
    "amend": lambda op, a: amend(op, a, at(2), elevation_deg=50.0),
}
ACTOR_FOR = {
    "grant": MILITARY,
    "deny": MILITARY,
    "revoke": ATC,
    "acknowledge": OPERATOR,
    "start_firing": OPERATOR,
    "report_firing": OPERATOR,
    "file_written_report": OPERATOR,
    "expire": SYSTEM,
}

# The state machine, written out independently of ALLOWED_FROM.
LEGAL = {
    (S.PROPOSED, "authorize"), (S.PROPOSED, "cancel"), (S.PROPOSED, "expire"),
    # issue 11: the aim may be amended until the order (inside what is granted so far)
    (S.PROPOSED, "amend"), (S.AUTHORIZED, "amend"), (S.CLEARANCE_REQUESTED, "amend"),
    (S.CLEARED, "amend"),
    (S.AUTHORIZED, "request_clearance"), (S.AUTHORIZED, "cancel"), (S.AUTHORIZED, "expire"),
    (S.CLEARANCE_REQUESTED, "grant"), (S.CLEARANCE_REQUESTED, "deny"),
    (S.CLEARANCE_REQUESTED, "revoke"), (S.CLEARANCE_REQUESTED, "cancel"),
    (S.CLEARANCE_REQUESTED, "expire"),
    (S.CLEARED, "order"), (S.CLEARED, "revoke"), (S.CLEARED, "cancel"), (S.CLEARED, "expire"),
    (S.ORDERED, "acknowledge"), (S.ORDERED, "recall"), (S.ORDERED, "revoke"), (S.ORDERED, "expire"),
    (S.ACKNOWLEDGED, "start_firing"), (S.ACKNOWLEDGED, "recall"), (S.ACKNOWLEDGED, "revoke"),
    (S.ACKNOWLEDGED, "expire"),
    (S.FIRING, "report_firing"), (S.FIRING, "recall"), (S.FIRING, "revoke"), (S.FIRING, "expire"),
    (S.COMPLETED, "file_written_report"),
    # after a cease-fire the site's reports are still taken (and checked for violations)
    (S.RECALLED, "start_firing"), (S.RECALLED, "report_firing"), (S.RECALLED, "file_written_report"),
    (S.EXPIRED, "start_firing"), (S.EXPIRED, "report_firing"), (S.EXPIRED, "file_written_report"),
}  # fmt: skip


@pytest.mark.parametrize("state", list(S))
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_illegal_transition_raises(state: OperationState, action: str) -> None:
    """Issue 5: every transition outside the state machine is refused (HTTP 409 later)."""
    op = in_state(state)
    actor = ACTOR_FOR.get(action, COMMANDER)
    if (state, action) in LEGAL:
        try:
            after = ACTIONS[action](op, actor)
        except IllegalTransition as exc:
            # legal from this state, refused only by a precondition other than the state
            assert "cannot" not in str(exc), exc
        else:
            assert after.history[-1].action == action
    else:
        with pytest.raises(IllegalTransition):
            ACTIONS[action](op, actor)


def test_happy_path_records_every_step() -> None:
    op = drive(make_operation(), S.FIRING)
    op, ledger = report_firing(op, LEDGER, OPERATOR, at(9), report())
    assert op.state == S.COMPLETED
    assert [h.action for h in op.history] == [
        "propose", "authorize", "request_clearance", "grant", "grant", "order",
        "acknowledge", "start_firing", "report_firing",
    ]  # fmt: skip
    assert [h.state for h in op.history][-1] == S.COMPLETED
    assert all(
        h.previous == prev.state for prev, h in zip(op.history, op.history[1:], strict=False)
    )
    assert ledger.balance("37mm_shell") == 80
    assert op.violations == ()
    assert op.ordered_window == TimeWindow(at(0), at(30))


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_only_the_allowed_roles_may_act(action: str) -> None:
    """Role checks come before state checks: a wrong role is always 403, never 409."""
    legal_state = next(s for s, a in sorted(LEGAL) if a == action)
    op = in_state(legal_state)
    for actor in (*ALL_ACTORS, SYSTEM):
        if actor.role in ROLE_ACTIONS[action]:
            continue
        with pytest.raises(PermissionDenied):
            ACTIONS[action](op, actor)


def test_forecaster_may_propose_but_member_and_operators_may_not() -> None:
    assert make_operation(actor=FORECASTER).state == S.PROPOSED
    for actor in (MEMBER, OPERATOR, ATC):
        with pytest.raises(PermissionDenied):
            make_operation(actor=actor)


@pytest.mark.parametrize("action", ["acknowledge", "start_firing", "report_firing"])
def test_county_operator_of_another_county_is_refused(action: str) -> None:
    state = {"acknowledge": S.ORDERED, "start_firing": S.ACKNOWLEDGED, "report_firing": S.FIRING}
    with pytest.raises(PermissionDenied, match="county"):
        ACTIONS[action](in_state(state[action]), OTHER_OPERATOR)


def test_admin_commands_like_a_commander() -> None:
    op = authorize(make_operation(), ADMIN, at(0))
    assert op.state == S.AUTHORIZED and op.history[-1].role == Role.ADMIN


def test_roles_arrive_as_plain_strings_from_the_shell() -> None:
    actor = Actor("chen", "commander")  # type: ignore[arg-type]
    assert actor.role is Role.COMMANDER
    with pytest.raises(ValueError):
        Actor("x", "pilot")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- idempotency


def test_retried_transition_with_the_same_key_changes_nothing() -> None:
    op = make_operation()
    once = authorize(op, COMMANDER, at(0), idempotency_key="k-1")
    twice = authorize(once, COMMANDER, at(0), idempotency_key="k-1")
    assert twice is once
    assert len(twice.history) == 2
    assert "k-1" in twice.applied_keys


def test_retry_after_the_operation_moved_on_is_still_a_replay() -> None:
    op = authorize(make_operation(), COMMANDER, at(0), idempotency_key="k-1")
    op = request_clearance(op, COMMANDER, at(0), make_request(), idempotency_key="k-2")
    again = authorize(op, COMMANDER, at(1), idempotency_key="k-1")
    assert again is op and again.state == S.CLEARANCE_REQUESTED


def test_same_key_for_another_action_is_rejected() -> None:
    op = authorize(make_operation(), COMMANDER, at(0), idempotency_key="k-1")
    with pytest.raises(ValidationFailed) as err:
        request_clearance(op, COMMANDER, at(0), make_request(), idempotency_key="k-1")
    assert "idempotency_key" in err.value.field_errors


def test_retried_firing_report_charges_the_ledger_once() -> None:
    op = drive(make_operation(), S.FIRING)
    done, ledger = report_firing(op, LEDGER, OPERATOR, at(9), report(), idempotency_key="r-1")
    again, ledger2 = report_firing(done, ledger, OPERATOR, at(9), report(), idempotency_key="r-1")
    assert again is done and ledger2 is ledger
    assert ledger2.balance("37mm_shell") == 80
    # a retry that lost its key is still not counted twice: it is an illegal second report
    with pytest.raises(IllegalTransition):
        report_firing(done, ledger, OPERATOR, at(9), report(), idempotency_key="r-2")
    # and the ledger itself refuses the same reference twice
    assert ledger.consume({"37mm_shell": 20}, at(9), "op", reference="op-1:report") is ledger


# --------------------------------------------------------------------------- order rules


def test_order_only_inside_the_cleared_window() -> None:
    request = make_request(window=TimeWindow(at(10), at(30)))
    op = drive(make_operation(), S.CLEARED, request)
    with pytest.raises(IllegalTransition, match="opens"):
        order(op, COMMANDER, at(5))
    with pytest.raises(IllegalTransition, match="closed"):
        order(op, COMMANDER, at(30))
    assert order(op, COMMANDER, at(10)).state == S.ORDERED


def test_order_refused_when_aim_outside_the_granted_sector() -> None:
    op = drive(make_operation(), S.CLEARANCE_REQUESTED)
    op = grant(op, ATC, at(1), sectors=(Sector(180.0, 270.0),))
    op = grant(op, MILITARY, at(2))
    assert op.state == S.CLEARED
    with pytest.raises(ClearanceViolation, match="azimuth"):
        order(op, COMMANDER, at(3))


def test_order_refused_when_rounds_reach_above_the_granted_ceiling() -> None:
    op = drive(make_operation(), S.CLEARANCE_REQUESTED)
    op = grant(grant(op, ATC, at(1)), MILITARY, at(2), ceiling_m=6000.0)
    with pytest.raises(ClearanceViolation, match="ceiling"):
        order(op, COMMANDER, at(3))


def test_each_authority_decides_once_and_only_for_itself() -> None:
    op = grant(drive(make_operation(), S.CLEARANCE_REQUESTED), ATC, at(1))
    with pytest.raises(IllegalTransition, match="already decided"):
        grant(op, ATC, at(2))
    with pytest.raises(IllegalTransition, match="already decided"):
        deny(op, ATC, at(2), "changed my mind")
    with pytest.raises(IllegalTransition, match="no grant"):
        revoke(op, MILITARY, at(2))
    assert op.decisions[0].authority == Authority.ATC


def test_denial_needs_a_reason() -> None:
    with pytest.raises(ValidationFailed):
        deny(drive(make_operation(), S.CLEARANCE_REQUESTED), ATC, at(1), "  ")


def test_grants_with_nothing_in_common_deny_the_operation() -> None:
    op = drive(make_operation(), S.CLEARANCE_REQUESTED)
    op = grant(op, ATC, at(1), window=TimeWindow(at(0), at(10)))
    op = grant(op, MILITARY, at(2), window=TimeWindow(at(20), at(30)))
    assert op.state == S.DENIED and "nothing in common" in op.history[-1].detail


# --------------------------------------------------------------------------- cease-fire


def test_revocation_after_the_order_recalls_with_a_cease_fire() -> None:
    op = revoke(drive(make_operation(), S.ACKNOWLEDGED), MILITARY, at(6), "traffic")
    assert op.state == S.RECALLED and op.cease_fire
    assert op.clearance(at(7)) is None


def test_revocation_before_the_order_denies_without_cease_fire() -> None:
    op = revoke(drive(make_operation(), S.CLEARED), ATC, at(2), "traffic")
    assert op.state == S.DENIED and not op.cease_fire


def test_expiry_waits_for_the_window_end() -> None:
    op = drive(make_operation(), S.FIRING)
    with pytest.raises(IllegalTransition, match="open until"):
        expire(op, at(29))
    expired = expire(op, at(30))
    assert expired.state == S.EXPIRED and expired.cease_fire
    assert expired.history[-1].actor == "system"


def test_written_report_due_and_filed() -> None:
    op, _ = report_firing(drive(make_operation(), S.FIRING), LEDGER, OPERATOR, at(9), report())
    assert written_report_due(op) == at(9 + 24 * 60)
    filed = file_written_report(op, OPERATOR, at(600))
    assert written_report_due(filed) is None
    with pytest.raises(IllegalTransition, match="already filed"):
        file_written_report(filed, OPERATOR, at(601))


def test_report_claiming_more_than_stock_changes_nothing() -> None:
    op = drive(make_operation(), S.FIRING)
    with pytest.raises(AmmunitionError, match="37mm_shell: 120 requested but only 100 in stock"):
        report_firing(op, LEDGER, OPERATOR, at(9), report(rounds={"37mm_shell": 120}))
    assert op.state == S.FIRING and op.report is None


def test_propose_validates_its_fields() -> None:
    with pytest.raises(ValidationFailed) as err:
        make_operation(azimuth_deg=400.0, quantity={}, max_altitude_m=0.0)
    assert set(err.value.field_errors) == {"azimuth_deg", "quantity", "max_altitude_m"}
