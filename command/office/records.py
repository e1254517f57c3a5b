"""Reading the operations record for bulletins and season statistics: each stored operation
as plain rows (``dispatch.season.OperationRow`` and ``ApprovalDecision``) plus the details a
bulletin lists.  Drill data only when a drill is asked for by id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from command.codec import decode
from command.models import OperationRecord
from dispatch import lifecycle as lc
from dispatch.clearance import Denial, decision_delays
from dispatch.season import ApprovalDecision, OperationRow

#: Response-time steps of an operation (the drill report's steps, from the history alone).
STEPS = (
    "proposal_to_authorization_s",
    "authorization_to_request_s",
    "clearance_atc_s",
    "clearance_military_s",
    "cleared_to_order_s",
    "order_to_acknowledgement_s",
    "acknowledgement_to_firing_s",
)


@dataclass(frozen=True)
class OperationDetail:
    row: OperationRow
    op: lc.Operation
    approvals: tuple[ApprovalDecision, ...]
    clearance: dict[str, dict[str, Any]]  # authority -> {state, delay_s, decided_at, reason}


def _first(op: lc.Operation, state: lc.OperationState) -> datetime | None:
    return next((h.at for h in op.history if h.state == state), None)


def scope_filter(column: Any, drill_id: str | None) -> Any:
    return column.is_(None) if drill_id is None else column == drill_id


def load_operations(
    session: Session, start: datetime | None, end: datetime | None, drill_id: str | None
) -> list[OperationDetail]:
    q = select(OperationRecord).where(scope_filter(OperationRecord.drill_id, drill_id))
    if start is not None:
        q = q.where(OperationRecord.created_at >= start)
    if end is not None:
        q = q.where(OperationRecord.created_at < end)
    out = []
    for rec in session.scalars(q.order_by(OperationRecord.created_at, OperationRecord.id)):
        op = decode(lc.Operation, rec.data)
        steps: dict[str, float] = {}
        clearance: dict[str, dict[str, Any]] = {}
        approvals: list[ApprovalDecision] = []
        created = op.history[0].at
        if op.clearance_request is not None:
            req = op.clearance_request
            for authority, st in decision_delays(req, op.decisions, op.history[-1].at).items():
                delay = (
                    (st.decided_at - req.requested_at).total_seconds() if st.decided_at else None
                )
                reason = next(
                    (
                        d.reason
                        for d in op.decisions
                        if isinstance(d, Denial) and d.authority == authority
                    ),
                    "",
                )
                clearance[authority.value] = {
                    "state": st.state,
                    "delay_s": delay,
                    "decided_at": st.decided_at.isoformat() if st.decided_at else None,
                    "requested_at": req.requested_at.isoformat(),
                    "reason": reason,
                    "standing": st.standing,
                }
                approvals.append(ApprovalDecision(authority.value, st.state, delay, created.month))
                if delay is not None:
                    steps[f"clearance_{authority.value}_s"] = delay
        pairs = [
            ("proposal_to_authorization_s", created, _first(op, lc.S.AUTHORIZED)),
            (
                "authorization_to_request_s",
                _first(op, lc.S.AUTHORIZED),
                _first(op, lc.S.CLEARANCE_REQUESTED),
            ),
            ("cleared_to_order_s", _first(op, lc.S.CLEARED), _first(op, lc.S.ORDERED)),
            ("order_to_acknowledgement_s", _first(op, lc.S.ORDERED), _first(op, lc.S.ACKNOWLEDGED)),
            ("acknowledgement_to_firing_s", _first(op, lc.S.ACKNOWLEDGED), _first(op, lc.S.FIRING)),
        ]
        for key, a, b in pairs:
            if a is not None and b is not None:
                steps[key] = (b - a).total_seconds()
        fired = op.report is not None or _first(op, lc.S.FIRING) is not None
        rounds = dict(op.report.rounds) if op.report is not None else {}
        row = OperationRow(
            id=op.id,
            county=op.county,
            site=op.site_code,
            created_at=created,
            state=op.state.value,
            fired=fired,
            rounds=rounds,
            steps_s=steps,
        )
        out.append(OperationDetail(row=row, op=op, approvals=tuple(approvals), clearance=clearance))
    return out
