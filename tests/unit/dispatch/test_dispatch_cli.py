"""``hailops dispatch recommend CELLS.geojson [--at ISO_TIME]`` on a file made here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dispatch.cli import recommend_main
from sites.deployment import load_deployment
from sites.geometry import destination
from sites.model import Readiness


def collection(features: list[dict[str, Any]], **props: Any) -> dict[str, Any]:
    properties = {"scan_time": "2026-07-01T08:00:00Z", "h0_m": 4200.0, "h20_m": 6800.0,
                  "levels_source": "sounding:test"}  # fmt: skip
    properties.update(props)
    return {"type": "FeatureCollection", "properties": properties, "features": features}


def feature(cell_id: str, lon: float, lat: float, **props: Any) -> dict[str, Any]:
    d = 0.03
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat - d]]
    properties = {"id": cell_id, "centroid": [lon, lat], "area_km2": 60.0, "max_dbz": 61.0,
                  "top45_km": 9.2, "mesh_mm": 32.0, "posh_pct": 75.0, "hail": True,
                  "criteria": ["mesh", "posh"]}  # fmt: skip
    properties.update(props)
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": properties}  # fmt: skip


@pytest.fixture(scope="module")
def target() -> tuple[str, float, float]:
    """A ready site of the deployment and a point 3 km out along the middle of its sector."""
    site = next(
        s for s in load_deployment().sites
        if s.readiness == Readiness.READY and s.code.startswith("FY")
    )  # fmt: skip
    sector = site.equipment[0].sectors[0]
    width = (sector.end_deg - sector.start_deg) % 360 or 360
    lat, lon = destination(site.lat, site.lon, sector.start_deg + width / 2, 3.0)
    return site.code, lon, lat


def write(tmp_path: Path, document: Any) -> str:
    path = tmp_path / "cells.geojson"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def test_recommends_the_site_next_to_the_cell(
    tmp_path: Path, target: tuple[str, float, float], capsys: pytest.CaptureFixture[str]
) -> None:
    code, lon, lat = target
    path = write(tmp_path, collection([feature("C7", lon, lat, speed_mps=0.0, direction_deg=0.0)]))
    assert recommend_main([path, "--at", "2026-07-01T08:03:00Z"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["at"] == "2026-07-01T08:03:00Z"
    assert out["seeding_layer_m"]["source"] == "sounding:test"
    recs = [r for r in out["recommendations"] if r["site_code"] == code]
    assert recs and recs[0]["cell_id"] == "C7"
    assert set(recs[0]) >= {"window_start", "window_end", "azimuth_deg", "elevation_deg",
                            "ammunition", "reasons"}  # fmt: skip
    assert recs[0]["window_start"] == "2026-07-01T08:03:00Z"
    assert out["cells"][0]["cell_id"] == "C7" and "excluded" in out["cells"][0]


def test_nowcast_list_moves_the_cell(
    tmp_path: Path, target: tuple[str, float, float], capsys: pytest.CaptureFixture[str]
) -> None:
    code, lon, lat = target
    nowcast = [{"lead_min": 30, "centroid": [lon, lat]}, {"lead_min": 60, "centroid": [lon, lat]}]
    far = feature("C8", lon - 0.5, lat, nowcast=nowcast)
    assert recommend_main([write(tmp_path, collection([far]))]) == 0
    out = json.loads(capsys.readouterr().out)
    (cell,) = out["cells"]
    cand = next(c for c in cell["candidates"] if c["site_code"] == code)
    assert cand["window_start"] > "2026-07-01T08:15:00Z"


def test_missing_levels_fall_back_to_seasonal_and_say_so(
    tmp_path: Path, target: tuple[str, float, float], capsys: pytest.CaptureFixture[str]
) -> None:
    _, lon, lat = target
    doc = collection([feature("C9", lon, lat)], h0_m=None, h20_m=None)
    assert recommend_main([write(tmp_path, doc)]) == 0
    assert "seasonal-default" in json.loads(capsys.readouterr().out)["seeding_layer_m"]["source"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "not valid JSON"),
        ([], "not a GeoJSON FeatureCollection"),
        ({"type": "FeatureCollection", "features": []}, "scan_time"),
        (collection([{"type": "Feature", "properties": {"id": "X"}}]), "cell contract"),
        (collection([feature("C1", 111.2, 37.5, speed_mps="fast", direction_deg=0)]), "speed_mps"),
        (collection([feature("C1", 111.2, 37.5)], h0_m=7000, h20_m=4000), "must be above"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, content: Any, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cells.geojson"
    if content is not None:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    assert recommend_main([str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and message in lines[0], lines


def test_bad_options_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, collection([]))
    assert recommend_main([path, "--at", "yesterday"]) == 2
    assert recommend_main([]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 2
