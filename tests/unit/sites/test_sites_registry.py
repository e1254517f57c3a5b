"""Site registry import/export: good files, round trips, and bad files rejected as a whole.

Guards issue 2 (foundation), the ``sites/`` part.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import box

from sites.errors import Problem, RegistryValidationError, SitesError
from sites.model import EquipmentKind, Readiness, Sector
from sites.registry import (
    CSV_COLUMNS,
    read_registry,
    sites_from_csv,
    sites_from_geojson,
    sites_to_csv,
    sites_to_geojson,
    write_registry,
)
from tests.unit.sites.factories import make_contact, make_equipment, make_rocket, make_site

HEADER = ",".join(CSV_COLUMNS)
GOOD_CSV = f"""{HEADER}
LS-01,离石区 1 号作业点,lishi,37.54,111.27,1330,ready,gun_37mm:8:6.5:300-60:45-85:2:37mm 高炮,37mm_shell=200,样例站长:0358-0000101:站长,true
FY-02,汾阳市 2 号作业点,fenyang,37.27,111.76,950.5,standby,rocket:10:8:0-360;gun_37mm:8:6:90-180|120-200,rocket_wr98=12;37mm_shell=120,,false
JK-01,交口县 1 号作业点,jiaokou,37.0,111.3,1400,out_of_ammunition,rocket:8:7:330-30::1:BL-1A,rocket_bl1a=0,,
"""


def problems_of(exc: pytest.ExceptionInfo[RegistryValidationError]) -> set[tuple[str, str]]:
    return {(p.where, p.field) for p in exc.value.problems}


def csv_with(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def good_row(**cells: str) -> str:
    values = {
        "code": "T-01",
        "name": "测试",
        "county": "lishi",
        "lat": "37.54",
        "lon": "111.27",
        "elevation_m": "1200",
        "readiness": "ready",
        "equipment": "gun_37mm:8:6.5:0-360",
        "ammunition": "37mm_shell=10",
        "contacts": "",
        "sample": "false",
    }
    values.update(cells)
    return ",".join(values[column] for column in CSV_COLUMNS)


def good_geojson() -> dict[str, Any]:
    return sites_to_geojson(
        [
            make_site(),
            make_site(code="T-02", equipment=(make_rocket(sectors=(Sector(300, 60),)),)),
        ]
    )


# --------------------------------------------------------------------------- good files


def test_good_csv_imports_every_field() -> None:
    sites = sites_from_csv(GOOD_CSV)
    assert [s.code for s in sites] == ["LS-01", "FY-02", "JK-01"]
    first, second, third = sites
    assert first.name == "离石区 1 号作业点" and first.county == "lishi"
    assert (first.lat, first.lon, first.elevation_m) == (37.54, 111.27, 1330.0)
    gun = first.equipment[0]
    assert gun.kind is EquipmentKind.GUN_37MM and gun.model == "37mm 高炮"
    assert (gun.range_km, gun.ceiling_km, gun.count) == (8.0, 6.5, 2)
    assert gun.sectors == (Sector(300, 60),)
    assert (gun.min_elevation_deg, gun.max_elevation_deg) == (45.0, 85.0)
    assert first.ammunition == {"37mm_shell": 200}
    assert first.contacts[0].name == "样例站长" and first.contacts[0].role == "站长"
    assert first.sample is True
    assert second.readiness is Readiness.STANDBY
    assert [e.kind for e in second.equipment] == [EquipmentKind.ROCKET, EquipmentKind.GUN_37MM]
    assert second.equipment[1].sectors == (Sector(90, 180), Sector(120, 200))
    assert second.ammunition == {"rocket_wr98": 12, "37mm_shell": 120}
    assert second.contacts == () and second.sample is False
    assert third.readiness is Readiness.OUT_OF_AMMUNITION
    assert third.equipment[0].model == "BL-1A"
    assert third.equipment[0].min_elevation_deg == 45.0  # default when the part is empty


def test_good_geojson_imports() -> None:
    sites = sites_from_geojson(json.dumps(good_geojson()))
    assert [s.code for s in sites] == ["T-01", "T-02"]
    assert sites[1].equipment[0].sectors == (Sector(300, 60),)
    assert sites[0] == make_site()


def test_geojson_accepts_a_height_coordinate_and_ignores_extra_properties() -> None:
    data = good_geojson()
    data["features"][0]["geometry"]["coordinates"].append(1200.0)
    data["features"][0]["properties"]["marker-color"] = "#f00"
    assert sites_from_geojson(data)[0] == make_site()


def test_csv_with_bom_and_blank_lines_and_reordered_columns() -> None:
    columns = list(reversed(CSV_COLUMNS))
    row = dict(zip(CSV_COLUMNS, good_row().split(","), strict=True))
    text = (
        "\ufeff" + ",".join(columns) + "\n\n" + ",".join(row[c] for c in columns) + "\n,,,,,,,,,,\n"
    )
    assert len(sites_from_csv(text)) == 1


def test_csv_without_optional_columns() -> None:
    text = "code,name,county,lat,lon,elevation_m,readiness,equipment\nA-1,a,lishi,37.5,111.2,900,ready,rocket:10:8:0-360\n"
    (site,) = sites_from_csv(text)
    assert site.ammunition == {} and site.contacts == () and site.sample is False


def test_empty_registry_is_valid() -> None:
    assert sites_from_csv(HEADER + "\n") == []
    assert sites_from_geojson({"type": "FeatureCollection", "features": []}) == []


# --------------------------------------------------------------------------- round trips

ROUND_TRIP_SITES = [
    make_site(),
    make_site(
        code="T-02",
        name="复杂站点",
        lat=37.123456789,
        lon=111.987654321,
        elevation_m=1234.5,
        equipment=(
            make_equipment(sectors=(Sector(300, 60), Sector(120.5, 200.25)), min_elevation_deg=40),
            make_rocket(model="BL-1A", range_km=8.5, ceiling_km=7.25),
        ),
        ammunition={"37mm_shell": 0, "rocket_bl1a": 17},
        readiness=Readiness.FIRING,
        contacts=(make_contact(), make_contact(name="副站长", phone="0358-0000998", role="a:b")),
        sample=True,
    ),
    make_site(code="T_3", contacts=(), ammunition={}, readiness=Readiness.OFFLINE),
]


def test_csv_round_trip_gives_equal_sites() -> None:
    assert sites_from_csv(sites_to_csv(ROUND_TRIP_SITES)) == ROUND_TRIP_SITES


def test_geojson_round_trip_gives_equal_sites() -> None:
    text = json.dumps(sites_to_geojson(ROUND_TRIP_SITES, note="SAMPLE"), ensure_ascii=False)
    assert sites_from_geojson(text) == ROUND_TRIP_SITES
    assert json.loads(text)["note"] == "SAMPLE"


@pytest.mark.parametrize("suffix", [".csv", ".geojson", ".json"])
def test_file_round_trip(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"registry{suffix}"
    write_registry(ROUND_TRIP_SITES, path, note="SAMPLE DATA")
    assert read_registry(path) == ROUND_TRIP_SITES


def test_unknown_file_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SitesError, match="unknown registry format"):
        read_registry(tmp_path / "sites.xlsx")
    with pytest.raises(SitesError, match="cannot read"):
        read_registry(tmp_path / "missing.csv")


@pytest.mark.parametrize(
    "site",
    [
        make_site(equipment=(make_equipment(model="a;b"),)),
        make_site(contacts=(make_contact(name="a:b"),)),
        make_site(contacts=(make_contact(phone="1;2"),)),
    ],
)
def test_csv_export_refuses_text_that_contains_a_separator(site: Any) -> None:
    with pytest.raises(SitesError, match="separator"):
        sites_to_csv([site])
    assert sites_from_geojson(sites_to_geojson([site])) == [site]  # GeoJSON has no such limit


# --------------------------------------------------------------------------- bad CSV rows


@pytest.mark.parametrize(
    ("cells", "field", "message"),
    [
        ({"code": ""}, "code", "missing"),
        ({"code": "LS 01"}, "code", "letters"),
        ({"name": ""}, "name", "missing"),
        ({"county": ""}, "county", "missing"),
        ({"lat": ""}, "lat", "missing"),
        ({"lat": "north"}, "lat", "number"),
        ({"lat": "91"}, "lat", "between -90 and 90"),
        ({"lon": "-181"}, "lon", "between -180 and 180"),
        ({"lat": "nan"}, "lat", "finite"),
        ({"elevation_m": "high"}, "elevation_m", "number"),
        ({"readiness": "asleep"}, "readiness", "unknown readiness"),
        ({"readiness": ""}, "readiness", "missing"),
        ({"equipment": ""}, "equipment", "at least one"),
        ({"equipment": "howitzer:8:6:0-360"}, "equipment[1].kind", "unknown equipment kind"),
        ({"equipment": "gun_37mm:-8:6:0-360"}, "equipment[1].range_km", "greater than 0"),
        ({"equipment": "gun_37mm:8:-1:0-360"}, "equipment[1].ceiling_km", "greater than 0"),
        ({"equipment": "gun_37mm:0:6:0-360"}, "equipment[1].range_km", "greater than 0"),
        ({"equipment": "gun_37mm:8:6:300-400"}, "equipment[1].sectors[1].end_deg", "0 and 360"),
        ({"equipment": "gun_37mm:8:6:-10-60"}, "equipment[1].sectors[1]", "START-END"),
        ({"equipment": "gun_37mm:8:6:"}, "equipment[1].sectors", "at least one"),
        ({"equipment": "gun_37mm:8:6:0-360:80-40"}, "equipment[1].min_elevation_deg", "above"),
        ({"equipment": "gun_37mm:8:6:0-360:45-95"}, "equipment[1].max_elevation_deg", "0 and 90"),
        ({"equipment": "gun_37mm:8:6:0-360:low"}, "equipment[1].elevation", "MIN-MAX"),
        ({"equipment": "gun_37mm:8:6:0-360:45-85:0"}, "equipment[1].count", "at least 1"),
        ({"equipment": "gun_37mm:8:6:0-360:45-85:two"}, "equipment[1].count", "whole number"),
        ({"equipment": "gun_37mm:8"}, "equipment[1]", "kind:range_km"),
        ({"ammunition": "37mm_shell=-5"}, "ammunition.37mm_shell", "at least 0"),
        ({"ammunition": "37mm_shell=many"}, "ammunition.37mm_shell", "whole number"),
        ({"ammunition": "37mm_shell"}, "ammunition", "type=count"),
        ({"ammunition": "37mm Shell=5"}, "ammunition.37mm Shell", "lower-case"),
        ({"ammunition": "a=1;a=2"}, "ammunition.a", "twice"),
        ({"contacts": "nobody"}, "contacts[1]", "name:phone"),
        ({"contacts": ":0358"}, "contacts[1].name", "missing"),
        ({"sample": "maybe"}, "sample", "true or false"),
    ],
)
def test_each_bad_cell_is_reported_with_row_and_field(
    cells: dict[str, str], field: str, message: str
) -> None:
    text = csv_with(good_row(code="OK-1"), good_row(**{"code": "OK-2", **cells}))
    with pytest.raises(RegistryValidationError) as exc:
        sites_from_csv(text)
    (problem,) = exc.value.problems
    assert (problem.where, problem.field) == ("row 3", field)
    assert message in problem.message
    assert f"row 3 {field}:" in str(exc.value)


def test_many_problems_in_one_file_are_all_listed_and_nothing_is_returned() -> None:
    text = csv_with(
        good_row(code="A-1"),
        good_row(code="A-1", lat="95"),  # duplicate and latitude
        good_row(code="A-3", readiness="sleeping", equipment="gun_37mm:-8:6:300-60:80-40"),
        good_row(code="A-4"),
    )
    with pytest.raises(RegistryValidationError) as exc:
        sites_from_csv(text)
    assert problems_of(exc) == {
        ("row 3", "code"),
        ("row 3", "lat"),
        ("row 4", "readiness"),
        ("row 4", "equipment[1].range_km"),
        ("row 4", "equipment[1].min_elevation_deg"),
    }
    assert "first at row 2" in str(exc.value)
    assert str(exc.value).startswith("site registry rejected: 5 problems")


def test_several_bad_equipment_items_in_one_cell_are_numbered() -> None:
    text = csv_with(good_row(equipment="gun_37mm:8:6:0-360;laser:8:6:0-360;rocket:10:8:0-360:bad"))
    with pytest.raises(RegistryValidationError) as exc:
        sites_from_csv(text)
    assert problems_of(exc) == {("row 2", "equipment[2].kind"), ("row 2", "equipment[3].elevation")}


def test_csv_missing_required_columns_are_all_listed() -> None:
    text = "code,name,lat,lon,colour\nA,b,1,2,red\n"
    with pytest.raises(RegistryValidationError) as exc:
        sites_from_csv(text)
    assert problems_of(exc) == {
        ("row 1", "county"),
        ("row 1", "elevation_m"),
        ("row 1", "readiness"),
        ("row 1", "equipment"),
        ("row 1", "colour"),
    }


def test_csv_row_with_wrong_cell_count() -> None:
    with pytest.raises(RegistryValidationError) as exc:
        sites_from_csv(csv_with(good_row(), "A-2,short,row"))
    assert problems_of(exc) == {("row 3", "")}


def test_empty_csv_file() -> None:
    with pytest.raises(RegistryValidationError, match="empty"):
        sites_from_csv("")


def test_broken_csv_quoting_is_a_file_problem() -> None:
    with pytest.raises(RegistryValidationError) as exc:
        sites_from_csv(csv_with(good_row()) + '"an unterminated quote')
    assert problems_of(exc) == {("file", "")}


def test_integral_decimal_counts_are_accepted_in_csv() -> None:
    (site,) = sites_from_csv(csv_with(good_row(ammunition="37mm_shell=12.0")))
    assert site.ammunition == {"37mm_shell": 12}


# --------------------------------------------------------------------------- deployment checks

LISHI_BOX = box(111.0, 37.4, 111.5, 37.7)
AREA = box(110.0, 36.0, 113.0, 39.0)


def test_unknown_county_is_reported() -> None:
    with pytest.raises(RegistryValidationError) as exc:
        sites_from_csv(csv_with(good_row(county="atlantis")), counties=["lishi", "fangshan"])
    (problem,) = exc.value.problems
    assert problem == Problem(
        "row 2", "county", "unknown county 'atlantis' (known: fangshan, lishi)"
    )


def test_site_outside_the_deployment_area_is_reported() -> None:
    with pytest.raises(RegistryValidationError) as exc:
        sites_from_csv(csv_with(good_row(), good_row(code="FAR", lat="30.0")), area=AREA)
    assert problems_of(exc) == {("row 3", "lat/lon")}
    assert "outside the deployment area" in str(exc.value)


def test_site_outside_its_county_polygon_is_reported_beyond_the_tolerance() -> None:
    counties = {"lishi": LISHI_BOX, "fangshan": None}
    assert sites_from_csv(csv_with(good_row()), counties=counties)
    # 0.004° (~350 m) south of the box: inside the 0.5 km default tolerance.
    assert sites_from_csv(csv_with(good_row(lat="37.396")), counties=counties)
    with pytest.raises(RegistryValidationError) as exc:
        sites_from_csv(csv_with(good_row(lat="37.35")), counties=counties)
    assert problems_of(exc) == {("row 2", "lat/lon")}
    assert "km outside county 'lishi'" in str(exc.value)
    # No polygon for the county: only the key is checked.
    assert sites_from_csv(csv_with(good_row(county="fangshan", lat="30")), counties=counties)


# --------------------------------------------------------------------------- bad GeoJSON


def mutated(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(good_geojson())
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "where", "field"),
    [
        (lambda d: d["features"][1]["properties"].pop("code"), "feature 2", "code"),
        (lambda d: d["features"][1]["properties"].update(code="T-01"), "feature 2", "code"),
        (lambda d: d["features"][1]["properties"].update(name=7), "feature 2", "name"),
        (
            lambda d: d["features"][0]["geometry"].update(coordinates=[111.2, 95.0]),
            "feature 1",
            "lat",
        ),
        (
            lambda d: d["features"][0]["geometry"].update(coordinates=[200.0, 37.0]),
            "feature 1",
            "lon",
        ),
        (lambda d: d["features"][0]["geometry"].update(type="Polygon"), "feature 1", "geometry"),
        (lambda d: d["features"][0].update(geometry=None), "feature 1", "geometry"),
        (
            lambda d: d["features"][0]["properties"].update(elevation_m=True),
            "feature 1",
            "elevation_m",
        ),
        (lambda d: d["features"][0]["properties"].update(readiness="ok"), "feature 1", "readiness"),
        (lambda d: d["features"][0]["properties"].update(equipment=[]), "feature 1", "equipment"),
        (lambda d: d["features"][0]["properties"].update(equipment={}), "feature 1", "equipment"),
        (
            lambda d: d["features"][0]["properties"]["equipment"].append("gun"),
            "feature 1",
            "equipment[2]",
        ),
        (
            lambda d: d["features"][0]["properties"]["equipment"][0].update(kind="laser"),
            "feature 1",
            "equipment[1].kind",
        ),
        (
            lambda d: d["features"][0]["properties"]["equipment"][0].update(range_km=-3),
            "feature 1",
            "equipment[1].range_km",
        ),
        (
            lambda d: d["features"][0]["properties"]["equipment"][0].pop("ceiling_km"),
            "feature 1",
            "equipment[1].ceiling_km",
        ),
        (
            lambda d: d["features"][0]["properties"]["equipment"][0].update(rang_km=8),
            "feature 1",
            "equipment[1].rang_km",
        ),
        (
            lambda d: d["features"][0]["properties"]["equipment"][0].update(sectors=[[370, 10]]),
            "feature 1",
            "equipment[1].sectors[1].start_deg",
        ),
        (
            lambda d: d["features"][0]["properties"]["equipment"][0].update(sectors=[[10]]),
            "feature 1",
            "equipment[1].sectors[1]",
        ),
        (
            lambda d: d["features"][0]["properties"]["equipment"][0].update(sectors="0-360"),
            "feature 1",
            "equipment[1].sectors",
        ),
        (
            lambda d: d["features"][0]["properties"]["equipment"][0].update(count=1.5),
            "feature 1",
            "equipment[1].count",
        ),
        (
            lambda d: d["features"][0]["properties"].update(ammunition={"37mm_shell": -1}),
            "feature 1",
            "ammunition.37mm_shell",
        ),
        (
            lambda d: d["features"][0]["properties"].update(ammunition=[1]),
            "feature 1",
            "ammunition",
        ),
        (lambda d: d["features"][0]["properties"].update(contacts="x"), "feature 1", "contacts"),
        (
            lambda d: d["features"][0]["properties"].update(contacts=[{"name": "x"}]),
            "feature 1",
            "contacts[1].phone",
        ),
        (
            lambda d: d["features"][0]["properties"].update(
                contacts=[{"name": "x", "phone": "1", "fax": "2"}]
            ),
            "feature 1",
            "contacts[1].fax",
        ),
        (lambda d: d["features"][0]["properties"].update(sample="yes"), "feature 1", "sample"),
        (lambda d: d["features"][0].update(properties=None), "feature 1", "properties"),
        (lambda d: d["features"][0].update(type="Point"), "feature 1", "type"),
    ],
)
def test_each_bad_geojson_field_is_reported_with_feature_and_field(
    change: Any, where: str, field: str
) -> None:
    with pytest.raises(RegistryValidationError) as exc:
        sites_from_geojson(mutated(change))
    assert problems_of(exc) == {(where, field)}


def test_bad_geometry_is_one_problem_even_with_an_area() -> None:
    data = mutated(lambda d: d["features"][0].update(geometry={"type": "Point"}))
    with pytest.raises(RegistryValidationError) as exc:
        sites_from_geojson(data, area=AREA, counties={"lishi": LISHI_BOX})
    assert problems_of(exc) == {("feature 1", "geometry")}


def test_many_geojson_problems_are_all_listed() -> None:
    def change(data: dict[str, Any]) -> None:
        first, second = (f["properties"] for f in data["features"])
        first["readiness"] = "???"
        first["equipment"][0]["min_elevation_deg"] = 89
        second["county"] = "nowhere"
        second["equipment"][0]["ceiling_km"] = -8

    with pytest.raises(RegistryValidationError) as exc:
        sites_from_geojson(mutated(change), counties=["lishi"])
    assert problems_of(exc) == {
        ("feature 1", "readiness"),
        ("feature 1", "equipment[1].min_elevation_deg"),
        ("feature 2", "county"),
        ("feature 2", "equipment[1].ceiling_km"),
    }


@pytest.mark.parametrize(
    ("source", "field"),
    [
        ("{not json", ""),
        ('{"type": "Feature"}', "type"),
        ('{"type": "FeatureCollection"}', "features"),
        ("[]", "type"),
    ],
)
def test_geojson_that_is_not_a_feature_collection(source: str, field: str) -> None:
    with pytest.raises(RegistryValidationError) as exc:
        sites_from_geojson(source)
    assert problems_of(exc) == {("file", field)}


def test_problem_is_json_ready() -> None:
    problem = Problem("row 3", "lat", "is missing")
    assert problem.as_dict() == {"where": "row 3", "field": "lat", "message": "is missing"}
    assert str(problem) == "row 3 lat: is missing"
