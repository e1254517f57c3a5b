"""The Lüliang deployment: counties, airport control zone, radar, member units, sample sites.

Guards issue 2 (foundation), the ``sites/`` part.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest
from shapely.geometry import Point

from sites.deployment import (
    Airport,
    Deployment,
    airport_control_zone,
    county_at,
    default_deployment,
    load_deployment,
)
from sites.errors import DeploymentError, RegistryValidationError, UnknownCountyError
from sites.geometry import area_km2, destination, distance_km
from sites.model import EquipmentKind, Readiness
from sites.registry import sites_to_csv
from tests.unit.sites.factories import DEFAULT_LAT, DEFAULT_LON, make_site

COUNTIES = {
    "lishi": "离石区",
    "wenshui": "文水县",
    "jiaocheng": "交城县",
    "xingxian": "兴县",
    "linxian": "临县",
    "liulin": "柳林县",
    "shilou": "石楼县",
    "lanxian": "岚县",
    "fangshan": "方山县",
    "zhongyang": "中阳县",
    "jiaokou": "交口县",
    "xiaoyi": "孝义市",
    "fenyang": "汾阳市",
}
MEMBER_UNITS = {
    "meteorology",
    "airport",
    "military",
    "agriculture",
    "emergency_management",
    "public_security",
    "finance",
    "human_resources",
    "natural_resources",
    "ecology_environment",
    "transport",
    "water_resources",
    "development_reform",
    "science_technology",
}
DATA = Path(str(resources.files("sites").joinpath("data")))


@pytest.fixture(scope="module")
def deployment() -> Deployment:
    return load_deployment()


# --------------------------------------------------------------------------- counties


def test_thirteen_counties_with_pinyin_keys_and_chinese_names(deployment: Deployment) -> None:
    assert {c.key: c.name_zh for c in deployment.counties} == COUNTIES
    assert all(c.adcode.startswith("1411") and c.name_en for c in deployment.counties)
    assert deployment.city.name_zh == "吕梁市" and deployment.city.adcode == "141100"


def test_counties_tile_the_city(deployment: Deployment) -> None:
    """City ≈ 21,132 km² (data README); the counties add up to it."""
    city_km2 = area_km2(deployment.area)
    assert city_km2 == pytest.approx(21132, rel=0.01)
    assert sum(area_km2(c.geometry) for c in deployment.counties) == pytest.approx(
        city_km2, rel=0.01
    )


@pytest.mark.parametrize(
    ("lon", "lat", "key"),
    [
        (111.1428, 37.6833, "fangshan"),  # the airport
        (111.14, 37.52, "lishi"),  # Lishi town
        (111.79, 37.26, "fenyang"),  # Fenyang town
        (111.78, 37.14, "xiaoyi"),  # Xiaoyi town
        (111.13, 38.46, "xingxian"),  # Xing county town
    ],
)
def test_county_at_known_places(deployment: Deployment, lon: float, lat: float, key: str) -> None:
    county = deployment.county_at(lon, lat)
    assert county is not None and county.key == key
    assert county_at(lon, lat) == county  # the module function uses the default deployment


def test_county_at_outside_the_city_is_none(deployment: Deployment) -> None:
    assert deployment.county_at(112.55, 37.87) is None  # Taiyuan
    assert county_at(0.0, 0.0) is None


def test_county_lookup_by_key(deployment: Deployment) -> None:
    assert deployment.county("lishi").name_en == "Lishi District"
    with pytest.raises(UnknownCountyError, match="atlantis"):
        deployment.county("atlantis")


def test_default_deployment_is_loaded_once() -> None:
    assert default_deployment() is default_deployment()


# --------------------------------------------------------------------------- airport, radar


def test_airport_is_zbll_in_fangshan(deployment: Deployment) -> None:
    airport = deployment.airport
    assert (airport.icao, airport.lat, airport.lon) == ("ZBLL", 37.6833, 111.1428)
    assert (airport.runway, airport.runway_length_m) == ("18/36", 2600.0)
    assert deployment.county_at(airport.lon, airport.lat) == deployment.county(airport.county)


def test_control_zone_is_the_default_no_fire_area(deployment: Deployment) -> None:
    zone = deployment.no_fire_areas[0]
    assert zone.key == "zbll_control_zone"
    assert deployment.no_fire_geometries()[0] is zone.geometry
    # Stadium around the runway (π·10² + 2·10·2.6 km²) plus the parts of the two 20 × 4 km
    # corridors outside it (about 2 × (20·4 − 4·10) km²).
    expected = math.pi * 100 + 2 * 10 * 2.6 + 2 * (80 - 40)
    assert area_km2(zone.geometry) == pytest.approx(expected, rel=0.01)


def test_control_zone_shape(deployment: Deployment) -> None:
    airport = deployment.airport
    zone = deployment.no_fire_areas[0].geometry

    def inside(bearing: float, km: float) -> bool:
        lat, lon = destination(airport.lat, airport.lon, bearing, km)
        return bool(zone.contains(Point(lon, lat)))

    assert inside(90, 9.5) and not inside(90, 10.5)  # radius across the runway
    assert inside(0, 21) and inside(180, 21)  # corridors: 1.3 km runway half + 20 km
    assert not inside(0, 22) and not inside(180, 22)
    assert inside(5, 20) and not inside(10, 20)  # corridor half-width 2 km at 20 km out


def test_control_zone_parameters_are_configurable() -> None:
    airport = Airport("TEST", "测试", "Test", 37.0, 111.0, "x", control_zone_radius_km=5.0,
                      approach_corridor_length_km=0.0)  # fmt: skip
    assert area_km2(airport_control_zone(airport)) == pytest.approx(
        math.pi * 25 + 2 * 5 * 2.6, rel=0.01
    )


def test_radar_is_the_luliang_station_labelled_with_its_source(deployment: Deployment) -> None:
    """Issue 14: the CINRAD station Z9358 from the station tables, no longer a sample."""
    radar = deployment.radar
    assert radar.sample is False and radar.station_id == "Z9358"
    assert "station table" in radar.source and "approximate" in radar.note
    assert deployment.county_at(radar.lon, radar.lat) == deployment.county("lishi")
    assert radar.band in {"S", "C", "X"} and radar.alt_m > 0


# --------------------------------------------------------------------------- member units


def test_member_units_are_complete_with_one_liaison_each(deployment: Deployment) -> None:
    units = deployment.member_units
    assert {u.key for u in units} == MEMBER_UNITS
    assert [u.key for u in units if u.hosts_office] == ["meteorology"]
    for unit in units:
        assert unit.name_zh and unit.name_en
        assert unit.liaison.name and unit.liaison.phone
        assert unit.sample and "样例" in unit.liaison.name
    assert deployment.member_unit("airport").representative_en == "deputy general manager"
    assert "readiness" in deployment.member_unit("military").representative_en


# --------------------------------------------------------------------------- sample registry


def test_sample_registry_has_about_40_sites_in_every_county(deployment: Deployment) -> None:
    sites = deployment.sites
    assert 35 <= len(sites) <= 45
    per_county = Counter(site.county for site in sites)
    assert set(per_county) == set(COUNTIES)
    assert min(per_county.values()) >= 2
    assert len({site.code for site in sites}) == len(sites)


def test_every_sample_site_is_inside_its_county_and_outside_the_control_zone(
    deployment: Deployment,
) -> None:
    zone = deployment.no_fire_areas[0].geometry
    for site in deployment.sites:
        point = Point(site.lon, site.lat)
        assert deployment.county(site.county).geometry.contains(point), site.code
        assert not zone.contains(point), site.code
        assert site.code.startswith({"lanxian": "LA"}.get(site.county, site.county[:1].upper())), (
            site.code
        )


def test_sample_sites_are_plausible_and_marked_sample(deployment: Deployment) -> None:
    kinds = Counter(e.kind for site in deployment.sites for e in site.equipment)
    assert kinds[EquipmentKind.GUN_37MM] >= 10 and kinds[EquipmentKind.ROCKET] >= 10
    assert any(
        s.start_deg > s.end_deg
        for site in deployment.sites
        for e in site.equipment
        for s in e.sectors
    ), "some sectors wrap through north"
    for site in deployment.sites:
        assert site.sample is True
        assert 900 <= site.elevation_m <= 1800
        assert site.name.startswith(deployment.county(site.county).name_zh)
        assert site.contacts and all("样例" in c.name for c in site.contacts)
        for equipment in site.equipment:
            assert 6 <= equipment.range_km <= 10 and 6 <= equipment.ceiling_km <= 8
        if site.readiness is Readiness.OUT_OF_AMMUNITION:
            assert not any(site.ammunition.values())
        else:
            assert any(site.ammunition.values())


def test_sample_sites_are_spread_out(deployment: Deployment) -> None:
    """A rough 15 km grid: no two sample sites closer than about 10 km."""
    sites = deployment.sites
    nearest = min(
        distance_km(a.lat, a.lon, b.lat, b.lon) for i, a in enumerate(sites) for b in sites[i + 1 :]
    )
    assert nearest > 10.0


def test_sample_registry_file_is_labelled_sample_data() -> None:
    data = json.loads((DATA / "sample_sites.geojson").read_text(encoding="utf-8"))
    assert data["sample"] is True
    assert data["note"].startswith("SAMPLE DATA")
    assert all(f["properties"]["sample"] is True for f in data["features"])


def test_sample_registry_is_reproducible(tmp_path: Path) -> None:
    """make_sample_sites.py regenerates the committed file byte for byte."""
    script = tmp_path / "make_sample_sites.py"
    shutil.copy(DATA / "make_sample_sites.py", script)
    root = Path(__file__).resolve().parents[3]
    subprocess.run(
        [sys.executable, str(script)], check=True, cwd=tmp_path, env={"PYTHONPATH": str(root)},
        capture_output=True,
    )  # fmt: skip
    assert (tmp_path / "sample_sites.geojson").read_bytes() == (
        DATA / "sample_sites.geojson"
    ).read_bytes()


# --------------------------------------------------------------------------- overrides


def test_default_site_of_the_factories_is_valid_here(deployment: Deployment) -> None:
    assert deployment.county_at(DEFAULT_LON, DEFAULT_LAT) == deployment.county("lishi")
    assert not deployment.no_fire_areas[0].geometry.contains(Point(DEFAULT_LON, DEFAULT_LAT))


def test_a_directory_overrides_package_files(tmp_path: Path) -> None:
    config = json.loads((DATA / "deployment.json").read_text(encoding="utf-8"))
    config["sites_file"] = "my_sites.csv"
    config["airport"]["control_zone_radius_km"] = 5.0
    config["no_fire_areas_file"] = "towns.geojson"
    (tmp_path / "deployment.json").write_text(json.dumps(config), encoding="utf-8")
    (tmp_path / "my_sites.csv").write_text(sites_to_csv([make_site()]), encoding="utf-8")
    town = Point(111.14, 37.52).buffer(0.02)
    (tmp_path / "towns.geojson").write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"key": "lishi_town", "name_zh": "离石城区"},
                        "geometry": town.__geo_interface__,
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    deployment = load_deployment(tmp_path)
    assert deployment.sites == (make_site(),)
    assert deployment.airport.control_zone_radius_km == 5.0
    assert [a.key for a in deployment.no_fire_areas] == ["zbll_control_zone", "lishi_town"]
    assert len(deployment.counties) == 13  # counties and member units from the package
    assert len(deployment.member_units) == len(MEMBER_UNITS)


def test_read_a_registry_against_the_deployment(deployment: Deployment, tmp_path: Path) -> None:
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(sites_to_csv([make_site()]), encoding="utf-8")
    bad.write_text(sites_to_csv([make_site(county="fenyang")]), encoding="utf-8")
    assert deployment.read_registry(good) == [make_site()]
    with pytest.raises(RegistryValidationError, match="km outside county 'fenyang'"):
        deployment.read_registry(bad)


def test_without_sites() -> None:
    assert load_deployment(include_sites=False).sites == ()


def test_a_bad_site_registry_in_a_deployment_is_rejected(tmp_path: Path) -> None:
    far = make_site(lat=30.0)
    (tmp_path / "sample_sites.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": []}), encoding="utf-8"
    )
    assert load_deployment(tmp_path).sites == ()
    config = json.loads((DATA / "deployment.json").read_text(encoding="utf-8"))
    config["sites_file"] = "sites.csv"
    (tmp_path / "deployment.json").write_text(json.dumps(config), encoding="utf-8")
    (tmp_path / "sites.csv").write_text(sites_to_csv([far]), encoding="utf-8")
    with pytest.raises(RegistryValidationError, match="outside the deployment area"):
        load_deployment(tmp_path)


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        ("deployment.json", "{", "not valid JSON"),
        ("deployment.json", '{"key": "x"}', "Field required"),
        ("member_units.json", '{"units": [{"key": "a"}]}', "Field required"),
        ("luliang_counties.geojson", '{"type": "FeatureCollection", "features": []}', "adcode"),
    ],
)
def test_bad_deployment_files_raise_deployment_error(
    tmp_path: Path, file: str, content: str, message: str
) -> None:
    (tmp_path / file).write_text(content, encoding="utf-8")
    with pytest.raises(DeploymentError, match=message):
        load_deployment(tmp_path)


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DeploymentError, match="not a directory"):
        load_deployment(tmp_path / "nope")
