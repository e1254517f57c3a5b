"""Issue 11: one language.  Every console, the readiness and restock screen and the map (also
embedded in a console), crawled in Chinese with live cells, an operation in flight and a firing
violation on screen — and again inside a drill — must show no English sentence, no English
word outside a small allowlist (units, ICAO codes, product names), no raw snake_case code, no
ISO UTC time and no generic stand-in for a reason that could not be worded.  Folded details
(excluded sites and their reasons) are opened, and the embedded map's frame is read too."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.web.api_client import Api, live_server_with_api
from tests.web.browser import ARTIFACTS, browser, login  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = [
    ("forecaster", "/console/forecaster"),
    ("commander", "/console/commander"),
    ("atc", "/console/atc"),
    ("military", "/console/military"),
    ("lishi", "/console/county"),
    ("member", "/console/member"),
    ("commander", "/console/sites"),
    ("commander", "/"),
    ("admin", "/admin/drills"),
]
#: The same consoles inside a drill (``?drill=ID``), and the drill's map.
DRILL_PAGES = [
    ("forecaster", "/console/forecaster"),
    ("commander", "/console/commander"),
    ("atc", "/console/atc"),
    ("military", "/console/military"),
    ("lishi", "/console/county"),
    ("member", "/console/member"),
    ("commander", "/"),
    ("admin", "/admin/drills"),
]
#: What stands in for a reason or label the catalogue could not word (never on screen).
GENERIC = ("其他原因", "详见英文界面")

#: Latin words allowed in the Chinese UI: units, product and standard names, codes of the
#: airport, the language switch, and sample data markers in the registry's own strings.
ALLOWED = {
    "dBZ",
    "MESH",
    "POSH",
    "VIL",
    "km",
    "mm",
    "ZBLL",
    "ICAO",
    "QX",
    "JSON",
    "CAP",
    "English",
    "WR",
    "BL",
    "JFJ",
    "LS",
    "FS",
    "SAMPLE",
    "hailops",
    "OP",
    "BJT",
    "Dawu",
    "VILD",
    "XML",
    "min",
    "Leaflet",
    "PDF",
    # radar station names in drill event titles (e.g. the KHTX event)
    "KHTX",
    # the sample registry's own marker in liaison titles ("联络员 liaison (SAMPLE)")
    "liaison",
}
#: Login names of the demo accounts (identities, not UI language; they have no display name).
ACCOUNTS = {"commander", "atc", "military", "forecaster", "member", "admin", "lishi"}
WORD = re.compile(r"[A-Za-z]{3,}")
CODE = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b")
ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def offending(text: str) -> list[str]:
    """The English words, raw codes and ISO times in a page's visible text."""
    found = [w for w in WORD.findall(text) if w not in ALLOWED]
    found += CODE.findall(text)
    found += ISO_UTC.findall(text)
    found += [g for g in GENERIC if g in text]
    return found


def test_offending_detects_what_the_user_found() -> None:
    """The crawl's own check: the strings the new user reported are caught."""
    assert offending("rounds reach 6500 m, above the cleared ceiling 6000 m")
    assert offending("火箭弹 rocket_wr98") == ["rocket", "rocket_wr98"]
    assert offending("依据 2026-07-01T08:30:00Z") == ["2026-07-01T08:30"]
    assert offending("射高 6500 m · 45 dBZ · MESH 30 mm · ZBLL") == []
    assert offending("LS-02: 其他原因（详见英文界面）") == ["其他原因", "详见英文界面"]
    assert offending("演练 DRILL 12-20 14:06") == ["DRILL"]
    assert offending("演练 · canberra_20181220") == ["canberra", "canberra_20181220"]


API: dict[str, Api] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server_with_api(tmp_path_factory.mktemp("crawl")) as (base, api):
        API["api"] = api
        yield base


def _page_text(page) -> str:
    """What a person can read: the page with its folded details opened, and its frames."""
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    texts = [page.evaluate("document.body.innerText")]
    for frame in page.frames[1:]:
        texts.append(frame.evaluate("document.body ? document.body.innerText : ''"))
    return "\n".join(texts)


def _crawl(browser, base, pages, query, tag):  # noqa: F811
    problems = {}
    for username, path in pages:
        ctx, page = _login(browser, base, username)
        page.goto(base + path + query)
        page.wait_for_timeout(3000)  # live loads, first render, clocks ticking, frames
        ARTIFACTS.mkdir(exist_ok=True)
        name = path.strip("/").replace("/", "_") or "map"
        page.screenshot(path=str(ARTIFACTS / f"crawl_{tag}{username}_{name}.png"), full_page=True)
        if path == "/":
            # one layer control, colour bars for the radar products, metric scale only
            page.wait_for_selector("#product-scales [data-scale=reflectivity]", timeout=30000)
            assert page.locator(".leaflet-control-layers").count() == 1
            assert page.locator(".leaflet-control-scale-line").count() == 1
        # the user's own login name is an identifier, not UI language
        bad = [w for w in offending(_page_text(page)) if w not in ACCOUNTS]
        if bad:
            problems[path + query] = sorted(set(bad))
        ctx.close()
    return problems


def _login(browser, base, username):  # noqa: F811
    ctx, page, _ = login(browser, base, username, locale="zh-CN")
    page.goto(base + "/lang/zh")
    return ctx, page


def test_every_console_and_the_map_speak_chinese(server, browser):  # noqa: F811
    # An operation in flight, so that states, clocks, aims and ammunition are on screen.
    ctx, cmd = _login(browser, server, "commander")
    cmd.goto(server + "/console/commander")
    cmd.wait_for_function(
        "document.getElementById('live-status').textContent.includes('实时连接正常')", timeout=15000
    )
    cmd.select_option("#pf-site", "LS-01")
    cmd.click("#pf-submit")
    try:
        cmd.wait_for_selector("#ops-body tr[data-state=proposed]", timeout=5000)
    except Exception:
        cmd.screenshot(path=str(ARTIFACTS / "crawl_debug.png"), full_page=True)
        raise AssertionError(cmd.evaluate("document.getElementById('toasts').innerText")) from None
    row = cmd.locator("#ops-body tr[data-state=proposed]").first
    row.locator("button[data-action=authorize]").click()
    cmd.wait_for_selector(
        "#ops-body tr[data-state=authorized] button[data-action=request-clearance]"
    )
    cmd.locator("#ops-body tr[data-state=authorized] button[data-action=request-clearance]").click()
    cmd.wait_for_selector("#ops-body tr[data-state=clearance_requested]", timeout=5000)
    ctx.close()

    # A firing violation on screen (a report that starts before the order was given).
    api = API["api"]
    now = datetime.now(UTC).replace(microsecond=0)
    op = api.operation("LS-03", now, until="firing")
    api(
        "lishi",
        "POST",
        f"/api/operations/{op}/report",
        {
            "started_at": (now - timedelta(minutes=30)).isoformat(),
            "ended_at": datetime.now(UTC).isoformat(),
            "rounds": {"37mm_shell": 6},
            "observation": "hail",
        },
    )
    assert api("lishi", "GET", f"/api/operations/{op}")["violations"]

    assert _crawl(browser, server, PAGES, "", "") == {}


def test_every_console_and_the_map_speak_chinese_inside_a_drill(server, browser):  # noqa: F811
    drill, _state = API["api"].running_drill()
    assert _crawl(browser, server, DRILL_PAGES, f"?drill={drill}", "drill_") == {}
    API["api"]("admin", "POST", f"/api/drills/{drill}/stop", {})
