"""What every browser test shares: Debian Chromium under Playwright with the flags this closed
network needs, the demo password, logging in as a person would, opening a console and waiting
for its live connection, screenshots in test-artifacts/, and "seen within N seconds"."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
# Flags for this closed network (no background connections, no sandbox as root).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "hailops-demo"
CONNECTED = "实时连接正常"
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1400, "height": 900}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian chromium missing: run `make install`"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def login(
    browser: Any,
    base: str,
    username: str,
    *,
    phone: bool = False,
    viewport: dict[str, int] | None = None,
    bypass_csp: bool = True,
    timeout_ms: int | None = None,
    locale: str | None = None,
    fail_on_http_errors: bool = False,
    requests: list[str] | None = None,
) -> tuple[Any, Any, list[str]]:
    """A new browser context logged in through the login form.  Returns (context, page,
    errors): page errors, and with ``fail_on_http_errors`` every 4xx/5xx response too.

    ``bypass_csp`` lets string predicates of ``wait_for_function`` use eval();
    test_csp_browser.py drives the same pages under the real policy."""
    options: dict[str, Any] = {
        "bypass_csp": bypass_csp,
        "viewport": viewport or (PHONE if phone else DESK),
    }
    if locale:
        options["locale"] = locale
    ctx = browser.new_context(**options)
    if timeout_ms is not None:
        ctx.set_default_timeout(timeout_ms)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    if requests is not None:
        page.on("request", lambda r: requests.append(r.url))
    if fail_on_http_errors:
        page.on(
            "response",
            lambda r: (
                errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico")
                else None
            ),
        )
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    return ctx, page, errors


def wait_connected(page: Any, timeout_ms: int = 15000) -> None:
    """Until the page's live-status line says the socket is connected."""
    page.wait_for_function(
        f"document.getElementById('live-status').textContent.includes('{CONNECTED}')",
        timeout=timeout_ms,
    )


def open_console(
    browser: Any,
    base: str,
    username: str,
    console: str,
    *,
    phone: bool | None = None,
    timeout_ms: int = 15000,
    **options: Any,
) -> tuple[Any, Any, list[str]]:
    """Log in as USERNAME and open /console/CONSOLE, connected."""
    ctx, page, errors = login(
        browser, base, username, phone=console == "county" if phone is None else phone, **options
    )
    page.goto(f"{base}/console/{console}")
    wait_connected(page, timeout_ms)
    return ctx, page, errors


def shot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """A screenshot kept in test-artifacts/NAME.png (to be looked at, not compared)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def seen_within(page: Any, selector: str, started: float, what: str, limit_s: float) -> float:
    """Wait for SELECTOR and assert it appeared within LIMIT_S of STARTED (monotonic)."""
    page.wait_for_selector(selector, timeout=limit_s * 1000 + 500)
    elapsed = time.monotonic() - started
    assert elapsed < limit_s, f"{what}: seen after {elapsed:.2f} s"
    return elapsed
