"""Meetings (会议制度): plenary (once or twice a year) and ad hoc; attendance by unit;
decisions with an owner unit and a due date, followed up until done.  Audited."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from command import audit
from command.models import DecisionRecord, MeetingRecord, MemberUnit
from command.office import OfficeError

MEETING_KINDS = ("plenary", "ad_hoc")


def _date(value: Any, field: str, errors: dict[str, str]) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        errors[field] = "a date YYYY-MM-DD is required"
        return None


def record_meeting(
    session: Session, body: dict[str, Any], *, actor: str, actor_role: str, now: datetime
) -> MeetingRecord:
    """Record a meeting with its attendance and decisions (caller commits).

    ``body``: ``held_on``, ``kind``, ``title``, ``attendance`` ({unit_key: attendee}),
    ``notes``, ``decisions`` ([{text, owner_unit, due_on}]).  Every field error at once."""
    errors: dict[str, str] = {}
    units = set(session.scalars(select(MemberUnit.key)))
    held_on = _date(body.get("held_on"), "held_on", errors)
    kind = body.get("kind")
    if kind not in MEETING_KINDS:
        errors["kind"] = "plenary or ad_hoc"
    title = str(body.get("title") or "").strip()
    if not title or len(title) > 200:
        errors["title"] = "a title of 1-200 characters is required"
    attendance = body.get("attendance") or {}
    if not isinstance(attendance, dict):
        errors["attendance"] = "an object {unit_key: attendee}"
        attendance = {}
    unknown = sorted(set(attendance) - units)
    if unknown:
        errors["attendance"] = f"unknown units: {', '.join(unknown)}"
    decisions = body.get("decisions") or []
    parsed: list[tuple[str, str, date]] = []
    if not isinstance(decisions, list):
        errors["decisions"] = "a list"
        decisions = []
    for i, d in enumerate(decisions):
        if not isinstance(d, dict):
            errors[f"decisions[{i}]"] = "an object"
            continue
        text = str(d.get("text") or "").strip()
        if not text:
            errors[f"decisions[{i}].text"] = "required"
        if d.get("owner_unit") not in units:
            errors[f"decisions[{i}].owner_unit"] = "a member unit key"
        due = _date(d.get("due_on"), f"decisions[{i}].due_on", errors)
        if text and due is not None and d.get("owner_unit") in units:
            parsed.append((text, str(d["owner_unit"]), due))
    if errors:
        raise OfficeError("invalid meeting", errors)
    assert held_on is not None
    meeting = MeetingRecord(
        held_on=held_on,
        kind=str(kind),
        title=title,
        attendance={str(k): str(v) for k, v in attendance.items()},
        notes=str(body.get("notes") or ""),
        created_by=actor,
        created_at=now,
    )
    session.add(meeting)
    session.flush()
    for text, owner, due in parsed:
        session.add(
            DecisionRecord(
                meeting_id=meeting.id,
                text=text,
                owner_unit=owner,
                due_on=due,
                state="open",
                follow_ups=[],
            )
        )
    session.flush()
    session.refresh(meeting)
    audit.append(
        session,
        actor=actor,
        role=actor_role,
        action="meeting.record",
        object_type="meeting",
        object_id=str(meeting.id),
        after=meeting_json(meeting),
        at=now,
    )
    return meeting


def follow_up(
    session: Session,
    decision_id: int,
    note: str,
    done: bool,
    *,
    actor: str,
    actor_role: str,
    now: datetime,
) -> DecisionRecord:
    """Add a follow-up note to a decision; ``done`` closes it.  A closed decision takes no
    more follow-ups (OfficeError)."""
    dec = session.get(DecisionRecord, decision_id)
    if dec is None:
        raise LookupError(f"no decision {decision_id}")
    if dec.state == "done":
        raise OfficeError("the decision is already done", {"state": "done"})
    note = (note or "").strip()
    if not note:
        raise OfficeError("invalid follow-up", {"note": "required"})
    before = decision_json(dec)
    dec.follow_ups = [
        *(dec.follow_ups or []),
        {"at": now.isoformat(), "by": actor, "note": note, "done": bool(done)},
    ]
    if done:
        dec.state, dec.done_at = "done", now
    session.flush()
    audit.append(
        session,
        actor=actor,
        role=actor_role,
        action="decision.follow_up",
        object_type="decision",
        object_id=str(dec.id),
        before=before,
        after=decision_json(dec),
        at=now,
    )
    return dec


def decision_json(d: DecisionRecord, today: date | None = None) -> dict[str, Any]:
    out = {
        "id": d.id,
        "meeting_id": d.meeting_id,
        "text": d.text,
        "owner_unit": d.owner_unit,
        "due_on": d.due_on.isoformat(),
        "state": d.state,
        "follow_ups": list(d.follow_ups or []),
        "done_at": d.done_at.isoformat() if d.done_at else None,
    }
    if today is not None:
        out["overdue"] = d.state != "done" and d.due_on < today
    return out


def meeting_json(m: MeetingRecord, today: date | None = None) -> dict[str, Any]:
    return {
        "id": m.id,
        "held_on": m.held_on.isoformat(),
        "kind": m.kind,
        "title": m.title,
        "attendance": dict(m.attendance or {}),
        "notes": m.notes,
        "created_by": m.created_by,
        "decisions": [decision_json(d, today) for d in m.decisions],
    }


def open_decisions(session: Session) -> list[DecisionRecord]:
    return list(
        session.scalars(
            select(DecisionRecord)
            .where(DecisionRecord.state == "open")
            .order_by(DecisionRecord.due_on)
        )
    )
