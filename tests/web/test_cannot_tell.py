"""Issue 14: "cannot tell" cells are threats to review — listed for the forecaster with the
reason in words (Chinese first, English with ?lang=en) and returned by the recommendations
for review, never assigned a site; an incomplete volume is said so."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conftest import login


def _feature(cell_id: str, lon: float, verdict: str, sampling: list[str], reason: str) -> dict:
    ring = [[lon, 37.50], [lon + 0.1, 37.50], [lon + 0.1, 37.58], [lon, 37.58], [lon, 37.50]]
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"id": cell_id, "centroid": [lon + 0.05, 37.54], "max_dbz": 60.0,
                           "mesh_mm": 30.0 if verdict == "hail" else 0.6, "posh_pct": 70.0,
                           "top45_km": 9.0, "vil_kgm2": 40.0, "vild_gm3": 4.0, "area_km2": 80.0,
                           "hail": verdict == "hail", "criteria": [], "verdict": verdict,
                           "sampling": sampling, "verdict_reason": reason}}


def _volume(app) -> None:
    from command.extensions import get_db
    from command.models import CellRecord, RadarVolume

    now = datetime.now(UTC).replace(microsecond=0)
    features = [
        _feature("C-H-01", 111.10, "hail", [], "6 criteria met"),
        _feature("C-R-02", 111.30, "cannot_tell", ["cone_of_silence", "sweeps_missing"],
                 "cone of silence"),
        _feature("C-N-03", 111.50, "no_hail", [], "1 of 2 criteria met"),
    ]
    with app.app_context(), get_db().session() as s:
        vol = RadarVolume(sha256="1" * 64, filename="cut.bz2", status="processed", scan_time=now,
                          radar={"lat": 37.5183, "lon": 111.1439, "alt_m": 1000.0, "complete": False,
                                 "sweeps_expected": 9, "sweeps_read": 5},
                          levels={"h0_m": 4300, "h20_m": 7600, "source": "seasonal"},
                          products={}, tracks=[])
        s.add(vol)
        s.flush()
        for f in features:
            s.add(CellRecord(volume_id=vol.id, cell_id=f["properties"]["id"], scan_time=now,
                             feature=f, hail=f["properties"]["hail"]))
        s.commit()


def test_forecaster_sees_cannot_tell_cells_for_review_with_the_reason_in_words(app, client, users, seeded):
    _volume(app)
    login(client, users["forecaster"])
    data = client.get("/api/cells/latest").get_json()
    assert [c["cell_id"] for c in data["cells"]] == ["C-H-01", "C-R-02", "C-N-03"]
    review = data["cells"][1]
    assert review["verdict"] == "cannot_tell" and review["hail"] is False
    assert "静锥区" in review["verdict_reason_text"] and "缺少仰角" in review["verdict_reason_text"]
    assert review["verdict_text"] == "无法判断——需人工核实"
    assert data["complete"] is False and (data["sweeps_read"], data["sweeps_expected"]) == (5, 9)
    english = client.get("/api/cells/latest?lang=en").get_json()["cells"][1]
    assert "cone of silence" in english["verdict_reason_text"]


def test_recommendations_list_cannot_tell_cells_to_review_and_never_assign_them(app, client, users, seeded):
    _volume(app)
    login(client, users["commander"])
    data = client.get("/api/recommendations").get_json()
    assert [r["cell_id"] for r in data["to_review"]] == ["C-R-02"]
    assert data["to_review"][0]["sampling"] == ["cone_of_silence", "sweeps_missing"]
    assert all(r["cell_id"] != "C-R-02" for r in data["recommendations"])
    assert all(c["cell_id"] != "C-R-02" for c in data["cells"])
    assert {c["cell_id"] for c in data["cells"]} == {"C-H-01"}
