"""Issue 13 (hardening), imports: formula-leading cells are rejected at import and neutralised
at export (CSV and GeoJSON); re-importing a row never changes a site's stock, which moves
only through the ammunition ledger."""

from __future__ import annotations

import csv
import io
import json

import pytest

from sites.registry import is_formula, neutralise
from tests.conftest import login


@pytest.mark.parametrize("text,formula", [
    ("=HYPERLINK(\"http://evil.example\",\"x\")", True), ("+SUM(A1:A3)", True),
    ("-2+3+cmd|' /C calc'!A0", True), ("@SUM(1)", True), ("+86 138 0000 0000", False),
    ("-12.5", False), ("离石区 1 号作业点", False), ("LS-01", False), ("", False),
])
def test_formula_cells_are_recognised(text, formula):
    assert is_formula(text) is formula
    assert neutralise(text) == ("'" + text if formula else text)


def _feature_collection(client):
    return client.get("/api/sites/export").get_json()


def test_geojson_and_csv_imports_reject_formula_names(client, users, seeded):
    """Finding: the site import accepted `=HYPERLINK(…)` as a name and exported it as is."""
    login(client, "admin")
    before = client.get("/api/sites").get_json()["sites"]
    doc = _feature_collection(client)
    doc["features"][0]["properties"]["name"] = '=HYPERLINK("http://evil.example","点此")'
    doc["features"][1]["properties"]["contacts"] = [{"name": "@SUM(1)", "phone": "+86 1"}]
    resp = client.post("/api/sites/import", data=json.dumps(doc), content_type="application/json")
    assert resp.status_code == 422
    fields = {d["field"] for d in resp.get_json()["details"]}
    assert "name" in fields
    assert any(f.startswith("contacts[") and f.endswith("].name") for f in fields)
    text = client.get("/api/sites/export?format=csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    rows[1][1] = "=1+1"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    resp = client.post("/api/sites/import", data=out.getvalue(), content_type="text/csv")
    assert resp.status_code == 422 and resp.get_json()["details"][0]["field"] == "name"
    assert client.get("/api/sites").get_json()["sites"] == before


def test_exports_neutralise_formula_cells_already_stored(app, client, users, seeded):
    from command.extensions import get_db
    from command.models import SiteRecord

    with app.app_context(), get_db().session() as s:
        s.get(SiteRecord, "LS-01").name = "=HYPERLINK(\"http://evil.example\")"
        s.commit()
    login(client, "commander")
    rows = list(csv.reader(io.StringIO(
        client.get("/api/sites/export?format=csv").get_data(as_text=True))))
    names = {r[0]: r[1] for r in rows[1:]}
    assert names["LS-01"] == "'=HYPERLINK(\"http://evil.example\")"
    feature = next(f for f in _feature_collection(client)["features"] if f["id"] == "LS-01")
    assert feature["properties"]["name"].startswith("'=")


def test_reimporting_an_older_row_never_changes_the_stock(client, users, seeded):
    """Finding: re-importing an older row silently reset a stock from 133 to 15."""
    login(client, "admin")
    older = _feature_collection(client)
    props = next(f for f in older["features"] if f["id"] == "LS-01")["properties"]
    ammo_type, old_count = next(iter(props["ammunition"].items()))
    login(client, "commander")
    restocked = client.post("/api/sites/LS-01/restock", json={"ammo_type": ammo_type, "count": 118})
    assert restocked.status_code == 200
    now = restocked.get_json()["stock"][ammo_type]
    assert now == old_count + 118
    login(client, "admin")
    resp = client.post("/api/sites/import", data=json.dumps(older), content_type="application/json")
    assert resp.status_code == 200
    assert {"code": "LS-01", "ammo_type": ammo_type, "in_file": old_count,
            "in_ledger": now} in resp.get_json()["stock_not_changed"]
    assert client.get("/api/sites/LS-01").get_json()["ammunition"][ammo_type] == now
