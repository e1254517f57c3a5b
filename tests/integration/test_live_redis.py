"""Two ``hailops run`` processes joined through the Redis message queue serve one deployment
(issue 6, "Scale"): a live event caused through either process reaches the clients of both,
and room isolation holds across processes — a county operator never receives another
county's site status, whichever process it is connected to.

Real processes, real sockets: both servers share the test's database and Redis at
127.0.0.1:6379 (here and in CI); the clients are python-socketio machine clients with tokens.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from sqlalchemy import select

from command.testing import HailopsServer

REDIS_URL = "redis://127.0.0.1:6379/6"
CHANNEL = f"hailops-test-{os.getpid()}"
WAIT_S = 10.0


class LiveClient:
    """A machine client of ``/live`` that keeps every ``site.status`` envelope it receives."""

    def __init__(self, server: HailopsServer, token: str) -> None:
        self.server = server
        self.statuses: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("site.status", self._on_status, namespace="/live")
        self.sio.connect(
            server.url,
            namespaces=["/live"],
            auth={"token": token},
            transports=["websocket"],
            wait_timeout=WAIT_S,
        )

    def _on_status(self, env: dict[str, Any]) -> None:
        with self._lock:
            self.statuses.append(env)

    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.statuses)

    def wait_for(self, seen: Callable[[dict[str, Any]], bool], timeout_s: float = WAIT_S) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(seen(env) for env in self.received()):
                return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.sio.disconnect()


def _token(app: Any, username: str) -> str:
    from command.auth import issue_token
    from command.extensions import get_db
    from command.models import User

    with app.app_context(), get_db().session() as s:
        token = issue_token(s, s.scalar(select(User).where(User.username == username)))
        s.commit()
    return token


def _last_status_seq(app: Any) -> int:
    from command.models import LiveEvent

    with app.extensions["hailops_db"].session() as s:
        seq = s.scalar(
            select(LiveEvent.seq)
            .where(LiveEvent.event == "site.status")
            .order_by(LiveEvent.seq.desc())
            .limit(1)
        )
    assert seq is not None
    return int(seq)


@pytest.fixture
def servers(
    app: Any, app_config: dict[str, Any], users: Any, seeded: None, tmp_path: Path
) -> Iterator[dict[str, HailopsServer]]:
    """Processes A and B on the test's database, joined through Redis.  No scheduler: this is
    about the message queue, and a deployment runs at most one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAILOPS_")}
    env.update(
        HAILOPS_ENV="test",
        HAILOPS_SECRET_KEY="test-secret",
        HAILOPS_DATABASE_URL=app_config["database_url"],
        HAILOPS_INSTANCE_PATH=str(app_config["instance_path"]),
        HAILOPS_MESSAGE_QUEUE=REDIS_URL,
        HAILOPS_SCHEDULER_ENABLED="false",
        # Pub/sub ignores the database index: a channel of its own, so that another
        # test (or pytest-xdist worker) using Redis at the same time is never heard.
        HAILOPS_MESSAGE_QUEUE_CHANNEL=CHANNEL,
        PYART_QUIET="1",
        PYTHONUNBUFFERED="1",
    )
    started: dict[str, HailopsServer] = {}
    try:
        for name in ("A", "B"):
            started[name] = HailopsServer(name, env, tmp_path / f"server-{name}.log")
        for server in started.values():
            server.wait_ready()
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture
def connect(app: Any) -> Iterator[Callable[[HailopsServer, str], LiveClient]]:
    clients: list[LiveClient] = []

    def _connect(server: HailopsServer, username: str) -> LiveClient:
        client = LiveClient(server, _token(app, username))
        clients.append(client)
        return client

    yield _connect
    # In parallel: a websocket-client close may wait up to 3 s for the server's close frame.
    closing = [threading.Thread(target=client.close) for client in clients]
    for thread in closing:
        thread.start()
    for thread in closing:
        thread.join(timeout=WAIT_S)


def _set_readiness(server: HailopsServer, token: str, code: str, readiness: str) -> None:
    resp = requests.patch(
        f"{server.url}/api/sites/{code}/readiness",
        json={"readiness": readiness},
        headers={"Authorization": f"Bearer {token}"},
        timeout=WAIT_S,
    )
    assert resp.status_code == 200, resp.text


