"""Set the scene of a browser test through the JSON API, as a machine client would: bearer
tokens issued with the CLI, and an operation taken through its lifecycle in one call."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from command.testing import hailops_command


def issue_tokens(env: dict[str, str], names: list[str]) -> dict[str, str]:
    """``hailops users token NAME`` for each name (the server's database, before it starts)."""
    tokens = {}
    for name in names:
        out = subprocess.run(
            [*hailops_command(), "users", "token", name],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        tokens[name] = out.stdout.strip().splitlines()[-1]
    return tokens


class Api:
    """Calls as one of the token holders; an error answer fails the test with its body."""

    def __init__(self, base: str, tokens: dict[str, str]) -> None:
        self.base, self.tokens = base, tokens

    def __call__(self, who: str, method: str, path: str, body: Any = None) -> Any:
        req = urllib.request.Request(
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {self.tokens[who]}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - loopback
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{method} {path}: {exc.code} {exc.read()[:400]!r}") from None

    def operation(
        self,
        site: str,
        now: datetime,
        *,
        drill: str | None = None,
        until: str = "requested",
        county_operator: str = "lishi",
    ) -> str:
        """An operation of ``site`` (37 mm, 6 shells, 40 minutes from ``now``) taken by the
        commander, ATC, military and the county operator as far as ``until``: requested,
        ordered or firing."""
        q = f"?drill={drill}" if drill else ""
        body: dict[str, Any] = {
            "cell_id": "C-TEST-1",
            "site_code": site,
            "window": [
                (now - timedelta(minutes=1)).isoformat(),
                (now + timedelta(minutes=40)).isoformat(),
            ],
            "azimuth_deg": 10.0,
            "elevation_deg": 60.0,
            "quantity": {"37mm_shell": 6},
            "max_altitude_m": 6000.0,
        }
        if drill:
            body["drill_id"] = drill
        op: str = self("commander", "POST", "/api/operations", body)["id"]
        self("commander", "POST", f"/api/operations/{op}/authorize{q}", {})
        self("commander", "POST", f"/api/operations/{op}/request-clearance{q}", {})
        if until == "requested":
            return op
        for who in ("atc", "military"):
            self(who, "POST", f"/api/operations/{op}/grant{q}", {})
        if self("commander", "GET", f"/api/operations/{op}{q}").get("conflicts"):
            # The plan left the cleared airspace: the one-step amendment brings it back in.
            self("commander", "POST", f"/api/operations/{op}/amend{q}", {"fit": True})
        self("commander", "POST", f"/api/operations/{op}/order{q}", {})
        if until == "ordered":
            return op
        self(county_operator, "POST", f"/api/operations/{op}/acknowledge{q}", {})
        self(county_operator, "POST", f"/api/operations/{op}/start-firing{q}", {})
        return op

    def running_drill(self, event: str = "canberra_20181220", timeout_s: float = 120) -> Any:
        """A drill requested as admin (1x, no automatic players), once the scheduler runs it
        and its first volume is in: ``(drill id, its state)``."""
        import time

        drill = self("admin", "POST", "/api/drills", {"event": event, "speed": 1})["id"]
        deadline = time.monotonic() + timeout_s
        while True:
            state = self("admin", "GET", f"/api/drills/{drill}/state")
            if state["drill"]["state"] == "running" and state["volume"]:
                return drill, state
            assert time.monotonic() < deadline, state["drill"]
            time.sleep(1)


TOKEN_HOLDERS = ["commander", "atc", "military", "lishi", "admin"]


@contextmanager
def live_server_with_api(tmp: Path) -> Iterator[tuple[str, Api]]:
    """A browser test's server with the demo accounts and two live volumes, and an API
    client holding tokens of the commander, both authorities, Lishi and the admin."""
    from tests.web.live_server import running_server
    from tests.web.test_console_browser import _ingest_live_volumes

    tokens: dict[str, str] = {}

    def prepare(env: dict[str, str]) -> None:
        _ingest_live_volumes(env)
        tokens.update(issue_tokens(env, TOKEN_HOLDERS))

    with running_server(tmp, [], prepare, demo_accounts=True) as base:
        yield base, Api(base, tokens)
