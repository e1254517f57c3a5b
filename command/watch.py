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
from command.models import OperationRecord, ServiceStatus
from command.operations import expire_due
from command.push import ROOM_ALL, announce, room_county, room_role, scoped
from dispatch import lifecycle as lc

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
            alerts.append(("clearance_pending", f"airspace clearance pending for "
                           f"{int((now - since).total_seconds() // 60)} min"))
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
    return or_(OperationRecord.state.in_(open_states),
               and_(OperationRecord.state.in_(_REPORTED_STATES),
                    OperationRecord.updated_at >= now - limits.written_report_due - WATCH_HORIZON))


def watch_deadlines(session: Session, now: datetime, limits: AlertLimits = AlertLimits(),
                    drill_id: str | None = None) -> int:
    """One pass over one world (live operations, or one drill's on the drill clock ``now``):
    expire, then alert.  Returns the number of new alerts (caller commits)."""
    expire_due(session, now, drill_id)
    name = "alerts" if drill_id is None else f"alerts:{drill_id}"
    seen_row = session.get(ServiceStatus, name) or ServiceStatus(name=name, info={})
    seen: dict[str, Any] = dict(seen_row.info or {})
    new = 0
    world = OperationRecord.drill_id.is_(None) if drill_id is None else \
        OperationRecord.drill_id == drill_id
    watched: set[str] = set()
    for rec in session.scalars(select(OperationRecord).where(watched_filter(now, limits), world)):
        watched.add(rec.id)
        op = decode(lc.Operation, rec.data)
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
            audit.append(session, actor="scheduler", role="system", action=f"alert.{kind}",
                         object_type="operation", object_id=op.id, drill_id=op.drill_id,
                         after={"message": message}, at=now)
            announce(session, "alert", {"operation_id": op.id, "kind": kind, "message": message,
                                        "site_code": op.site_code, "county": op.county}, rooms)
    # Remember only the alerts of operations still watched: the others cannot fire again.
    kept = {k: v for k, v in seen.items() if k.rsplit(":", 1)[0] in watched}
    if new or kept != (seen_row.info or {}):
        seen_row.info = kept
        seen_row.updated_at = now
        session.merge(seen_row)
    return new


def watch_job(app: Flask) -> None:
    from command.extensions import get_db

    with app.app_context(), get_db().session() as session:
        n = watch_deadlines(session, datetime.now(UTC))
        session.commit()
    if n:
        log.info("raised %d deadline alerts", n)
