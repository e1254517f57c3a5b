"""Issue 12: catch-up filters by what the user may see *before* paging, and returns
everything missed in pages (a burst in other rooms never hides a user's own events)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from command.extensions import get_db, socketio
from command.models import LiveEvent, User
from command.push import ROOM_ALL, room_county


def _token(app: Any, username: str) -> str:
    from command.auth import issue_token

    with app.app_context(), get_db().session() as s:
        token = issue_token(s, s.scalar(select(User).where(User.username == username)))
        s.commit()
    return token


def _burst(app: Any, rooms_and_counts: list[tuple[list[str], int]]) -> None:
    """Stored events (as ``announce`` stores them), in one transaction, nothing emitted."""
    with app.app_context(), get_db().session() as s:
        for rooms, count in rooms_and_counts:
            for i in range(count):
                s.add(LiveEvent(event="test.burst", rooms=rooms, payload={"i": i, "r": rooms}))
        s.commit()


def _received(sock: Any, name: str = "test.burst") -> list[dict[str, Any]]:
    return [m["args"][0] for m in sock.get_received("/live") if m["name"] == name]


def test_a_burst_for_another_county_does_not_hide_my_event(app: Any, users: Any) -> None:
    """A county operator's catch-up returned 0 of its 1 event after 1,000 for another county."""
    _burst(app, [([room_county("fenyang")], 1000), ([room_county("lishi")], 1)])
    sock = socketio.test_client(
        app, namespace="/live", auth={"token": _token(app, "county_operator"), "since": 0}
    )
    got = _received(sock)
    assert [e["data"]["r"] for e in got] == [[room_county("lishi")]]


def test_catch_up_after_a_1100_event_burst_returns_everything_in_pages(
    app: Any, users: Any
) -> None:
    """A commander's catch-up returned 1,000 of 1,102 with no sign of more."""
    _burst(app, [([ROOM_ALL], 1102)])
    sock = socketio.test_client(
        app, namespace="/live", auth={"token": _token(app, "commander"), "since": 0}
    )
    messages = sock.get_received("/live")
    seqs = [m["args"][0]["seq"] for m in messages if m["name"] == "test.burst"]
    sync = [m["args"][0] for m in messages if m["name"] == "live.sync"]
    assert sync and sync[-1]["more"] is True and sync[-1]["last_seq"] == seqs[-1]
    since, pages = sync[-1]["last_seq"], 1
    while True:  # what the client (static/js/seq.js) does: ask again from last_seq
        ack = sock.emit("catchup", {"since": since}, namespace="/live", callback=True)
        seqs += [e["seq"] for e in _received(sock)]
        since, pages = ack["last_seq"], pages + 1
        if not ack["more"]:
            break
    assert len(seqs) == len(set(seqs)) == 1102 and seqs == sorted(seqs)
    assert pages > 1


# --- issue 16: a catch-up page as one message, for clients that say they take batches -------


def _catch_up_messages(sock: Any, batch: bool) -> tuple[list[dict[str, Any]], int]:
    """Everything a client is replayed after connecting with ``auth.since`` (as the test
    client's ``auth`` says), asking for the next pages as static/js/seq.js does; returns the
    replayed envelopes in arrival order and how many messages carried them."""
    got: list[dict[str, Any]] = []
    messages = 0
    first = sock.get_received("/live")
    pages = [m["args"][0] for m in first if m["name"] == "live.batch"]
    for m in first:
        if m["name"] == "live.batch":
            messages += 1
            got += m["args"][0]["events"]
        elif m["name"] not in ("hello", "live.sync"):
            messages += 1
            got.append(m["args"][0])
    sync = pages or [m["args"][0] for m in first if m["name"] == "live.sync"]
    since, more = sync[-1]["last_seq"], sync[-1]["more"]
    while more:
        ack = sock.emit(
            "catchup", {"since": since, "batch": batch}, namespace="/live", callback=True
        )
        if "events" in ack:
            messages += 1
            got += ack["events"]
        for m in sock.get_received("/live"):
            messages += 1
            got.append(m["args"][0])
        since, more = ack["last_seq"], ack["more"]
    return got, messages


def test_a_client_that_takes_batches_gets_each_page_as_one_message(app: Any, users: Any) -> None:
    """1,000 missed events were 1,000 Socket.IO messages (a Redis publish each): a client
    that opts in gets ceil(N/200) messages holding the same envelopes, in sequence order."""
    from command.push import CATCH_UP_PAGE

    n = 2 * CATCH_UP_PAGE + 37
    _burst(app, [([ROOM_ALL], n)])
    with app.app_context(), get_db().session() as s:
        stored = {
            ev.seq: ev for ev in s.scalars(select(LiveEvent).where(LiveEvent.event == "test.burst"))
        }
        expected = [
            {"seq": ev.seq, "event": ev.event, "at": ev.at.isoformat(), "data": ev.payload}
            for ev in sorted(stored.values(), key=lambda ev: ev.seq)
        ]
    sock = socketio.test_client(
        app,
        namespace="/live",
        auth={"token": _token(app, "commander"), "since": 0, "batch": True},
    )
    got, messages = _catch_up_messages(sock, batch=True)
    assert [e for e in got if e["event"] == "test.burst"] == expected  # same envelopes, in order
    assert messages == -(-n // CATCH_UP_PAGE)


def test_a_client_that_does_not_opt_in_still_gets_every_event_on_its_own(
    app: Any, users: Any
) -> None:
    """Machine clients written before batches keep the protocol they were written for."""
    from command.push import CATCH_UP_PAGE

    n = CATCH_UP_PAGE + 5
    _burst(app, [([ROOM_ALL], n)])
    sock = socketio.test_client(
        app, namespace="/live", auth={"token": _token(app, "commander"), "since": 0}
    )
    assert not [m for m in sock.get_received("/live") if m["name"] == "live.batch"]
    sock.disconnect(namespace="/live")
    sock = socketio.test_client(
        app, namespace="/live", auth={"token": _token(app, "commander"), "since": 0}
    )
    got, messages = _catch_up_messages(sock, batch=False)
    seqs = [e["seq"] for e in got if e["event"] == "test.burst"]
    assert len(seqs) == len(set(seqs)) == n == messages and seqs == sorted(seqs)
    ack = sock.emit("catchup", {"since": 0}, namespace="/live", callback=True)
    assert "events" not in ack and ack["replayed"] == CATCH_UP_PAGE


def test_a_batch_holds_only_events_of_rooms_the_user_may_see(app: Any, users: Any) -> None:
    """A county operator's batches carry its county's events, never another county's, the
    command center's or a drill's copy of its own county."""
    mine = room_county("lishi")
    _burst(
        app,
        [
            ([room_county("fenyang")], 450),
            ([mine], 3),
            ([ROOM_ALL], 300),
            ([f"drill:D1:{mine}"], 50),
            ([room_county("fenyang"), mine], 2),
        ],
    )
    sock = socketio.test_client(
        app,
        namespace="/live",
        auth={"token": _token(app, "county_operator"), "since": 0, "batch": True},
    )
    got, messages = _catch_up_messages(sock, batch=True)
    assert [e["data"]["r"] for e in got] == [[mine]] * 3 + [[room_county("fenyang"), mine]] * 2
    assert messages == 1  # filtered before paging: all five in the connect's page
    ack = sock.emit("catchup", {"since": 0, "batch": True}, namespace="/live", callback=True)
    assert ack["ok"] and not ack["more"] and len(ack["events"]) == ack["replayed"] == 5
