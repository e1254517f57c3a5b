"""Issue 11 and the issue 10 leftover, driven in headless Chromium in Chinese against a real
`hailops run` server with live cells: the commander sees the live map with its cells beside
the work (under the real Content Security Policy), and a drill console frames the drill's map;
a restock on the readiness and restock screen raises the stock on the commander's board; the
county phone's firing report keeps a sane, typed end time and refuses one before the start;
the commander's alerts are still listed after a reload, live and inside a drill (drill time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from command.timefmt import BEIJING
from tests.web.api_client import Api, live_server_with_api
from tests.web.browser import CONNECTED, browser, login, shot  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]

API: dict[str, Api] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server_with_api(tmp_path_factory.mktemp("post")) as (base, api):
        API["api"] = api
        yield base


def _call(base, who, method, path, body=None):
    return API["api"](who, method, path, body)


def _operation(base, site, now, *, drill=None, until="requested"):
    return API["api"].operation(site, now, drill=drill, until=until)


def _login(browser, base, username, *, phone=False, real_csp=False):  # noqa: F811
    """Logged in, in Chinese; page errors and (under the real policy) CSP violations are
    collected in the returned list."""
    ctx, page, problems = login(
        browser,
        base,
        username,
        phone=phone,
        bypass_csp=not real_csp,
        locale="zh-CN",
        timeout_ms=60000,
    )
    page.on(
        "console",
        lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(base + "/lang/zh")
    return ctx, page, problems


def _shot(page, name):
    shot(page, f"post_{name}")


def _connected(page):
    page.locator("#live-status", has_text=CONNECTED).wait_for()


def test_commander_sees_the_map_with_cells_beside_the_work(server, browser):  # noqa: F811
    # Under the real policy: the console frames the map (same origin only), no violation.
    ctx, page, problems = _login(browser, server, "commander", real_csp=True)
    page.goto(server + "/console/commander")
    _connected(page)
    frame = page.frame_locator("#map-panel iframe.map-frame")
    frame.locator("#volume-label", has_text="冰雹单体").wait_for(timeout=30000)
    frame.locator("#live-status", has_text=CONNECTED).wait_for()
    cells = frame.locator(".leaflet-overlay-pane path.leaflet-interactive").count()
    assert cells > 20, cells  # counties, sites and the live volume's cells and tracks
    assert frame.locator(".topbar").count() == 0  # embedded: no second top bar
    assert "雷达体扫" in frame.locator("#volume-label").text_content()
    box = page.locator("#map-panel iframe").bounding_box()
    ops = page.locator("#ops-panel").bounding_box()
    assert box["x"] > ops["x"] + ops["width"] - 5 and box["height"] >= 400  # beside the work
    _shot(page, "commander_map")
    assert problems == []
    # The forecaster's map beside the cell table.
    fctx, fc, fproblems = _login(browser, server, "forecaster", real_csp=True)
    fc.goto(server + "/console/forecaster")
    fc.frame_locator("#map-panel iframe").locator("#volume-label", has_text="冰雹单体").wait_for(
        timeout=30000
    )
    _shot(fc, "forecaster_map")
    assert fproblems == []
    fctx.close()
    ctx.close()


def _running_drill(base):
    return API["api"].running_drill()


def test_alerts_are_still_listed_after_a_reload_live_and_in_a_drill(server, browser):  # noqa: F811
    now = datetime.now(UTC).replace(microsecond=0)
    op = _operation(server, "JC-01", now)
    _call(server, "atc", "POST", f"/api/operations/{op}/deny", {"reason": "航路繁忙"})
    ctx, page, problems = _login(browser, server, "commander")
    page.goto(server + "/console/commander")
    _connected(page)
    alert = page.locator("#alerts li[data-kind=deny]", has_text="JC-01 空域申请被拒绝：航路繁忙")
    alert.wait_for()
    stamp = alert.locator(".muted").text_content()
    # A new alert arrives live, then the page is reloaded: both are still listed.
    op2 = _operation(server, "JC-02", now)
    _call(server, "military", "POST", f"/api/operations/{op2}/deny", {"reason": "军航活动"})
    page.locator("#alerts li", has_text="JC-02 空域申请被拒绝：军航活动").wait_for(timeout=5000)
    page.reload()
    _connected(page)
    page.locator("#alerts li", has_text="JC-02 空域申请被拒绝：军航活动").wait_for(timeout=5000)
    again = page.locator("#alerts li[data-kind=deny]", has_text="JC-01 空域申请被拒绝：航路繁忙")
    assert again.locator(".muted").text_content() == stamp
    _shot(page, "alerts_after_reload")

    # Inside a drill: the drill's alerts only, stamped on the drill clock (the event's own
    # afternoon, Beijing time), and still there after a reload.
    drill, state = _running_drill(server)
    drill_now = datetime.fromisoformat(state["drill"]["drill_time"])
    dop = _operation(server, "LS-02", drill_now, drill=drill)
    denied = _call(
        server,
        "atc",
        "POST",
        f"/api/operations/{dop}/deny?drill={drill}",
        {"reason": "演练：空域繁忙"},
    )
    expected = datetime.fromisoformat(denied["history"][-1]["at"]).astimezone(BEIJING)
    page.goto(f"{server}/console/commander?drill={drill}")
    _connected(page)
    line = page.locator("#alerts li", has_text="LS-02 空域申请被拒绝：演练：空域繁忙")
    line.wait_for()
    assert line.locator(".muted").text_content() == expected.strftime("%H:%M:%S")
    assert page.locator("#alerts li", has_text="航路繁忙").count() == 0  # nothing live
    # The drill console frames the drill's map: its volume is the drill's, never live.
    frame = page.frame_locator("#map-panel iframe")
    frame.locator("#volume-label", has_text="演练数据").wait_for(timeout=60000)
    assert "2018" in frame.locator("#volume-label").text_content()
    assert frame.locator(".legend", has_text="作业点状态").count() == 0  # no live readiness
    page.reload()
    _connected(page)
    line.wait_for(timeout=10000)
    assert line.locator(".muted").text_content() == expected.strftime("%H:%M:%S")
    _shot(page, "drill_alerts_after_reload")
    _call(server, "admin", "POST", f"/api/drills/{drill}/stop", {})
    assert problems == []
    ctx.close()


def test_restock_raises_the_stock_on_the_commanders_board(server, browser):  # noqa: F811
    ctx, board, problems = _login(browser, server, "commander")
    board.goto(server + "/console/commander")
    _connected(board)
    row = board.locator("#board-body tr[data-site='ZY-01']")
    row.wait_for()
    assert row.get_attribute("data-readiness") == "out_of_ammunition"  # fired empty (sample data)
    screen = ctx.new_page()
    screen.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    screen.goto(server + "/console/sites")
    _connected(screen)
    site = screen.locator("#sites-body tr[data-site='ZY-01']")
    site.wait_for()
    assert "弹药耗尽" in site.text_content()
    total_before = int(screen.locator("#stock-body tr[data-type='37mm_shell'] td b").text_content())
    # The ammunition names come from the vocabulary (Chinese, never the raw code).
    options = site.locator("select[name=ammo_type] option").all_text_contents()
    assert "37mm 炮弹" in options and not any("_" in o for o in options)
    site.locator("select[name=ammo_type]").select_option("37mm_shell")
    site.locator("input[name=count]").fill("60")
    site.locator("button[type=submit]").click()
    # Live on the commander's board: the stock and the site ready again.
    board.locator("#board-body tr[data-site='ZY-01'][data-readiness=ready]").wait_for(timeout=5000)
    assert "37mm 炮弹 60" in row.text_content() and "就绪" in row.text_content()
    screen.locator("#sites-body tr[data-site='ZY-01'][data-readiness=ready]").wait_for()
    assert (
        int(screen.locator("#stock-body tr[data-type='37mm_shell'] td b").text_content())
        == total_before + 60
    )
    _shot(screen, "restock_screen")
    _shot(board, "restock_board")
    # Readiness set by hand on the screen reaches the board too.
    screen.locator("#sites-body tr[data-site='ZY-01'] select.set-readiness").select_option(
        "standby"
    )
    board.locator("#board-body tr[data-site='ZY-01'][data-readiness=standby]").wait_for(
        timeout=5000
    )
    assert problems == []
    ctx.close()


def _bjt_seconds(hms: str) -> int:
    h, m, s = (int(x) for x in hms.split(":"))
    return h * 3600 + m * 60 + s


def test_county_report_end_time_is_sane_kept_and_checked(server, browser):  # noqa: F811
    now = datetime.now(UTC).replace(microsecond=0)
    op = _operation(server, "LS-01", now, until="firing")
    ctx, ls, problems = _login(browser, server, "lishi", phone=True)
    ls.goto(server + "/console/county")
    _connected(ls)
    form = ls.locator(f"article.order-card[data-op='{op}'] form.report-form")
    form.wait_for()
    start = form.locator("input[name=start]").input_value()
    ls.wait_for_timeout(3000)
    # The end defaults to now (Beijing time) and follows the clock until typed; never before
    # the start.
    end = form.locator("input[name=end]").input_value()
    bjt_now = datetime.now(UTC).astimezone(BEIJING).strftime("%H:%M:%S")
    assert abs(_bjt_seconds(end) - _bjt_seconds(bjt_now)) <= 1, (end, bjt_now)
    assert _bjt_seconds(end) >= _bjt_seconds(start)
    # A start later than the page's clock (a phone whose clock lags the server's): the
    # default end is not before it.
    later = (datetime.now(UTC) + timedelta(seconds=30)).astimezone(BEIJING).strftime("%H:%M:%S")
    form.locator("input[name=start]").fill(later)
    ls.wait_for_timeout(1500)
    assert form.locator("input[name=end]").input_value() == later
    form.locator("input[name=start]").fill(start)
    # An end typed before the start is refused in Chinese, and what was typed stays.
    before_start = (
        (datetime.fromisoformat(now.isoformat()) - timedelta(minutes=5))
        .astimezone(BEIJING)
        .strftime("%H:%M:%S")
    )
    form.locator("input[name=end]").fill(before_start)
    form.locator("input[name='rounds:37mm_shell']").fill("6")
    form.locator("button[type=submit]").click()
    error = form.locator(".field-error")
    error.wait_for()
    assert "结束时间" in error.text_content() and "早于开始时间" in error.text_content()
    _shot(ls, "county_end_before_start")
    ls.wait_for_timeout(1500)
    assert form.locator("input[name=end]").input_value() == before_start  # never replaced
    assert _call(server, "lishi", "GET", f"/api/operations/{op}")["state"] == "firing"
    # A live re-render (another order for Lishi comes in) keeps the typed end.
    end_typed = datetime.now(UTC).astimezone(BEIJING).strftime("%H:%M:%S")
    form.locator("input[name=end]").fill(end_typed)
    assert error.is_hidden()  # the message goes once the times are right
    other = _operation(server, "LS-03", datetime.now(UTC), until="ordered")
    ls.locator(f"article.order-card[data-op='{other}']").wait_for(timeout=5000)
    ls.wait_for_timeout(1500)
    assert form.locator("input[name=end]").input_value() == end_typed
    _call(server, "commander", "POST", f"/api/operations/{other}/recall", {"reason": "测试结束"})
    form.locator("button[type=submit]").click()
    ls.locator(f"article.order-card[data-op='{op}'] .report-filed").wait_for()
    report = _call(server, "lishi", "GET", f"/api/operations/{op}")["report"]
    assert (
        datetime.fromisoformat(report["ended_at"]).astimezone(BEIJING).strftime("%H:%M:%S")
        == end_typed
    )
    _shot(ls, "county_report_filed")
    # The refusal is answered by the report: its error toast goes with it (errors stay
    # until dismissed or until the same action succeeds), clear of the station's stock.
    assert ls.locator("#toasts .toast-error").count() == 0
    # On the phone the top bar grows with its wrapped line instead of covering the title.
    bar = ls.locator("header.topbar").bounding_box()
    title = ls.locator(".console-head h1").bounding_box()
    logout = ls.locator("header.topbar .logout button").bounding_box()
    assert logout["y"] + logout["height"] <= bar["y"] + bar["height"] + 0.5
    assert bar["y"] + bar["height"] <= title["y"]
    assert problems == []
    ctx.close()
