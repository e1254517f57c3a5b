"""Plain factories for ``sites`` objects, shared by every package's tests.

Each returns a valid object with sensible defaults; keyword overrides replace fields::

    site = make_site(code="T-02", equipment=(make_rocket(range_km=10),))

The default site stands in Lishi county (inside the Lüliang deployment, clear of the ZBLL
control zone) with one 37 mm gun pair that may fire all round.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sites.model import Contact, Equipment, EquipmentKind, Readiness, Sector, Site

#: A point in Lishi, about 17 km south-east of ZBLL and outside its control zone.
DEFAULT_LAT = 37.54
DEFAULT_LON = 111.27

FULL_CIRCLE = Sector(0.0, 360.0)


def make_sector(start_deg: float = 0.0, end_deg: float = 360.0) -> Sector:
    return Sector(start_deg, end_deg)


def make_equipment(**overrides: Any) -> Equipment:
    """A 37 mm gun (pair): 8 km range, 6.5 km ceiling, full circle, elevation 45-85°."""
    equipment = Equipment(
        kind=EquipmentKind.GUN_37MM,
        model="37mm 高炮",
        range_km=8.0,
        ceiling_km=6.5,
        sectors=(FULL_CIRCLE,),
        min_elevation_deg=45.0,
        max_elevation_deg=85.0,
        count=2,
    )
    return replace(equipment, **overrides)


def make_rocket(**overrides: Any) -> Equipment:
    """A WR-98 rocket launcher: 10 km range, 8 km ceiling, full circle."""
    rocket = make_equipment(
        kind=EquipmentKind.ROCKET, model="WR-98", range_km=10.0, ceiling_km=8.0, count=1
    )
    return replace(rocket, **overrides)


def make_contact(**overrides: Any) -> Contact:
    contact = Contact(name="测试站长", phone="0358-0000999", role="站长 site head")
    return replace(contact, **overrides)


def make_site(**overrides: Any) -> Site:
    """A ready site ``T-01`` in Lishi with one gun pair, 200 shells and one contact."""
    site = Site(
        code="T-01",
        name="离石区测试作业点",
        county="lishi",
        lat=DEFAULT_LAT,
        lon=DEFAULT_LON,
        elevation_m=1200.0,
        equipment=(make_equipment(),),
        ammunition={"37mm_shell": 200},
        readiness=Readiness.READY,
        contacts=(make_contact(),),
        sample=False,
    )
    return replace(site, **overrides)
