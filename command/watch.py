"""Deadline watchers (scheduler jobs): expire operations whose window ended, and raise alerts
for clearance pending too long, orders not acknowledged, windows about to close and overdue
written reports.  Each alert is announced once (its key is remembered)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from command import audit
from command.codec import decode
from command.models import (
    EscalationRecord,
    OperationRecord,
    OutboxMessage,
    ServiceStatus,
    SiteRecord,
)
from command.operations import expire_due
from command.push import ROOM_ALL, announce, room_county, room_role, scoped
from dispatch import lifecycle as lc
from dispatch.escalation import (
    DEFAULT_LADDERS,
    DueStep,
    EscalationKind,
    EscalationStep,
    Ladder,
    due_steps,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertLimits:
    clearance_pending: timedelta = timedelta(minutes=5)
    order_unacknowledged: timedelta = timedelta(minutes=3)
    window_closing: timedelta = timedelta(minutes=5)
    written_report_due: timedelta = timedelta(hours=24)


def _first(op: lc.Operation, state: lc.OperationState) -> datetime | None:
    return next((h.at for h in op.history if h.state == state), None)


def due_alerts(op: lc.Operation, now: datetime, limits: AlertLimits) -> list[tuple[str, str]]:
    """(key, message) of every alert this operation deserves now (pure)."""
    alerts = []
    if op.state == lc.S.CLEARANCE_REQUESTED:
        since = _first(op, lc.S.CLEARANCE_REQUESTED)
        if since and now - since >= limits.clearance_pending:
            alerts.append(
                (
                    "clearance_pending",
                    f"airspace clearance pending for "
                    f"{int((now - since).total_seconds() // 60)} min",
                )
            )
    if op.state == lc.S.ORDERED:
        since = _first(op, lc.S.ORDERED)
        if since and now - since >= limits.order_unacknowledged:
            alerts.append(("order_unacknowledged", "order not acknowledged by the site"))
    if op.state in (lc.S.CLEARED, lc.S.ORDERED, lc.S.ACKNOWLEDGED, lc.S.FIRING):
        end = op.deadline(now)
        if timedelta(0) < end - now <= limits.window_closing:
            alerts.append(("window_closing", f"window closes at {end.isoformat()}"))
    due = lc.written_report_due(op, limits.written_report_due)
    if due is not None and now >= due:
        alerts.append(("written_report_overdue", "the written firing report is overdue"))
    return alerts


#: A finished operation stays watched (for its overdue written report) this long after its
#: last change beyond the report deadline; older ones are history and never read by the watch.
WATCH_HORIZON = timedelta(days=7)
_REPORTED_STATES = ("completed", "recalled")


def watched_filter(now: datetime, limits: AlertLimits) -> Any:
    """Operations that may still deserve an alert: the open ones, and finished ones whose
    written report may still fall due (recently changed) — never the whole history."""
    open_states = [s.value for s in lc.OperationState if s not in lc.TERMINAL_STATES]
    return or_(
        OperationRecord.state.in_(open_states),
        and_(
            OperationRecord.state.in_(_REPORTED_STATES),
            OperationRecord.updated_at >= now - limits.written_report_due - WATCH_HORIZON,
        ),
    )


def watch_deadlines(
    session: Session,
    now: datetime,
    limits: AlertLimits = AlertLimits(),
    drill_id: str | None = None,
    ladders: tuple[Ladder, ...] = DEFAULT_LADDERS,
) -> int:
    """One pass over one world (live operations, or one drill's on the drill clock ``now``):
    expire, then alert.  Returns the number of new alerts (caller commits)."""
    expire_due(session, now, drill_id)
    name = "alerts" if drill_id is None else f"alerts:{drill_id}"
    seen_row = session.get(ServiceStatus, name) or ServiceStatus(name=name, info={})
    seen: dict[str, Any] = dict(seen_row.info or {})
    new = 0
    world = (
        OperationRecord.drill_id.is_(None)
        if drill_id is None
        else OperationRecord.drill_id == drill_id
    )
    watched: set[str] = set()
    for rec in session.scalars(select(OperationRecord).where(watched_filter(now, limits), world)):
        watched.add(rec.id)
        op = decode(lc.Operation, rec.data)
        escalated = escalate(session, op, now, ladders)
        if escalated:
            log.info("operation %s: %d escalation step(s) raised", op.id, escalated)
        for kind, message in due_alerts(op, now, limits):
            key = f"{op.id}:{kind}"
            if key in seen:
                continue
            seen[key] = now.isoformat()
            new += 1
            rooms = [ROOM_ALL]
            if kind == "clearance_pending":
                rooms += [room_role("atc"), room_role("military")]
            if kind in ("order_unacknowledged", "written_report_overdue", "window_closing"):
                rooms.append(room_county(op.county))
            rooms = scoped(rooms, op.drill_id)
            audit.append(
                session,
                actor="scheduler",
                role="system",
                action=f"alert.{kind}",
                object_type="operation",
                object_id=op.id,
                drill_id=op.drill_id,
                after={"message": message},
                at=now,
            )
            announce(
                session,
                "alert",
                {
                    "operation_id": op.id,
                    "kind": kind,
                    "message": message,
                    "site_code": op.site_code,
                    "county": op.county,
                },
                rooms,
            )
    # Remember only the alerts of operations still watched: the others cannot fire again.
    kept = {k: v for k, v in seen.items() if k.rsplit(":", 1)[0] in watched}
    if new or kept != (seen_row.info or {}):
        seen_row.info = kept
        seen_row.updated_at = now
        session.merge(seen_row)
    return new


# --- the escalation ladder (issue 11) ------------------------------------------------------
def ladders_from(settings: Any) -> tuple[Ladder, ...]:
    """The configured ladders (``HAILOPS_ESCALATION_ORDER_MIN`` / ``..._CLEARANCE_MIN``)."""
    return (
        Ladder.minutes(EscalationKind.ORDER_UNACKNOWLEDGED, settings.escalation_order_min),
        Ladder.minutes(EscalationKind.CLEARANCE_PENDING, settings.escalation_clearance_min),
    )


def _liaison(session: Session, unit_key: str) -> dict[str, str] | None:
    from command.models import LiaisonRecord, MemberUnit

    rec = session.scalar(
        select(LiaisonRecord).where(
            LiaisonRecord.unit_key == unit_key, LiaisonRecord.role == "liaison"
        )
    )
    if rec is not None:
        return {"name": rec.name, "phone": rec.phone, "email": rec.email, "unit": unit_key}
    unit = session.get(MemberUnit, unit_key)
    if unit is not None and unit.liaison_phone:
        return {
            "name": unit.liaison_name,
            "phone": unit.liaison_phone,
            "email": "",
            "unit": unit_key,
        }
    return None


#: The member unit whose liaison is called when an authority does not decide.
_AUTHORITY_UNIT = {"atc": "airport", "military": "military"}


def _contacts(session: Session, op: lc.Operation, due: DueStep) -> list[dict[str, str]]:
    """Whom to call at the ``second_contact`` step: the site's second contact (the first
    when only one is registered) and the command office's liaison; for a pending clearance
    the liaison of each undecided authority's member unit."""
    out: list[dict[str, str]] = []
    if due.kind == EscalationKind.ORDER_UNACKNOWLEDGED:
        site = session.get(SiteRecord, op.site_code)
        contacts = list((site.contacts or []) if site is not None else [])
        if contacts:
            c = contacts[1] if len(contacts) > 1 else contacts[0]
            out.append(
                {
                    "name": c.get("name", ""),
                    "phone": c.get("phone", ""),
                    "email": "",
                    "role": "site_second" if len(contacts) > 1 else "site_first",
                }
            )
        office = _liaison(session, "meteorology")
        if office:
            out.append(office | {"role": "office_liaison"})
    else:
        for who in due.waiting_for:
            found = _liaison(session, _AUTHORITY_UNIT.get(who, who))
            if found:
                out.append(found | {"role": f"{who}_liaison"})
    return out


