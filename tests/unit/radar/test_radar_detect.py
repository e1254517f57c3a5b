"""detect_volume on synthetic radars with planted storms whose products are known by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from radar.config import DetectionConfig
from radar.detect import detect_volume, geojson_to_cells, volume_to_geojson
from radar.levels import levels_from_values
from tests.unit.radar.radar_factories import Storm, make_storm_radar

CONFIG = DetectionConfig(max_range_km=80.0)
E60 = 5e-6 * 10 ** (0.084 * 60)  # W(60) = 1


@pytest.fixture(scope="module")
def storm_radar():
    """60 dBZ from the ground to 10 km ASL, 8 km radius, 30 km east of a 200 m radar."""
    return make_storm_radar([Storm(30.0, 0.0, 8.0, 60.0, top_m=10000.0)])


def test_uniform_core_gives_the_analytic_shi_mesh_and_posh(storm_radar) -> None:
    """Issue 3: SHI of a uniform 60 dBZ column between known heights, computed by hand."""
    levels = levels_from_values(4000.0, 7000.0)
    result = detect_volume(storm_radar, levels, CONFIG)
    assert len(result.cells) == 1
    cell = result.cells[0]
    shi = 0.1 * E60 * ((7000 - 4000) / 2 + (10000 - 7000))  # ∫ W_T dH from H0 to top
    # Discretisation only, and upward: the top sample's layer reaches half a sweep spacing
    # above it (0.5° ≈ 170 m at 38 km, the storm's far edge), and a strong gate anywhere in
    # a 1 km pixel raises that pixel's sample (up to ~0.7 km × tan 18° ≈ 230 m higher near
    # the top); the cell maximum picks the most favourable column.
    assert shi <= cell.shi <= shi * 1.10
    assert 2.54 * math.sqrt(shi) <= cell.mesh_mm <= 2.54 * math.sqrt(shi * 1.10)
    # The column over the storm centre (30 km east) is closer still.
    centre = result.grids.shi[np.searchsorted(result.y_m, 0.0), np.searchsorted(result.x_m, 30e3)]
    assert centre == pytest.approx(shi, rel=0.05)
    wt = 57.5 * (4000 - 200) / 1000 - 121
    posh = 29 * math.log(shi / wt) + 50
    assert cell.posh_pct == round(posh / 10) * 10
    assert cell.top45_km == pytest.approx(10.0, abs=0.3)
    vil = 3.44e-6 * (1e6) ** (4 / 7) * (10000 - 200)
    assert cell.vil_kgm2 == pytest.approx(vil, rel=0.05)
    assert cell.hail and "mesh>=19mm" in cell.criteria and "posh>=50%" in cell.criteria
    assert cell.poh_pct == 100.0
    # Geometry: a disc of radius 8 km east of the radar.
    assert cell.area_km2 == pytest.approx(math.pi * 8**2, rel=0.1)
    lon, lat = cell.centroid
    assert lon > result.radar.lon and lat == pytest.approx(result.radar.lat, abs=0.02)
    assert cell.max_dbz == 60.0


def test_low_freezing_level_keeps_posh_high() -> None:
    """H0 below 2.1 km ASL over a high radar: WT is referenced to the radar and floored at 20."""
    radar = make_storm_radar([Storm(30.0, 0.0, 8.0, 60.0, top_m=10000.0)], alt_m=1383.0)
    result = detect_volume(radar, levels_from_values(1800.0, 4800.0), CONFIG)
    cell = result.cells[0]
    assert cell.posh_pct == 100.0
    shi = 0.1 * E60 * (1500 + 5200)
    assert shi <= cell.shi <= shi * 1.10


def test_freezing_level_above_the_storm_gives_no_hail_energy(storm_radar) -> None:
    result = detect_volume(storm_radar, levels_from_values(10500.0, 12000.0), CONFIG)
    cell = result.cells[0]
    assert cell.shi == 0.0 and cell.mesh_mm == 0.0 and cell.posh_pct == 0.0
    assert "mesh>=19mm" not in cell.criteria


def test_too_few_elevations_give_cells_without_hail_products() -> None:
    radar = make_storm_radar([Storm(-20.0, 10.0, 6.0, 58.0)], elevations=(0.5, 1.5))
    result = detect_volume(radar, levels_from_values(4000.0, 7000.0), CONFIG)
    assert result.mesh_mm is None
    assert "2 distinct elevation" in result.unavailable_reason
    (cell,) = result.cells
    assert cell.mesh_mm is None and cell.shi is None and cell.top45_km is None
    assert cell.unavailable_reason == result.unavailable_reason
    assert cell.hail is False and cell.criteria == ("composite>=55dBZ",)
    assert cell.centroid[0] < result.radar.lon


def test_split_cuts_count_as_one_elevation_and_field_names_are_resolved() -> None:
    radar = make_storm_radar(
        [Storm(20.0, 20.0, 5.0, 55.0)], elevations=(0.5, 0.5, 1.5, 1.5, 2.5), field_name="DBZH"
    )
    result = detect_volume(radar, levels_from_values(4000.0, 7000.0), CONFIG)
    assert result.grids.n_elevations == 3
    assert result.unavailable_reason is None
    assert len(result.cells) == 1


def test_two_storms_are_two_cells_ordered_by_max_dbz() -> None:
    radar = make_storm_radar(
        [Storm(30.0, 0.0, 6.0, 55.0), Storm(-30.0, 0.0, 6.0, 65.0)], elevations=(0.5, 1.5, 2.5, 4.0)
    )
    result = detect_volume(radar, levels_from_values(4000.0, 7000.0), CONFIG)
    assert [c.max_dbz for c in result.cells] == [65.0, 55.0]
    assert [c.id for c in result.cells] == ["C20240615T083000-01", "C20240615T083000-02"]
    assert result.cells[0].centroid[0] < result.radar.lon < result.cells[1].centroid[0]


def test_geojson_contract_and_round_trip(storm_radar) -> None:
    levels = levels_from_values(4000.0, 7000.0, source="cli")
    result = detect_volume(storm_radar, levels, CONFIG)
    fc = json.loads(json.dumps(volume_to_geojson(result), allow_nan=False))
    props = fc["properties"]
    assert fc["type"] == "FeatureCollection"
    assert set(props["radar"]) >= {"lat", "lon", "alt_m"}
    assert props["scan_time"] == "2024-06-15T08:30:00Z"
    assert (props["h0_m"], props["h20_m"], props["levels_source"]) == (4000.0, 7000.0, "cli")
    (feature,) = fc["features"]
    assert feature["geometry"]["type"] == "Polygon"
    ring = feature["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) >= 4
    required = {
        "id", "centroid", "area_km2", "max_dbz", "top45_km", "vil_kgm2", "vild_gm3", "shi",
        "posh_pct", "mesh_mm", "poh_pct", "hail", "criteria",
    }  # fmt: skip
    assert required <= set(feature["properties"])
    assert isinstance(feature["properties"]["hail"], bool)
    (cell,) = geojson_to_cells(fc)
    original = result.cells[0]
    assert cell.id == original.id and cell.scan_time == original.scan_time
    assert cell.mesh_mm == pytest.approx(original.mesh_mm, abs=0.05)
    assert cell.criteria == original.criteria and cell.hail == original.hail
    assert len(cell.polygon) == len(original.polygon)


def test_unavailable_values_are_null_in_geojson() -> None:
    radar = make_storm_radar([Storm(-20.0, 10.0, 6.0, 58.0)], elevations=(0.5,))
    fc = volume_to_geojson(detect_volume(radar, levels_from_values(4000.0, 7000.0), CONFIG))
    props = fc["features"][0]["properties"]
    for key in ("top45_km", "vil_kgm2", "vild_gm3", "shi", "posh_pct", "mesh_mm", "poh_pct"):
        assert props[key] is None
    assert props["unavailable_reason"]


def test_overlays_are_written_with_bounds(storm_radar, tmp_path: Path) -> None:
    result = detect_volume(storm_radar, levels_from_values(4000.0, 7000.0), CONFIG)
    written = result.write_overlays(tmp_path)
    (south, west), (north, east) = written["reflectivity"]["bounds"]
    assert south < result.radar.lat < north and west < result.radar.lon < east
    assert Path(written["reflectivity"]["path"]).stat().st_size > 0
    assert Path(written["mesh"]["path"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    image = matplotlib.image.imread(written["mesh"]["path"])
    assert image.shape[2] == 4 and 0 < np.count_nonzero(image[..., 3]) < image[..., 3].size // 50


def test_overlay_resampling_cache_is_per_radar_grid(tmp_path: Path) -> None:
    """The Web Mercator resampling index is cached (issue 12: it was most of an overlay's
    cost, on every volume); a radar elsewhere, or another grid, must never reuse another's."""
    import radar.detect as detect

    levels = levels_from_values(4000.0, 7000.0)
    here = make_storm_radar([Storm(20.0, 10.0, 8.0, 60.0)])
    there = make_storm_radar([Storm(20.0, 10.0, 8.0, 60.0)], lat=38.4, lon=112.9)
    coarse = DetectionConfig(grid_resolution_m=2000.0)
    results = [
        detect_volume(here, levels, CONFIG),
        detect_volume(there, levels, CONFIG),
        detect_volume(here, levels, coarse),
    ]
    cached = [r.write_overlays(tmp_path / f"cached{i}") for i, r in enumerate(results)]
    fresh = []
    for i, r in enumerate(results):
        detect._mercator_index.cache_clear()
        fresh.append(r.write_overlays(tmp_path / f"fresh{i}"))
    for a, b in zip(cached, fresh, strict=True):
        for kind in ("reflectivity", "mesh"):
            assert Path(a[kind]["path"]).read_bytes() == Path(b[kind]["path"]).read_bytes()


def test_inconsistent_levels_are_refused(storm_radar) -> None:
    from radar.errors import DetectionError
    from radar.model import TemperatureLevels

    with pytest.raises(DetectionError):
        detect_volume(storm_radar, TemperatureLevels(5000.0, 4000.0, "x"), CONFIG)
