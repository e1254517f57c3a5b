"""Issue 12: a console catches up on its own with events that never reached it — e.g. pushed
by another server process while the Redis message queue was down.  The events are stored
(persisted before announced) but never emitted here; the console's sequence heartbeat
(static/js/seq.js, GET /api/live/seq) sees the server ahead and catches up, no reload."""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from command.models import LiveEvent
from command.testing import hailops_command
from tests.web.live_server import running_server
from tests.web.test_browser import PASSWORD, browser  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_console_fetches_events_it_never_received(browser, tmp_path):  # noqa: F811
    def prepare(env):
        subprocess.run(
            [*hailops_command(), "seed", "--demo-accounts"],
            env=env,
            check=True,
            capture_output=True,
        )

    with running_server(tmp_path, [], prepare) as base:
        ctx = browser.new_context(bypass_csp=True)
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/login")
        page.fill("input[name=username]", "commander")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/console/commander")
        page.wait_for_function(
            "document.getElementById('live-status').textContent.includes('实时连接正常')",
            timeout=20000,
        )
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