def escalate(
    session: Session, op: lc.Operation, now: datetime, ladders: tuple[Ladder, ...] = DEFAULT_LADDERS
) -> int:
    """Raise every due step of this operation's ladders not raised yet: persisted, audited,
    then announced (the step's audience), with an outbox record of each call to make at the
    ``second_contact`` step.  Returns how many were raised."""
    raised = 0
    for due in due_steps(op, now, ladders):
        exists = session.scalar(
            select(EscalationRecord.id).where(
                EscalationRecord.operation_id == op.id,
                EscalationRecord.kind == due.kind.value,
                EscalationRecord.step == due.step.value,
            )
        )
        if exists is not None:
            continue
        info: dict[str, Any] = {
            "site_code": op.site_code,
            "county": op.county,
            "waiting_for": list(due.waiting_for),
            "since": due.since.isoformat(),
            "due_at": due.due_at.isoformat(),
        }
        if due.step == EscalationStep.SECOND_CONTACT:
            info["contacts"] = _contacts(session, op, due)
            for c in info["contacts"]:
                session.add(
                    OutboxMessage(
                        to_addr=c["email"] or f"tel:{c['phone']}",
                        subject=f"[hailops] {due.kind.value} {op.site_code} {op.id}",
                        body=f"{due.kind.value}: operation {op.id} site {op.site_code} "
                        f"since {due.since.isoformat()} — call {c['name']} {c['phone']}",
                        ref=f"escalation:{op.id}:{due.kind.value}",
                        # No address: a call for a person to make, not an e-mail for the job.
                        state="pending" if c["email"] else "call",
                        created_at=now,
                    )
                )
        rec = EscalationRecord(
            operation_id=op.id,
            kind=due.kind.value,
            step=due.step.value,
            level=due.level,
            raised_at=now,
            info=info,
            drill_id=op.drill_id,
        )
        session.add(rec)
        session.flush()
        audit.append(
            session,
            actor="scheduler",
            role="system",
            action=f"escalation.{due.step.value}",
            object_type="operation",
            object_id=op.id,
            drill_id=op.drill_id,
            at=now,
            after={"kind": due.kind.value, "level": due.level, "escalation_id": rec.id},
        )
        announce(session, "escalation", escalation_json(rec), escalation_rooms(rec))
        raised += 1
    return raised


