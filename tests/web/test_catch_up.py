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
