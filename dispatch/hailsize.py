"""Size classes of ground hail reports (降雹实况) and their conversion to verification reports.

The classes follow the usual Chinese reporting practice (hail diameter D):

=========  ==========  ===============  =========================
class      label       D range (mm)     representative size (mm)
=========  ==========  ===============  =========================
graupel    霰/小冰粒    D < 5            3
small      小冰雹       5 <= D < 10      7.5
medium     中冰雹       10 <= D < 20     15
large      大冰雹       20 <= D < 50     35
giant      特大冰雹     D >= 50          60
=========  ==========  ===============  =========================

The representative size (mid-range; 60 mm for the open class) is what
``dispatch.verification`` compares with ``MatchRules.min_size_mm``; "severe" hail
(>= 19 mm, Witt 1998) is therefore ``large`` and ``giant``.
"""

from __future__ import annotations

import enum
from datetime import datetime

from dispatch.verification import HailReport


class SizeClass(enum.StrEnum):
    GRAUPEL = "graupel"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"
    GIANT = "giant"

    @property
    def range_mm(self) -> tuple[float, float | None]:
        return _RANGES[self]

    @property
    def representative_mm(self) -> float:
        return _REPRESENTATIVE[self]

    @property
    def label_zh(self) -> str:
        return _LABEL_ZH[self]


_RANGES: dict[SizeClass, tuple[float, float | None]] = {
    SizeClass.GRAUPEL: (0.0, 5.0), SizeClass.SMALL: (5.0, 10.0), SizeClass.MEDIUM: (10.0, 20.0),
    SizeClass.LARGE: (20.0, 50.0), SizeClass.GIANT: (50.0, None)}
_REPRESENTATIVE = {SizeClass.GRAUPEL: 3.0, SizeClass.SMALL: 7.5, SizeClass.MEDIUM: 15.0,
                   SizeClass.LARGE: 35.0, SizeClass.GIANT: 60.0}
_LABEL_ZH = {SizeClass.GRAUPEL: "霰（<5毫米）", SizeClass.SMALL: "小冰雹（5–10毫米）",
             SizeClass.MEDIUM: "中冰雹（10–20毫米）", SizeClass.LARGE: "大冰雹（20–50毫米）",
             SizeClass.GIANT: "特大冰雹（≥50毫米）"}


def size_class_of(diameter_mm: float) -> SizeClass:
    """The class whose range ``[low, high)`` holds ``diameter_mm``."""
    if diameter_mm < 0:
        raise ValueError("a hail diameter cannot be negative")
    for cls, (low, high) in _RANGES.items():
        if diameter_mm >= low and (high is None or diameter_mm < high):
            return cls
    raise AssertionError("unreachable: the ranges cover [0, inf)")


def to_hail_report(report_id: str, observed_at: datetime, lat: float, lon: float,
                   size_class: str, place: str = "") -> HailReport:
    """A ground report as a verification report (size = the class's representative size)."""
    cls = SizeClass(size_class)
    return HailReport(time=observed_at, lat=lat, lon=lon, size_mm=cls.representative_mm,
                      id=report_id, place=place)
