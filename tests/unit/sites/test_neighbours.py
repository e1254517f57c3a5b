"""Issue 15, part 5: the deployment names its neighbours with outlines and liaisons."""

from __future__ import annotations

import json

import pytest

from sites.deployment import default_deployment
from sites.errors import DeploymentError
from sites.neighbours import load_office


def test_luliang_neighbours_touch_the_city_and_do_not_overlap_it():
    office = load_office()
    city = default_deployment().area
    assert office.bulletin_prefix == "吕防雹通"
    assert [n.key for n in office.neighbours] == ["xinzhou", "taiyuan", "jinzhong", "linfen", "yulin"]
    assert office.neighbour("yulin").province_zh == "陕西省"
    for n in office.neighbours:
        assert n.geometry.distance(city) < 0.01, n.key  # they share a border
        # Simplified outlines overlap the city by slivers only (< 0.5 % of the city's area).
        assert n.geometry.intersection(city).area < 0.005 * city.area, n.key
        assert n.liaison is not None and n.liaison.sample


def test_liaison_for_an_unknown_neighbour_is_an_error_naming_the_file(tmp_path):
    (tmp_path / "office.json").write_text(json.dumps({
        "bulletin_prefix": "X", "office_name_zh": "x", "office_name_en": "x",
        "neighbours_file": "neighbours.geojson",
        "neighbour_liaisons": {"atlantis": {"name": "a", "phone": "1"}}}), encoding="utf-8")
    with pytest.raises(DeploymentError, match="office.json.*atlantis"):
        load_office(tmp_path)
    (tmp_path / "office.json").write_text("{}", encoding="utf-8")
    with pytest.raises(DeploymentError, match="office.json"):
        load_office(tmp_path)
