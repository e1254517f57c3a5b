"""Issue 13: the Content Security Policy allows no inline style ('unsafe-inline' removed from
style-src).  Our templates and scripts write no style="" attribute (classes instead; scripts
colour through the CSSOM), folium's <style> blocks carry the request's nonce and its popup
sizes are a class, and stand-alone documents (the drill report, a bulletin as issued) allow
their own styles by hash.  The browser side is tests/web/test_csp_browser.py."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from tests.conftest import login

ROOT = Path(__file__).resolve().parents[2]
STYLE_ATTRIBUTE = re.compile(r"""<[a-zA-Z][^<>]*\sstyle\s*=\s*\\?["']""")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _style_src(policy: str) -> str:
    return next(d.strip() for d in policy.split(";") if d.strip().startswith("style-src"))


def test_no_template_or_script_writes_a_style_attribute():
    """Before: the nav's unread count, the notice's salutation, the map legend's swatches,
    colour bars, hail tag and history slider, the commander's exclusions, the airport icon."""
    sources = [
        *(ROOT / "command" / "templates").rglob("*.html"),
        *(ROOT / "command" / "office" / "templates").rglob("*.html"),
        *(ROOT / "static" / "js").glob("*.js"),
        ROOT / "command" / "mapview.py",
    ]
    found = []
    for path in sources:
        text = path.read_text(encoding="utf-8")
        found += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in STYLE_ATTRIBUTE.finditer(text)]
    assert found == []


def test_the_map_page_has_no_inline_style_the_policy_would_refuse(client, users, seeded):
    """Before: style-src 'unsafe-inline'; folium's <style> blocks without a nonce and its
    popups sized by style attributes."""
    login(client, users["commander"])
    resp = client.get("/")
    policy = resp.headers["Content-Security-Policy"]
    style_src = _style_src(policy)
    assert "'unsafe-inline'" not in policy and "'unsafe-hashes'" not in style_src
    nonce = re.search(r"'nonce-([^']+)'", style_src).group(1)
    page = resp.get_data(as_text=True)
    blocks = re.findall(r"<style([^>]*)>", page)
    assert blocks and all(f'nonce="{nonce}"' in attrs for attrs in blocks), blocks
    assert STYLE_ATTRIBUTE.search(page) is None
    assert "folium-popup-fill" in page
    for path in ("/login", "/console/commander", "/office"):
        assert "'unsafe-inline'" not in client.get(path).headers["Content-Security-Policy"]


def test_a_drill_report_allows_its_own_style_block_by_hash(client, users, seeded, app):
    from command.drill import create_drill, resolve_event
    from command.extensions import get_db

    with app.app_context(), get_db().session() as s:
        drill = create_drill(
            s, resolve_event(s, "canberra_20181220"), speed=60, started_by="t", auto_approve=True
        )
        s.commit()
        drill_id = drill.id
    login(client, users["commander"])
    resp = client.get(f"/api/drills/{drill_id}/report?format=html")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    (block,) = re.findall(r"<style>(.*?)</style>", page, flags=re.S)
    policy = resp.headers["Content-Security-Policy"]
    assert _style_src(policy) == f"style-src {_sha256(block)}"
    assert "default-src 'none'" in policy and "script-src" not in policy


def test_a_bulletin_as_issued_keeps_its_styles(client, users, seeded, app):
    """A bulletin's HTML is stored at issue and served as it was: its style block by hash;
    one issued before the salutation's style attribute became a class keeps that attribute,
    allowed by its hash alone ('unsafe-hashes')."""
    from command.extensions import get_db
    from command.models import BulletinRecord

    login(client, users["commander"])
    bid = client.post(
        "/api/office/bulletins", json={"kind": "notice", "title": "通知", "body": "各单位：测试。"}
    ).get_json()["id"]
    assert client.post(f"/api/office/bulletins/{bid}/issue").status_code == 200
    resp = client.get(f"/office/bulletins/{bid}.html")
    page = resp.get_data(as_text=True)
    (block,) = re.findall(r"<style>(.*?)</style>", page, flags=re.S)
    assert ".notice-paper .salutation { text-indent: 0; }" in block
    assert _style_src(resp.headers["Content-Security-Policy"]) == f"style-src {_sha256(block)}"

    with app.app_context(), get_db().session() as s:
        rec = s.get(BulletinRecord, bid)
        rec.html = rec.html.replace(
            '<p class="salutation">', '<p class="salutation" style="text-indent:0">'
        )
        s.commit()
    resp = client.get(f"/office/bulletins/{bid}.html")
    assert 'style="text-indent:0"' in resp.get_data(as_text=True)
    style_src = _style_src(resp.headers["Content-Security-Policy"])
    assert style_src == f"style-src {_sha256(block)} 'unsafe-hashes' {_sha256('text-indent:0')}"
