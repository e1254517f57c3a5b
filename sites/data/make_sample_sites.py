"""Generate ``sample_sites.geojson``: the SAMPLE operation-site registry of the default deployment.

Real coordinates of Lüliang's hail suppression sites are not public, so the default
deployment ships invented ones.  This script is run once and its output committed; it is
deterministic (fixed seed), so re-running it reproduces the file byte for byte.

How the sites are placed:

* 40 sites over the 13 counties, shared in proportion to county area with at least 2 each
  (largest remainder).
* Candidates are the nodes of a 15 km grid in a local azimuthal-equidistant frame centred
  on the city (Shanxi plans standard sites on a 15 km grid), nudged by up to 2.5 km; a
  7.5 km grid fills counties too small for their share.  A candidate must lie at least 2 km
  inside its county and at least 3 km outside the airport control zone and corridors.
* Within a county the sites are picked far apart (farthest-point sampling).
* Elevations are invented (no DEM is available): 900-1800 m by a rough county relief.
* Equipment cycles through 37 mm gun pairs, WR-98 rocket launchers and BL-1A launchers
  with a gun; safe sectors cycle through a fixed list, some wrapping through north.
* Contacts are fictional (``样例`` = sample; numbers 0358-0xxxxxx do not exist).

Run from the repository root: ``PYTHONPATH=. python sites/data/make_sample_sites.py``.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from sites.deployment import County, Deployment, load_deployment
from sites.geometry import area_km2, local_frame
from sites.model import Contact, Equipment, EquipmentKind, Readiness, Sector, Site
from sites.registry import sites_from_geojson, sites_to_geojson

SEED = 20250601
TOTAL_SITES = 40
MIN_PER_COUNTY = 2
GRID_M = 15_000.0
FILL_GRID_M = 7_500.0
JITTER_M = 2_500.0
COUNTY_MARGIN_KM = 2.0
AIRPORT_MARGIN_KM = 3.0
OUTPUT = Path(__file__).with_name("sample_sites.geojson")

NOTE = (
    "SAMPLE DATA — real coordinates of Lüliang's hail suppression operation sites are not "
    "public. These 40 sites are invented for demonstration and tests: positions on a rough "
    "15 km grid inside each county and outside the ZBLL control zone, elevations invented "
    "(no DEM available), equipment, ammunition, readiness and contacts fictional. Generated "
    "by sites/data/make_sample_sites.py; replace with the real registry."
)

CODE_PREFIX = {
    "lishi": "LS",
    "wenshui": "WS",
    "jiaocheng": "JC",
    "xingxian": "XX",
    "linxian": "LX",
    "liulin": "LL",
    "shilou": "SL",
    "lanxian": "LA",
    "fangshan": "FS",
    "zhongyang": "ZY",
    "jiaokou": "JK",
    "xiaoyi": "XY",
    "fenyang": "FY",
}

# Invented relief per county (m): the Lüliang range in the middle, loess ridges to the west,
# the Fen river plain's western edge to the east.  Sample only.
ELEVATION_BAND_M = {
    "lishi": (1100, 1500),
    "wenshui": (900, 1300),
    "jiaocheng": (1000, 1700),
    "xingxian": (1000, 1400),
    "linxian": (950, 1350),
    "liulin": (950, 1300),
    "shilou": (950, 1300),
    "lanxian": (1300, 1800),
    "fangshan": (1200, 1800),
    "zhongyang": (1150, 1650),
    "jiaokou": (1150, 1650),
    "xiaoyi": (900, 1300),
    "fenyang": (900, 1350),
}

SECTOR_PATTERNS: tuple[tuple[Sector, ...], ...] = (
    (Sector(300.0, 60.0),),
    (Sector(0.0, 360.0),),
    (Sector(200.0, 340.0),),
    (Sector(330.0, 30.0), Sector(120.0, 200.0)),
    (Sector(90.0, 270.0),),
    (Sector(270.0, 90.0),),
    (Sector(30.0, 150.0),),
    (Sector(315.0, 45.0), Sector(135.0, 225.0)),
)


def allocate(counties: tuple[County, ...], areas_km2: dict[str, float]) -> dict[str, int]:
    """Sites per county: proportional to area, at least MIN_PER_COUNTY, summing to TOTAL."""
    total_area = sum(areas_km2.values())
    spare = TOTAL_SITES - MIN_PER_COUNTY * len(counties)
    share = {c.key: spare * areas_km2[c.key] / total_area for c in counties}
    counts = {key: MIN_PER_COUNTY + math.floor(value) for key, value in share.items()}
    by_remainder = sorted(share, key=lambda key: (-(share[key] % 1.0), key))
    for key in by_remainder[: TOTAL_SITES - sum(counts.values())]:
        counts[key] += 1
    return counts


def clearance_km(local: BaseGeometry, x: float, y: float, *, inside: bool) -> float:
    """Distance (km) from a local point to a local geometry's boundary.

    Positive when the point is on the wanted side (inside or outside), negative otherwise.
    """
    point = Point(x, y)
    distance = float(local.boundary.distance(point)) / 1000.0
    return distance if bool(local.covers(point)) == inside else -distance


def candidates(
    deployment: Deployment, spacing_m: float, rng: random.Random
) -> dict[str, list[tuple[float, float]]]:
    """Jittered grid nodes (lon, lat) that are well inside a county and clear of the airport.

    Distances are measured in one azimuthal-equidistant frame centred on the city (scale
    error below 1e-4 over the city), which is plenty for kilometre margins.
    """
    centre = deployment.area.centroid
    frame = local_frame(round(centre.y, 2), round(centre.x, 2))
    minx, miny, maxx, maxy = frame.to_local(deployment.area).bounds
    zone = frame.to_local(deployment.no_fire_areas[0].geometry)
    counties = {c.key: frame.to_local(c.geometry) for c in deployment.counties}
    found: dict[str, list[tuple[float, float]]] = {c.key: [] for c in deployment.counties}
    for j in range(math.floor(miny / spacing_m), math.ceil(maxy / spacing_m) + 1):
        for i in range(math.floor(minx / spacing_m), math.ceil(maxx / spacing_m) + 1):
            for _attempt in range(8):
                x = i * spacing_m + rng.uniform(-JITTER_M, JITTER_M)
                y = j * spacing_m + rng.uniform(-JITTER_M, JITTER_M)
                lon, lat = frame.lonlat(x, y)
                lon, lat = round(lon, 4), round(lat, 4)
                x, y = frame.xy(lon, lat)
                county = deployment.county_at(lon, lat)
                if (
                    county is not None
                    and clearance_km(counties[county.key], x, y, inside=True) >= COUNTY_MARGIN_KM
                    and clearance_km(zone, x, y, inside=False) >= AIRPORT_MARGIN_KM
                ):
                    found[county.key].append((lon, lat))
                    break
    return found


def spread(points: list[tuple[float, float]], count: int, seed_point: Point) -> list[int]:
    """Indices of ``count`` points picked far apart, starting nearest ``seed_point``."""
    if not points:
        return []
    frame = local_frame(seed_point.y, seed_point.x)
    xy = [frame.xy(lon, lat) for lon, lat in points]
    chosen = [min(range(len(xy)), key=lambda k: math.hypot(*xy[k]))]
    while len(chosen) < min(count, len(points)):

        def gap(k: int) -> float:
            return min(math.dist(xy[k], xy[c]) for c in chosen)

        chosen.append(max((k for k in range(len(xy)) if k not in chosen), key=gap))
    return chosen


def equipment_for(index: int) -> tuple[tuple[Equipment, ...], dict[str, int]]:
    sectors = SECTOR_PATTERNS[index % len(SECTOR_PATTERNS)]
    if index % 3 == 0:
        gun = Equipment(EquipmentKind.GUN_37MM, "37mm 高炮", 8.0, 6.5, sectors, 40.0, 85.0, 2)
        return (gun,), {"37mm_shell": 200 + 20 * (index % 6)}
    if index % 3 == 1:
        rocket = Equipment(EquipmentKind.ROCKET, "WR-98", 10.0, 8.0, sectors, 45.0, 85.0, 1)
        return (rocket,), {"rocket_wr98": 12 + 3 * (index % 5)}
    rocket = Equipment(EquipmentKind.ROCKET, "BL-1A", 8.0, 7.0, sectors, 45.0, 85.0, 1)
    gun = Equipment(EquipmentKind.GUN_37MM, "37mm 高炮", 8.0, 6.0, sectors, 40.0, 85.0, 1)
    return (rocket, gun), {"rocket_bl1a": 10 + 2 * (index % 4), "37mm_shell": 120}


def readiness_for(index: int) -> Readiness:
    if index == 17:
        return Readiness.OFFLINE
    if index == 29:
        return Readiness.OUT_OF_AMMUNITION
    if index % 7 == 3:
        return Readiness.STANDBY
    return Readiness.READY


def make_sites(deployment: Deployment) -> list[Site]:
    rng = random.Random(SEED)
    areas = {c.key: area_km2(c.geometry) for c in deployment.counties}
    counts = allocate(deployment.counties, areas)
    coarse = candidates(deployment, GRID_M, rng)
    fine = candidates(deployment, FILL_GRID_M, rng)
    sites: list[Site] = []
    index = 0
    for county in deployment.counties:
        seed_point = county.geometry.representative_point()
        pool = coarse[county.key]
        picked = [pool[k] for k in spread(pool, counts[county.key], seed_point)]
        if len(picked) < counts[county.key]:
            rest = [p for p in fine[county.key] if p not in picked]
            picked += [rest[k] for k in spread(rest, counts[county.key] - len(picked), seed_point)]
        if len(picked) < counts[county.key]:
            raise SystemExit(f"not enough room for {counts[county.key]} sites in {county.key}")
        picked.sort(key=lambda p: (-p[1], p[0]))  # north to south, then west to east
        low, high = ELEVATION_BAND_M[county.key]
        for number, (lon, lat) in enumerate(picked, 1):
            code = f"{CODE_PREFIX[county.key]}-{number:02d}"
            equipment, ammunition = equipment_for(index)
            readiness = readiness_for(index)
            if readiness is Readiness.OUT_OF_AMMUNITION:
                ammunition = dict.fromkeys(ammunition, 0)
            sites.append(
                Site(
                    code=code,
                    name=f"{county.name_zh} {number} 号作业点",
                    county=county.key,
                    lat=lat,
                    lon=lon,
                    elevation_m=float(round(rng.uniform(low, high), -1)),
                    equipment=equipment,
                    ammunition=ammunition,
                    readiness=readiness,
                    contacts=(
                        Contact(
                            name=f"样例站长 {code}",
                            phone=f"0358-0{101 + index:06d}",
                            role="站长 site head (SAMPLE)",
                        ),
                    ),
                    sample=True,
                )
            )
            index += 1
    return sites


def main() -> None:
    deployment = load_deployment(include_sites=False)
    sites = make_sites(deployment)
    collection = sites_to_geojson(sites, note=NOTE, name="luliang_sample_sites")
    collection = {"type": collection.pop("type"), "sample": True, **collection}
    text = json.dumps(collection, ensure_ascii=False, indent=1) + "\n"
    # The output must pass the same validation the deployment applies when loading it.
    sites_from_geojson(text, counties=deployment.county_areas(), area=deployment.area)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {len(sites)} sample sites to {OUTPUT}")


if __name__ == "__main__":
    main()
