"""Issue 12: a console catches up on its own with events that never reached it — e.g. pushed
by another server process while the Redis message queue was down.  The events are stored
(persisted before announced) but never emitted here; the console's sequence heartbeat
(static/js/seq.js, GET /api/live/seq) sees the server ahead and catches up, no reload."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from command.models import LiveEvent
from tests.web.browser import browser, login, open_console, shot, wait_connected  # noqa: F401 - fixture
from tests.web.live_server import running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_console_fetches_events_it_never_received(browser, tmp_path):  # noqa: F811
    with running_server(tmp_path, [], demo_accounts=True) as base:
        ctx, page, errors = open_console(browser, base, "commander", "commander", timeout_ms=20000)
        page.evaluate("""() => { window.__missed = [];
            document.addEventListener('hailops:test.missed',
                                      e => window.__missed.push(e.detail.seq)); }""")
        # Three events stored as another process would store them; no emit reaches this page.
        engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
        with Session(engine) as s:
            s.add_all(
                [LiveEvent(event="test.missed", rooms=["all"], payload={"n": n}) for n in range(3)]
            )
            s.commit()
        engine.dispose()
        page.wait_for_function("window.__missed.length === 3", timeout=30000)
        assert page.evaluate("window.__missed.length") == 3
        assert errors == []
        ctx.close()


def test_missed_events_come_back_in_pages_to_the_map_and_a_console(browser, tmp_path):  # noqa: F811
    """Issue 16: a page reconnecting after missing 450 events got 450 messages.  Now the map
    and the commander console each get them as a few one-message pages (seq.js opts in), and
    every event still reaches the page's listeners once, in sequence order — those of the
    page (``hailops:<name>`` after fresh(seq)) and ``socket.on(name)`` ones alike — and a
    site's status change among them shows on the map's marker and on the commander's board."""
    from command.push import CATCH_UP_PAGE

    n = 2 * CATCH_UP_PAGE + 50
    with running_server(tmp_path, [], demo_accounts=True) as base:
        ctx, map_page, errors = login(browser, base, "commander", timeout_ms=20000)
        wait_connected(map_page)
        console = ctx.new_page()
        console.on("pageerror", lambda e: errors.append(str(e)))
        console.goto(f"{base}/console/commander")
        wait_connected(console)
        code = map_page.evaluate("Object.keys(window.HAILOPS.siteMarkers)[0]")
        readiness = console.get_attribute(f"tr[data-site='{code}']", "data-readiness")
        target = "offline" if readiness != "offline" else "ready"
        pages = {"map": map_page, "console": console}
        frames: dict[str, list[str]] = {name: [] for name in pages}
        for name, page in pages.items():
            page.on(
                "websocket",
                lambda ws, name=name: ws.on(
                    "framereceived",
                    lambda payload, name=name: frames[name].append(
                        payload if isinstance(payload, str) else ""
                    ),
                ),
            )
            page.evaluate("""() => { window.__doc = []; window.__direct = [];
                document.addEventListener('hailops:test.batched',
                                          e => window.__doc.push(e.detail.seq));
                window.HAILOPS_SOCKET.on('test.batched', env => window.__direct.push(env.seq));
                window.HAILOPS_SOCKET.disconnect(); }""")
        # What happened meanwhile, stored as the server stores it.
        engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
        with Session(engine) as s:
            missed = [
                LiveEvent(event="test.batched", rooms=["all"], payload={"n": i}) for i in range(n)
            ]
            s.add_all(missed)
            s.add(
                LiveEvent(
                    event="site.status",
                    rooms=["all"],
                    payload={"code": code, "readiness": target, "county": "lishi"},
                )
            )
            s.commit()
            expected = [ev.seq for ev in missed]
        engine.dispose()
        for page in pages.values():
            page.evaluate("() => window.HAILOPS_SOCKET.connect()")
        colour = map_page.evaluate(f"window.HAILOPS.colours['{target}']")
        map_page.wait_for_function(
            f"window[window.HAILOPS.siteMarkers['{code}']].options.fillColor === '{colour}'",
            timeout=30000,
        )
        console.wait_for_selector(
            f"tr[data-site='{code}'][data-readiness='{target}']", timeout=30000
        )
        for name, page in pages.items():
            page.wait_for_function(f"window.__doc.length >= {n}", timeout=30000)
            assert page.evaluate("window.__doc") == expected, name
            assert page.evaluate("window.__direct") == expected, name
            carried = [f for f in frames[name] if "test.batched" in f]
            # The missed events and up to 50 before (a reconnect resumes a little early), in
            # pages; perhaps one more page asked by the sequence heartbeat meanwhile.
            assert 0 < len(carried) <= -(-(n + 1 + 50) // CATCH_UP_PAGE) + 1, (name, len(carried))
        shot(map_page, "map_after_batched_catch_up", full_page=False)
        shot(console, "console_after_batched_catch_up", full_page=False)
        assert errors == []
        ctx.close()


def test_a_catch_up_reply_lost_to_a_dropped_connection_does_not_stop_catching_up(
    browser,  # noqa: F811
    tmp_path,
):
    """The reply to a catch-up request never comes when the connection drops meanwhile
    (socket.io-client forgets it), and seq.js waited for it for good: no heartbeat or gap ever
    caught up again until a reload.  The connection drops here right after a request.  (The
    member console: it frames no map, whose own socket would ask too.)"""
    with running_server(tmp_path, [], demo_accounts=True) as base:
        ctx, page, errors = login(browser, base, "member", timeout_ms=30000)
        dropped: list[str] = []
        drop = [False]

        def route(ws):  # every Socket.IO connection of the page goes through here
            server = ws.connect_to_server()
            ws.on_message(lambda message: server.send(message))

            def to_page(message):
                # A catch-up reply (an ack on /live) while dropping: lose it with the line.
                if drop[0] and isinstance(message, str) and message.startswith("43/live,"):
                    drop[0] = False
                    dropped.append(message)
                    ws.close()
                    server.close()
                    return
                ws.send(message)

            server.on_message(to_page)

        page.route_web_socket("**/socket.io/**", route)
        page.goto(f"{base}/console/member")
        wait_connected(page)
        page.evaluate("""() => { window.__missed = [];
            document.addEventListener('hailops:test.missed',
                                      e => window.__missed.push(e.detail.seq)); }""")
        engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")

        def store(n: int) -> None:  # as another process stores events; no emit reaches here
            with Session(engine) as s:
                s.add_all(
                    [
                        LiveEvent(event="test.missed", rooms=["all"], payload={"n": i})
                        for i in range(n)
                    ]
                )
                s.commit()

        drop[0] = True
        store(3)  # the sequence heartbeat asks for them; the reply is lost, the line drops
        page.wait_for_function("window.__missed.length === 3", timeout=40000)  # the reconnect
        assert dropped, "no catch-up reply was dropped"
        wait_connected(page)
        store(3)  # only the heartbeat (or a gap) can bring these
        page.wait_for_function("window.__missed.length === 6", timeout=30000)
        assert errors == []
        engine.dispose()
        ctx.close()
