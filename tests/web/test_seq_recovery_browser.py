"""Issue 12: a console catches up on its own with events that never reached it — e.g. pushed
by another server process while the Redis message queue was down.  The events are stored
(persisted before announced) but never emitted here; the console's sequence heartbeat
(static/js/seq.js, GET /api/live/seq) sees the server ahead and catches up, no reload."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from command.models import LiveEvent
from tests.web.browser import browser, open_console  # noqa: F401 - fixture
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
