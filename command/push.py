"""All server pushes go through here.

``announce`` stores the event (with its sequence number) in the caller's transaction and
emits it only after that transaction commits: persisted before announced, and a client that
reconnects can ask for everything after the last sequence number it saw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from socketio.packet import Packet
from sqlalchemy import Text, cast, event, func, or_, select
from sqlalchemy.orm import Session

from command.audit import to_plain
from command.models import LiveEvent

NAMESPACE = "/live"
ROOM_ALL = "all"  # command-center wide view (commanders, forecasters, admin, members)


class JSONPacket(Packet):  # type: ignore[misc]  # python-socketio ships no types
    """Socket.IO packets whose binary check is one C-speed ``json.dumps`` for the common case.

    python-socketio walks every list and dict of a payload, three times per emit, to look for
    binary attachments; on a catch-up of 1,000 events that walk was the largest cost.  Our
    payloads are plain JSON (``to_plain``), and bytes are not JSON-serialisable, so a payload
    that serialises has no binary part; anything else gets the library's own walk."""

    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        try:
            json.dumps(data)
        except (TypeError, ValueError):
            return bool(super().data_is_binary(data))
        return False


def room_role(role: str) -> str:
    return f"role:{role}"


def room_county(county: str) -> str:
    return f"county:{county}"


def scoped(rooms: list[str], drill_id: str | None) -> list[str]:
    """Rooms of a drill are the live rooms prefixed with ``drill:<id>:``: a drill never reaches
    a live inbox, and participants join the drill's rooms explicitly (``join_drill``)."""
    if drill_id is None:
        return list(rooms)
    return [f"drill:{drill_id}:{room}" for room in rooms]


def announce(session: Session, name: str, payload: dict[str, Any], rooms: list[str]) -> LiveEvent:
    ev = LiveEvent(event=name, rooms=list(rooms), payload=to_plain(payload))
    session.add(ev)
    session.flush()
    pending: list[LiveEvent] = session.info.setdefault("hailops_pending_events", [])
    pending.append(ev)
    if not session.info.get("hailops_emit_hooked"):
        session.info["hailops_emit_hooked"] = True
        event.listen(session, "after_commit", _emit_pending)
        event.listen(session, "after_rollback", _drop_pending)
    return ev


def envelope(ev: LiveEvent) -> dict[str, Any]:
    return {"seq": ev.seq, "event": ev.event, "at": ev.at.isoformat(), "data": ev.payload}


def _emit_pending(session: Session) -> None:
    from command.extensions import socketio

    pending = session.info.pop("hailops_pending_events", [])
    for ev in pending:
        # One emit to all the event's rooms: a member of several rooms gets it once.
        socketio.emit(ev.event, envelope(ev), namespace=NAMESPACE, to=list(ev.rooms))


def _drop_pending(session: Session) -> None:
    session.info.pop("hailops_pending_events", None)


CATCH_UP_PAGE = 200


@dataclass(frozen=True)
class CatchUpPage:
    """One page of missed events the user may see; ``last_seq`` is how far this page read
    (the client's next ``since``), ``more`` whether another page follows."""

    events: list[LiveEvent]
    last_seq: int
    more: bool


def catch_up_page(
    session: Session, since: int, rooms: set[str], limit: int = CATCH_UP_PAGE
) -> CatchUpPage:
    """Missed events filtered by the user's rooms *before* paging (a burst in rooms the user
    cannot see never hides the user's own events), one page at a time."""
    if not rooms:
        head = session.scalar(select(func.max(LiveEvent.seq))) or 0
        return CatchUpPage([], max(since, head), False)
    # Rooms are stored as a JSON list: its text holds each room as a quoted token.  LIKE
    # narrows in SQL (portable: SQLite and PostgreSQL); the exact test follows in Python.
    text = cast(LiveEvent.rooms, Text)
    visible = or_(*(text.like(f'%"{room}"%') for room in sorted(rooms)))
    rows = list(
        session.scalars(
            select(LiveEvent)
            .where(LiveEvent.seq > since, visible)
            .order_by(LiveEvent.seq)
            .limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    if more:
        last = rows[-1].seq
    else:  # read to the end: the watermark is the head of the whole sequence
        last = max(since, session.scalar(select(func.max(LiveEvent.seq))) or 0)
    return CatchUpPage([ev for ev in rows if rooms.intersection(ev.rooms)], last, more)


def events_since(
    session: Session, seq: int, rooms: set[str], limit: int = CATCH_UP_PAGE
) -> list[LiveEvent]:
    """The first page of missed events the user may see (see :func:`catch_up_page`)."""
    return catch_up_page(session, seq, rooms, limit).events
