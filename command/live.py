"""The ``/live`` Socket.IO namespace: authenticated connections, rooms by role and county,
and catch-up of missed events by sequence number."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_login import current_user
from flask_socketio import Namespace, join_room

from command.auth import user_for_token
from command.extensions import get_session
from command.models import User
from command.push import (
    NAMESPACE,
    ROOM_ALL,
    envelope,
    events_since,
    room_county,
    room_role,
    scoped,
)

# Which rooms each role listens to.  County operators never join ROOM_ALL: they only see
# their own county's sites and orders.
JOINABLE_DRILL_STATES = ("running", "paused")
_WIDE_ROLES = {"forecaster", "commander", "admin", "member", "atc", "military"}


def rooms_for(user: User) -> set[str]:
    rooms = {room_role(user.role)}
    if user.role in _WIDE_ROLES:
        rooms.add(ROOM_ALL)
    if user.role == "county_operator" and user.county:
        rooms.add(room_county(user.county))
    return rooms


class LiveNamespace(Namespace):
    def _user(self, auth: Any) -> User | None:
        if current_user.is_authenticated:
            return current_user._get_current_object()  # type: ignore[no-any-return]
        token = auth.get("token") if isinstance(auth, dict) else None
        if token:
            user = user_for_token(get_session(), str(token))
            get_session().commit()
            return user
        return None

    def on_connect(self, auth: Any = None) -> None:
        user = self._user(auth)
        if user is None:
            raise ConnectionRefusedError("authentication required (session cookie or token)")
        rooms = rooms_for(user)
        for room in rooms:
            join_room(room)
        self._sessions[request.sid] = (user.username, user.role, user.county, rooms)  # type: ignore[attr-defined]
        self.emit("hello", {"user": user.username, "role": user.role, "county": user.county,
                            "rooms": sorted(rooms)}, room=request.sid)  # type: ignore[attr-defined]
        since = auth.get("since") if isinstance(auth, dict) else None
        if isinstance(since, int):
            self._catch_up(since, rooms)

    def on_disconnect(self, *args: Any) -> None:
        self._sessions.pop(request.sid, None)  # type: ignore[attr-defined]

    def on_catchup(self, data: Any) -> dict[str, Any]:
        info = self._sessions.get(request.sid)  # type: ignore[attr-defined]
        if info is None:
            return {"ok": False}
        since = data.get("since", 0) if isinstance(data, dict) else 0
        if not isinstance(since, int):
            return {"ok": False, "error": "since must be an integer"}
        n = self._catch_up(since, info[3])
        return {"ok": True, "replayed": n}

    def on_join_drill(self, data: Any) -> dict[str, Any]:
        """Take part in a drill: join the drill's copies of this user's rooms.  Only a drill
        that exists and is running or paused; joining another drill leaves the previous one,
        so a connection holds its live rooms plus at most one drill's."""
        from flask_socketio import leave_room

        from command.models import DrillRecord

        info = self._sessions.get(request.sid)  # type: ignore[attr-defined]
        drill_id = data.get("drill_id") if isinstance(data, dict) else None
        if info is None or not isinstance(drill_id, str) or not drill_id or len(drill_id) > 64:
            return {"ok": False, "error": "drill_id required"}
        drill = get_session().get(DrillRecord, drill_id)
        if drill is None or drill.state not in JOINABLE_DRILL_STATES:
            return {"ok": False, "error": "no running drill with this id"}
        base = {room for room in info[3] if not room.startswith("drill:")}
        rooms = scoped(sorted(base), drill_id)
        for room in info[3] - base - set(rooms):
            leave_room(room)
        for room in rooms:
            join_room(room)
        info[3].clear()
        info[3].update(base | set(rooms))
        return {"ok": True, "rooms": rooms}

    def _catch_up(self, since: int, rooms: set[str]) -> int:
        events = events_since(get_session(), since, rooms)
        for ev in events:
            self.emit(ev.event, envelope(ev), room=request.sid)  # type: ignore[attr-defined]
        return len(events)


def make_namespace() -> LiveNamespace:
    ns = LiveNamespace(NAMESPACE)
    ns._sessions = {}  # type: ignore[attr-defined]
    return ns
