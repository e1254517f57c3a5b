"""The ``/live`` Socket.IO namespace: authenticated connections, rooms by role and county,
and catch-up of missed events by sequence number.

Catch-up comes in pages (``command.push.catch_up_page``).  A client that says it understands
batches (``batch: true`` in the connect ``auth`` and in the ``catchup`` data; the browser's
``static/js/seq.js`` does) gets each page as ONE message: the connect's page as ``live.batch``
``{events: [envelope, ...], last_seq, more}``, a requested page inside the ``catchup`` reply
(``events`` beside ``replayed``, ``last_seq``, ``more``).  Any other client gets every event
of a page as its own message, as before (issue 16: 1,000 missed events were 1,000 messages).
Either way the replay goes straight to its client, never through the Redis message queue."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from flask import request
from flask_login import current_user
from flask_socketio import Namespace, join_room, leave_room
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from command.auth import token_row, user_for_token
from command.extensions import get_session
from command.models import ApiToken, User
from command.push import (
    NAMESPACE,
    ROOM_ALL,
    catch_up_page,
    envelope,
    room_county,
    room_role,
    scoped,
)

# Which rooms each role listens to.  County operators never join ROOM_ALL: they only see
# their own county's sites and orders.
log = logging.getLogger(__name__)
JOINABLE_DRILL_STATES = ("running", "paused")
_WIDE_ROLES = {"forecaster", "commander", "admin", "member", "atc", "military"}


def rooms_for(user: User) -> set[str]:
    rooms = {room_role(user.role)}
    if user.role in _WIDE_ROLES:
        rooms.add(ROOM_ALL)
    if user.role == "county_operator" and user.county:
        rooms.add(room_county(user.county))
    return rooms


class LiveNamespace(Namespace):  # type: ignore[misc]  # flask-socketio ships no types
    def _user(self, auth: Any) -> tuple[User | None, int | None]:
        """The connecting user and, for a token connection, the token's id."""
        if current_user.is_authenticated:
            return current_user._get_current_object(), None
        token = auth.get("token") if isinstance(auth, dict) else None
        if token:
            row = token_row(get_session(), str(token))
            user = user_for_token(get_session(), str(token))
            get_session().commit()
            return user, None if row is None else row.id
        return None, None

    def on_connect(self, auth: Any = None) -> None:
        user, token_id = self._user(auth)
        if user is None:
            raise ConnectionRefusedError("authentication required (session cookie or token)")
        self._identity[request.sid] = (user.id, user.session_version or 1, token_id)  # type: ignore[attr-defined]
        self._start_sweeper()
        rooms = rooms_for(user)
        drill_id = auth.get("drill") if isinstance(auth, dict) else None
        if isinstance(drill_id, str) and drill_id:
            # A page inside a drill hears only the drill: never a live event, not even in
            # the catch-up below.
            rooms = set(scoped(sorted(rooms), drill_id))
        for room in rooms:
            join_room(room)
        self._sessions[request.sid] = (user.username, user.role, user.county, rooms)  # type: ignore[attr-defined]
        self._reply(
            "hello",
            {
                "user": user.username,
                "role": user.role,
                "county": user.county,
                "rooms": sorted(rooms),
            },
        )
        since = auth.get("since") if isinstance(auth, dict) else None
        if isinstance(since, int):
            # The first page goes with the connect (no request from the client first).
            if _wants_batch(auth):
                self._reply("live.batch", self._catch_up(since, rooms, batch=True))
                return
            page = self._catch_up(since, rooms)
            # Tell the client how far it now is; if more pages follow it asks for them.
            self._reply("live.sync", {"last_seq": page["last_seq"], "more": page["more"]})

    def _reply(self, event: str, data: dict[str, Any]) -> None:
        """Send to the client whose message (or connection) is being handled.  That client is
        connected to this process, so the message goes straight to it, never through the
        Redis message queue: a publish that every web process would decode and drop."""
        self.socketio.emit(
            event,
            data,
            to=request.sid,  # type: ignore[attr-defined]
            namespace=self.namespace,
            ignore_queue=True,
        )

    def on_disconnect(self, *args: Any) -> None:
        self._sessions.pop(request.sid, None)  # type: ignore[attr-defined]
        self._identity.pop(request.sid, None)  # type: ignore[attr-defined]

    # --- revoked access ends open sockets -------------------------------------------------
    def stale_sids(self, session: Session) -> list[str]:
        """This process's sockets whose user was deactivated, whose sessions were ended
        (logout, revocation) or whose token was revoked or expired."""
        identity = dict(self._identity)
        if not identity:
            return []
        users = {
            u.id: u
            for u in session.scalars(
                select(User).where(User.id.in_({v[0] for v in identity.values()}))
            )
        }
        token_ids = {v[2] for v in identity.values() if v[2] is not None}
        now = datetime.now(UTC)
        valid_tokens = (
            set(
                session.scalars(
                    select(ApiToken.id).where(
                        ApiToken.id.in_(token_ids),
                        ApiToken.revoked.is_(False),
                        or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
                    )
                )
            )
            if token_ids
            else set()
        )
        stale = []
        for sid, (user_id, version, token_id) in identity.items():
            user = users.get(user_id)
            if (
                user is None
                or not user.active
                or (token_id is None and (user.session_version or 1) != version)
                or (token_id is not None and token_id not in valid_tokens)
            ):
                stale.append(sid)
        return stale

    def disconnect_stale(self, session: Session) -> int:
        stale = self.stale_sids(session)
        for sid in stale:
            self.emit("session.ended", {"reason": "access revoked"}, room=sid)
            self.disconnect(sid)
            self._identity.pop(sid, None)
            self._sessions.pop(sid, None)
        return len(stale)

    def _start_sweeper(self) -> None:
        # Revocation in another process (CLI, another web worker) reaches this process's
        # sockets within SWEEP_SECONDS; in this process it is immediate (disconnect_now).
        from flask import current_app

        from command.extensions import socketio

        settings = current_app.config["HAILOPS"]
        if self._sweeper_started or not settings.socket_sweep_enabled:  # type: ignore[has-type]
            return
        self._sweeper_started = True
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        socketio.start_background_task(self._sweep, app)

    def _sweep(self, app: Any) -> None:
        from command.extensions import get_db, socketio

        while self._identity:
            socketio.sleep(app.config["HAILOPS"].socket_check_seconds)
            try:
                with app.app_context(), get_db().session() as session:
                    self.disconnect_stale(session)
            except Exception:  # noqa: BLE001 - the sweep must outlive a database hiccup
                log.exception("socket revocation sweep failed")
        self._sweeper_started = False  # the next connection starts it again

    def on_catchup(self, data: Any) -> dict[str, Any]:
        info = self._sessions.get(request.sid)  # type: ignore[attr-defined]
        if info is None:
            return {"ok": False}
        since = data.get("since", 0) if isinstance(data, dict) else 0
        if not isinstance(since, int):
            return {"ok": False, "error": "since must be an integer"}
        # A batch client gets the page in this reply: one message, no separate emits.
        return {"ok": True, **self._catch_up(since, info[3], batch=_wants_batch(data))}

    def on_join_drill(self, data: Any) -> dict[str, Any]:
        """Take part in a drill: join the drill's copies of this user's rooms.  Only a drill
        that exists and is running or paused.  The connection leaves the live rooms (and any
        previous drill's), so a page inside a drill hears that drill only — never live."""
        from command.models import DrillRecord

        info = self._sessions.get(request.sid)  # type: ignore[attr-defined]
        drill_id = data.get("drill_id") if isinstance(data, dict) else None
        if info is None or not isinstance(drill_id, str) or not drill_id or len(drill_id) > 64:
            return {"ok": False, "error": "drill_id required"}
        drill = get_session().get(DrillRecord, drill_id)
        if drill is None or drill.state not in JOINABLE_DRILL_STATES:
            return {"ok": False, "error": "no running drill with this id"}
        base = {room.split(":", 2)[2] if room.startswith("drill:") else room for room in info[3]}
        rooms = scoped(sorted(base), drill_id)
        for room in info[3] - set(rooms):
            leave_room(room)
        for room in rooms:
            join_room(room)
        info[3].clear()
        info[3].update(rooms)
        return {"ok": True, "rooms": rooms}

    def _catch_up(self, since: int, rooms: set[str], batch: bool = False) -> dict[str, Any]:
        """One page of what the user missed; the reply says where it stopped (``last_seq``)
        and whether more follows (the client asks again from there).  With ``batch`` the
        page's envelopes are returned under ``events`` for the caller to send as one message;
        without, each is emitted to the client as its own message."""
        page = catch_up_page(get_session(), since, rooms)
        reply: dict[str, Any] = {
            "replayed": len(page.events),
            "last_seq": page.last_seq,
            "more": page.more,
        }
        if batch:
            reply["events"] = [envelope(ev) for ev in page.events]
        else:
            for ev in page.events:
                self._reply(ev.event, envelope(ev))
        return reply


def _wants_batch(data: Any) -> bool:
    """The client said it takes a catch-up page as one message (``batch: true``)."""
    return isinstance(data, dict) and data.get("batch") is True


def make_namespace() -> LiveNamespace:
    ns = LiveNamespace(NAMESPACE)
    ns._sessions = {}
    ns._identity = {}
    ns._sweeper_started = False
    return ns


def disconnect_now(session: Session) -> int:
    """After a revocation, logout or deactivation: end this process's stale sockets now."""
    from flask import current_app

    ns: LiveNamespace | None = current_app.extensions.get("hailops_live_namespace")
    return 0 if ns is None else ns.disconnect_stale(session)
