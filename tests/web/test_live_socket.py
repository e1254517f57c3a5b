"""The /live Socket.IO namespace: credentials required, rooms by role and county, catch-up
of missed events by sequence number."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from command.extensions import socketio
from command.push import ROOM_ALL, announce, room_county
from tests.conftest import login


def _token(app, username):
    from command.auth import issue_token
    from command.extensions import get_db
    from command.models import User

    with app.app_context(), get_db().session() as s:
        token = issue_token(s, s.scalar(select(User).where(User.username == username)))
        s.commit()
    return token


def _announce(app, name, payload, rooms):
    from command.extensions import get_db

    with app.app_context(), get_db().session() as s:
        ev = announce(s, name, payload, rooms)
        s.commit()
        return ev.seq


def _events(sock, name):
    return [r["args"][0] for r in sock.get_received("/live") if r["name"] == name]


def test_connection_without_credentials_is_refused(app, users):
    sock = socketio.test_client(app, namespace="/live")
    assert not sock.is_connected("/live")


def test_bad_token_is_refused(app, users):
    sock = socketio.test_client(app, namespace="/live", auth={"token": "hk_wrong"})
    assert not sock.is_connected("/live")


def test_token_client_receives_events_after_commit(app, users):
    sock = socketio.test_client(app, namespace="/live", auth={"token": _token(app, "commander")})
    assert sock.is_connected("/live")
    hello = _events(sock, "hello")[0]
    assert hello["role"] == "commander" and "all" in hello["rooms"]
    seq = _announce(app, "site.status", {"code": "LS-01", "readiness": "standby"}, [ROOM_ALL])
    got = _events(sock, "site.status")
    assert got == [{"seq": seq, "event": "site.status", "at": got[0]["at"],
                    "data": {"code": "LS-01", "readiness": "standby"}}]


def test_session_cookie_authenticates_the_browser(app, client, users):
    login(client, "forecaster")
    sock = socketio.test_client(app, namespace="/live", flask_test_client=client)
    assert sock.is_connected("/live")
    assert _events(sock, "hello")[0]["user"] == "forecaster"


def test_county_rooms_are_isolated(app, users):
    lishi = socketio.test_client(app, namespace="/live", auth={"token": _token(app, "county_operator")})
    fenyang = socketio.test_client(app, namespace="/live", auth={"token": _token(app, "fenyang")})
    lishi.get_received("/live"), fenyang.get_received("/live")
    _announce(app, "order.new", {"order": 1, "county": "lishi"}, [room_county("lishi")])
    _announce(app, "volume.new", {"cells": []}, [ROOM_ALL])
    assert [e["data"]["order"] for e in _events(lishi, "order.new")] == [1]
    assert _events(fenyang, "order.new") == []
    # County operators are not in the command-center room either.
    assert _events(lishi, "volume.new") == []


def test_reconnect_catches_up_missed_events(app, users):
    token = _token(app, "atc")
    first = _announce(app, "clearance.request", {"n": 1}, ["role:atc"])
    _announce(app, "clearance.request", {"n": 2}, ["role:atc"])
    _announce(app, "order.new", {"n": 3}, [room_county("lishi")])  # not for atc
    sock = socketio.test_client(app, namespace="/live", auth={"token": token, "since": first})
    assert [e["data"]["n"] for e in _events(sock, "clearance.request")] == [2]
    ack = sock.emit("catchup", {"since": 0}, namespace="/live", callback=True)
    assert ack["ok"] is True and ack["replayed"] == 2 and ack["more"] is False
    assert ack["last_seq"] >= first + 2
    assert [e["data"]["n"] for e in _events(sock, "clearance.request")] == [1, 2]


@pytest.mark.parametrize("since", ["x", None, 1.5])
def test_catchup_with_bad_argument_is_answered_not_crashed(app, users, since):
    sock = socketio.test_client(app, namespace="/live", auth={"token": _token(app, "commander")})
    ack = sock.emit("catchup", {"since": since}, namespace="/live", callback=True)
    assert ack["ok"] is False or (ack["ok"] is True and ack["replayed"] == 0)


def test_json_packets_still_detect_binary_payloads():
    """Issue 16: the catch-up's binary check is a fast path for plain JSON, not a switch-off."""
    from command.push import JSONPacket

    assert JSONPacket.data_is_binary({"a": [1, {"b": "c"}]}) is False
    assert JSONPacket.data_is_binary({"a": [1, {"b": b"\x00"}]}) is True
    from socketio.packet import BINARY_EVENT, EVENT

    assert JSONPacket(EVENT, data=["ev", {"blob": b"\x01"}], namespace="/live").packet_type \
        == BINARY_EVENT
    assert JSONPacket(EVENT, data=["ev", {"n": 1}], namespace="/live").packet_type == EVENT