def test_status_change_through_either_process_reaches_clients_on_both(app, servers, connect):
    """Issue 6: with two processes joined through Redis, clients on either receive every event."""
    a, b = servers["A"], servers["B"]
    commander_on_a = connect(a, "commander")
    forecaster_on_b = connect(b, "forecaster")
    lishi_on_b = connect(b, "county_operator")  # Lishi: its own county's sites, via county room
    fenyang_on_a = connect(a, "fenyang")
    sender = _token(app, "admin")

    caused: dict[int, str] = {}  # seq -> site code
    for via, code, readiness in ((a, "LS-01", "standby"), (b, "LS-02", "offline")):
        _set_readiness(via, sender, code, readiness)
        seq = _last_status_seq(app)
        caused[seq] = code
        expected = {"code": code, "readiness": readiness, "county": "lishi"}

        def seen(env: dict[str, Any], seq: int = seq, expected: dict = expected) -> bool:
            return env["seq"] == seq and env["data"] == expected

        for who, client in (
            ("commander on A", commander_on_a),
            ("forecaster on B", forecaster_on_b),
            ("lishi operator on B", lishi_on_b),
        ):
            assert client.wait_for(seen), (
                f"{who} did not receive {code} -> {readiness} (seq {seq}) caused through "
                f"{via.name}; got {client.received()}\nA log:\n{a.log_tail()}\nB log:\n{b.log_tail()}"
            )

    # Pub/sub ignores the Redis db index: another deployment on this Redis may add events.
    def ours(env: dict[str, Any]) -> bool:
        return caused.get(env["seq"]) == env["data"]["code"]

    # Each event reached each client once, not once per process.
    for client in (commander_on_a, forecaster_on_b, lishi_on_b):
        assert sorted(e["seq"] for e in client.received() if ours(e)) == sorted(caused)

    # The Fenyang operator (not in room `all`, not in county:lishi) got neither event.  Both were
    # fanned out by the time the others had them; a short grace covers the last socket write.
    time.sleep(0.3)
    fenyang_got = fenyang_on_a.received()
    assert [e for e in fenyang_got if ours(e)] == []
    assert [e for e in fenyang_got if e["data"].get("county") != "fenyang"] == []


def test_catch_up_replies_go_to_their_client_not_through_the_queue(app, servers):
    """Issue 16: every replayed event was a publish on the Redis queue, decoded and dropped by
    every web process.  A catch-up reply goes straight to its client: per event to a client
    that did not opt in, one message per page to one that did — and nothing of it is
    published, whichever process the client is on."""
    import redis

    from command.extensions import get_db
    from command.models import LiveEvent
    from command.push import CATCH_UP_PAGE

    n = CATCH_UP_PAGE + 50
    with app.app_context(), get_db().session() as s:
        s.add_all(
            LiveEvent(event="test.catchup", rooms=["all"], payload={"i": i}) for i in range(n)
        )
        s.commit()
    published: list[bytes] = []
    listening = redis.Redis.from_url(REDIS_URL).pubsub(ignore_subscribe_messages=True)
    listening.subscribe(CHANNEL)
    stop = threading.Event()

    def listen() -> None:
        while not stop.is_set():
            message = listening.get_message(timeout=0.1)
            if message and b"test.catchup" in message["data"]:
                published.append(message["data"])

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    try:
        got: dict[str, list[int]] = {}
        messages: dict[str, int] = {}
        for server, batch in ((servers["B"], False), (servers["A"], True)):
            name = "batch" if batch else "per event"
            got[name], messages[name] = [], 0
            pages: list[dict[str, Any]] = []
            arrived = threading.Event()
            sio = socketio.Client(reconnection=False)

            def on_any(
                event: str,
                data: Any,
                name: str = name,
                pages: list = pages,
                arrived: threading.Event = arrived,
            ) -> None:
                if event in ("live.batch", "live.sync"):
                    pages.append(data)
                    arrived.set()
                if event == "live.batch":
                    messages[name] += 1
                    got[name] += [e["seq"] for e in data["events"] if e["event"] == "test.catchup"]
                elif event == "test.catchup":
                    messages[name] += 1
                    got[name].append(data["seq"])

            sio.on("*", on_any, namespace="/live")
            sio.connect(
                server.url,
                namespaces=["/live"],
                transports=["websocket"],
                auth={"token": _token(app, "commander"), "since": 0, "batch": batch},
                wait_timeout=WAIT_S,
            )
            try:
                assert arrived.wait(WAIT_S), server.log_tail()
                since, more = pages[0]["last_seq"], pages[0]["more"]
                while more:
                    ack = sio.call(
                        "catchup",
                        {"since": since, "batch": batch},
                        namespace="/live",
                        timeout=WAIT_S,
                    )
                    if batch:
                        messages[name] += 1
                        got[name] += [
                            e["seq"] for e in ack["events"] if e["event"] == "test.catchup"
                        ]
                    since, more = ack["last_seq"], ack["more"]
                deadline = time.monotonic() + WAIT_S
                while len(got[name]) < n and time.monotonic() < deadline:
                    time.sleep(0.02)
            finally:
                sio.disconnect()
            time.sleep(0.3)  # anything published has reached the listener by now
            assert published == [], f"{name}: {len(published)} catch-up messages published"
        assert (
            got["batch"] == got["per event"] == sorted(set(got["batch"])) and len(got["batch"]) == n
        )
        assert messages == {"batch": 2, "per event": n}
    finally:
        stop.set()
        listener.join(timeout=WAIT_S)
        listening.close()
