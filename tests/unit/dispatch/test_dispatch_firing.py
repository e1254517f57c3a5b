"""Firing rules: no firing outside the dual clearance; late reports become violations."""

from __future__ import annotations

from dispatch.ammunition import AmmunitionLedger
from dispatch.firing import Burst, FiringReport, Observation, ViolationKind, check_firing
from dispatch.lifecycle import (
    OperationState,
    expire,
    recall,
    report_firing,
    revoke,
    start_firing,
)
from tests.unit.dispatch.dispatch_factories import (
    COMMANDER,
    MILITARY,
    OPERATOR,
    at,
    drive,
    make_operation,
)

S = OperationState
LEDGER = AmmunitionLedger.from_stock("T-01", {"37mm_shell": 100}, at(-60))


def test_firing_inside_the_clearance_is_permitted() -> None:
    op = drive(make_operation(), S.FIRING)
    assert check_firing(op, op.clearance(at(10)), at(10), 45.0, 60.0, 7700.0) is None


def test_every_broken_rule_is_named() -> None:
    op = drive(make_operation(), S.FIRING)
    early = check_firing(op, op.clearance(at(2.5)), at(2.5), 45.0, 60.0, 7700.0)
    assert early is not None and early.kinds == (ViolationKind.NOT_ORDERED,)
    late = check_firing(op, op.clearance(at(31)), at(31), 45.0, 60.0, 9000.0)
    assert late is not None
    assert set(late.kinds) == {ViolationKind.AFTER_WINDOW, ViolationKind.ABOVE_CEILING}
    assert "after the window closed" in late.message and late.site_code == "T-01"


def test_late_firing_report_is_recorded_as_a_violation_not_silently_accepted() -> None:
    """Issue 5: a firing report after the window end is recorded as a violation."""
    op = drive(make_operation(), S.FIRING)
    report = FiringReport(
        started_at=at(25),
        ended_at=at(33),  # window ended at +30 min
        rounds={"37mm_shell": 30},
        observation=Observation.HAIL,
        bursts=(
            Burst(at(26), 45.0, 60.0, "37mm_shell", 20),
            Burst(at(32), 47.0, 62.0, "37mm_shell", 10),
        ),
    )
    done, ledger = report_firing(op, LEDGER, OPERATOR, at(40), report)
    assert done.state == S.COMPLETED
    assert ledger.balance("37mm_shell") == 70  # every round is accounted, legal or not
    assert [v.at for v in done.violations] == [at(32), at(33)]
    assert all(ViolationKind.AFTER_WINDOW in v.kinds for v in done.violations)
    assert "2 violation(s)" in done.history[-1].detail


def test_report_after_a_revocation_carries_the_revocation() -> None:
    op = revoke(drive(make_operation(), S.FIRING), MILITARY, at(10), "traffic")
    assert op.state == S.RECALLED and op.cease_fire
    report = FiringReport(at(5), at(12), {"37mm_shell": 10}, Observation.NONE)
    done, _ = report_firing(op, LEDGER, OPERATOR, at(15), report)
    assert done.state == S.RECALLED  # the report is kept; the state stays recalled
    (violation,) = done.violations
    assert set(violation.kinds) == {ViolationKind.REVOKED, ViolationKind.CEASE_FIRE}
    assert "military revoked" in violation.message


def test_start_after_the_window_expires_the_operation_with_a_violation() -> None:
    op = drive(make_operation(), S.ACKNOWLEDGED)
    late = start_firing(op, OPERATOR, at(31))
    assert late.state == S.EXPIRED and late.cease_fire
    assert late.violations[0].kinds == (ViolationKind.AFTER_WINDOW,)


def test_start_after_a_recall_is_a_violation_and_changes_no_state() -> None:
    op = recall(drive(make_operation(), S.ACKNOWLEDGED), COMMANDER, at(5), "cell decayed")
    after = start_firing(op, OPERATOR, at(6))
    assert after.state == S.RECALLED
    assert ViolationKind.CEASE_FIRE in after.violations[0].kinds


def test_expired_operation_still_takes_the_report() -> None:
    op = expire(drive(make_operation(), S.FIRING), at(30))
    report = FiringReport(at(5), at(29), {"37mm_shell": 20}, Observation.RAIN)
    done, ledger = report_firing(op, LEDGER, OPERATOR, at(35), report)
    assert done.state == S.EXPIRED and done.violations == ()
    assert ledger.balance("37mm_shell") == 80