def escalation_json(rec: EscalationRecord) -> dict[str, Any]:
    return {
        "id": rec.id,
        "operation_id": rec.operation_id,
        "kind": rec.kind,
        "step": rec.step,
        "level": rec.level,
        "raised_at": rec.raised_at.isoformat(),
        "info": rec.info,
        "acked_by": rec.acked_by,
        "acked_at": rec.acked_at.isoformat() if rec.acked_at else None,
    }


def escalation_rooms(rec: EscalationRecord) -> list[str]:
    """Who sees a step: the commander always (the command center room); the site's county
    for an order, the undecided authorities for a clearance — except the last step, an alarm
    for the commander alone."""
    rooms = [room_role("commander"), room_role("admin")]
    if rec.step != EscalationStep.COMMANDER_ALARM.value:
        if rec.kind == EscalationKind.ORDER_UNACKNOWLEDGED.value:
            rooms.append(room_county(rec.info.get("county", "")))
        else:
            rooms += [room_role(w) for w in rec.info.get("waiting_for", [])]
    return scoped(rooms, rec.drill_id)


def watch_job(app: Flask) -> None:
    from command.extensions import get_db

    with app.app_context(), get_db().session() as session:
        n = watch_deadlines(session, datetime.now(UTC), ladders=ladders_from(app.config["HAILOPS"]))
        session.commit()
    if n:
        log.info("raised %d deadline alerts", n)
