"""Issue 11: the escalation ladder comes due step by step on an injected clock, and stops
when the condition ends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dispatch.errors import ValidationFailed
from dispatch.escalation import (
    DEFAULT_LADDERS,
    EscalationKind,
    EscalationStep,
    Ladder,
    due_steps,
)
from dispatch.lifecycle import acknowledge, grant
from tests.unit.dispatch.dispatch_factories import ATC, OPERATOR, at, drive, make_operation

K = EscalationKind


def _steps(op, minutes):
    return [(d.kind, d.step) for d in due_steps(op, at(minutes), DEFAULT_LADDERS)]


def test_unacknowledged_order_climbs_the_ladder_on_time() -> None:
    op = drive(make_operation(), make_operation().state.ORDERED)  # ordered at minute 3
    assert _steps(op, 4.9) == []
    assert _steps(op, 5) == [(K.ORDER_UNACKNOWLEDGED, EscalationStep.BANNER)]
    assert _steps(op, 7) == [(K.ORDER_UNACKNOWLEDGED, s) for s in
                             (EscalationStep.BANNER, EscalationStep.SECOND_CONTACT)]
    assert len(_steps(op, 9)) == 3
    step = due_steps(op, at(9))[-1]
    assert step.level == 3 and step.due_at == at(9) and step.waiting_for == ("site",)


def test_acknowledgement_stops_the_ladder() -> None:
    op = drive(make_operation(), make_operation().state.ORDERED)
    op = acknowledge(op, OPERATOR, at(4))
    assert _steps(op, 30) == []


def test_pending_clearance_waits_for_the_undecided_authority_only() -> None:
    op = drive(make_operation(), make_operation().state.CLEARANCE_REQUESTED)  # requested at 0
    assert _steps(op, 2.9) == []
    op = grant(op, ATC, at(1))
    due = due_steps(op, at(3))
    assert [(d.kind, d.step, d.waiting_for) for d in due] == [
        (K.CLEARANCE_PENDING, EscalationStep.BANNER, ("military",))]


def test_ladder_delays_are_configurable_and_checked() -> None:
    fast = (Ladder.minutes(K.ORDER_UNACKNOWLEDGED, (0.5, 1, 1.5)),)
    op = drive(make_operation(), make_operation().state.ORDERED)
    assert len(due_steps(op, at(3) + timedelta(seconds=61), fast)) == 2
    with pytest.raises(ValidationFailed):
        Ladder.minutes(K.ORDER_UNACKNOWLEDGED, (4, 2, 6))
    with pytest.raises(ValidationFailed):
        Ladder.minutes(K.ORDER_UNACKNOWLEDGED, (1, 2))
