"""The escalation ladder for an order nobody acknowledges and a clearance nobody decides.

Each ladder is a condition with a start (the order, the request) and steps that come due at
configured delays after it, while the condition lasts:

1. ``banner`` — banner and sound at the site (or the pending authority) and the commander;
2. ``second_contact`` — the site's second contact and the liaison's phone are shown (the
   shell keeps an outbox record of the call to make);
3. ``commander_alarm`` — a loud alarm at the commander.

A step, once raised, stays raised until a person acknowledges it (the shell persists and
audits both).  When the condition ends — the site acknowledges, both authorities decide, the
operation is cancelled — no further step comes due.  Pure: the clock is a parameter.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from dispatch.clearance import Authority, authority_status
from dispatch.errors import ValidationFailed
from dispatch.lifecycle import Operation, OperationState


class EscalationKind(enum.StrEnum):
    ORDER_UNACKNOWLEDGED = "order_unacknowledged"
    CLEARANCE_PENDING = "clearance_pending"


class EscalationStep(enum.StrEnum):
    BANNER = "banner"
    SECOND_CONTACT = "second_contact"
    COMMANDER_ALARM = "commander_alarm"


STEPS: tuple[EscalationStep, ...] = tuple(EscalationStep)


@dataclass(frozen=True)
class Ladder:
    """The delays after the condition began at which each step of :data:`STEPS` comes due."""

    kind: EscalationKind
    delays: tuple[timedelta, ...]

    def __post_init__(self) -> None:
        if len(self.delays) != len(STEPS):
            raise ValidationFailed({"delays": f"{len(STEPS)} delays needed, one per step"})
        if any(d < timedelta(0) for d in self.delays) or list(self.delays) != sorted(self.delays):
            raise ValidationFailed({"delays": "non-negative and in increasing order"})

    @classmethod
    def minutes(cls, kind: EscalationKind, minutes: Sequence[float]) -> Ladder:
        return cls(kind, tuple(timedelta(minutes=float(m)) for m in minutes))


DEFAULT_LADDERS: tuple[Ladder, ...] = (
    Ladder.minutes(EscalationKind.ORDER_UNACKNOWLEDGED, (2, 4, 6)),
    Ladder.minutes(EscalationKind.CLEARANCE_PENDING, (3, 6, 9)),
)


@dataclass(frozen=True)
class DueStep:
    operation_id: str
    kind: EscalationKind
    step: EscalationStep
    level: int  # 1, 2, 3
    since: datetime  # when the condition began
    due_at: datetime
    waiting_for: tuple[str, ...]  # "site" or the pending authorities


def condition_since(op: Operation, kind: EscalationKind, now: datetime
                    ) -> tuple[datetime, tuple[str, ...]] | None:
    """When the ladder's condition began and whom it waits for, or ``None`` if it does not
    hold now."""
    if kind == EscalationKind.ORDER_UNACKNOWLEDGED:
        if op.state != OperationState.ORDERED:
            return None
        since = next(h.at for h in reversed(op.history) if h.state == OperationState.ORDERED)
        return since, ("site",)
    if op.state != OperationState.CLEARANCE_REQUESTED or op.clearance_request is None:
        return None
    pending = tuple(a.value for a in Authority
                    if authority_status(op.clearance_request, op.decisions, a, now).state
                    == "pending")
    if not pending:
        return None
    return op.clearance_request.requested_at, pending


def due_steps(op: Operation, now: datetime,
              ladders: Iterable[Ladder] = DEFAULT_LADDERS) -> list[DueStep]:
    """Every step whose time has come for this operation as of ``now`` (pure).

    The caller raises those it has not raised yet; raising is idempotent on
    ``(operation_id, kind, step)``.
    """
    out: list[DueStep] = []
    for ladder in ladders:
        found = condition_since(op, ladder.kind, now)
        if found is None:
            continue
        since, waiting = found
        for level, (step, delay) in enumerate(zip(STEPS, ladder.delays, strict=True), 1):
            if now - since >= delay:
                out.append(DueStep(op.id, ladder.kind, step, level, since, since + delay,
                                   waiting))
    return out
