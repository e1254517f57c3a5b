"""Verification of hail predictions against ground-truth hail reports.

A *prediction* is anything that says "hail here, then": a warning for an area, a detected hail
cell (its position at a scan, valid for a while), a track's forecast swath, or an operation
aimed at a storm.  A *report* is a ground observation of hail (time, place, size).  This
module pairs them with explicit space/time rules and computes the standard scores of warning
verification (NWS Directive 10-1601; Wilks 2011, *Statistical Methods in the Atmospheric
Sciences*, ch. 8; Schaefer 1990, Wea. Forecasting 5, 570–575).

Matching rule (one rule for every kind of prediction)
    A report *r* verifies a prediction *p* when both hold:

    * time:  ``p.valid_from - rules.time_slack <= r.time <= p.valid_until + rules.time_slack``
    * space: the great-circle distance from *r* to the prediction's area is at most
      ``rules.distance_km``.  A circle prediction's area is the disc of ``radius_km`` round
      ``(lat, lon)``, so the distance is ``max(0, d(r, centre) - radius_km)``; a polygon
      prediction's distance is 0 inside the polygon and the distance to its edge outside.

    Reports smaller than ``rules.min_size_mm`` are ignored (neither hits nor misses);
    reports without a size count.

Counting (NWS convention: detection is counted per report, false alarms per prediction)
    * hit: a report verified by at least one prediction; ``H`` hits.
    * miss: a report verified by none; ``M`` misses.
    * verified prediction: a prediction that verifies at least one report; ``V``.
    * false alarm: a prediction that verifies no report; ``F``.

Scores
    * probability of detection ``POD = H / (H + M)``
    * false-alarm ratio ``FAR = F / (V + F)``
    * critical success index ``CSI = 1 / (1 / POD + 1 / (1 - FAR) - 1)`` (Schaefer 1990;
      it reduces to ``H / (H + M + F)`` when each hit is one verified prediction).
      CSI is 0 when POD is 0 or FAR is 1.
    * lead time of a hit: ``r.time - min(p.issued_at)`` over the predictions that verify it
      and were issued **at or before** the report; a hit whose predictions were all issued
      after the report has lead time 0 (NWS convention).  ``mean_lead_time_s`` is the mean
      over hits.

    A score whose denominator is 0 is ``None`` (undefined), never 0: with no reports there is
    nothing to detect, with no predictions nothing can be a false alarm.

All times are timezone-aware UTC ``datetime``; positions WGS84 degrees.  Pure functions, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius


class VerificationError(ValueError):
    """Bad input to verification (naive times, a window that ends before it starts...)."""


@dataclass(frozen=True)
class HailReport:
    """A ground-truth hail observation."""

    time: datetime
    lat: float
    lon: float
    size_mm: float | None = None
    id: str = ""
    place: str = ""


@dataclass(frozen=True)
class Prediction:
    """Hail predicted inside an area during ``[valid_from, valid_until]``.

    The area is a circle (``lat``, ``lon``, ``radius_km``) unless ``polygon`` (WGS84
    ``[(lon, lat), ...]`` ring) or ``polygons`` (several rings: their union) is given.  ``issued_at`` is when the prediction was made
    (for lead time); it defaults to ``valid_from``.  ``kind`` is free text ("warning",
    "cell", "track", "operation").
    """

    id: str
    valid_from: datetime
    valid_until: datetime
    lat: float = 0.0
    lon: float = 0.0
    radius_km: float = 0.0
    polygon: tuple[tuple[float, float], ...] | None = None
    issued_at: datetime | None = None
    kind: str = ""
    #: several rings (e.g. the counties a warning names): the area is their union.
    polygons: tuple[tuple[tuple[float, float], ...], ...] = ()

    @property
    def issued(self) -> datetime:
        return self.issued_at if self.issued_at is not None else self.valid_from


@dataclass(frozen=True)
class MatchRules:
    """The space/time tolerances of a match (see the module docstring)."""

    distance_km: float = 10.0
    time_slack: timedelta = timedelta(minutes=0)
    min_size_mm: float = 0.0


@dataclass(frozen=True)
class Scores:
    """The contingency counts, the scores and who matched whom."""

    hits: int
    misses: int
    false_alarms: int
    verified: int
    pod: float | None
    far: float | None
    csi: float | None
    lead_times_s: dict[str, float] = field(default_factory=dict)  # report id -> seconds
    mean_lead_time_s: float | None = None
    matches: dict[str, tuple[str, ...]] = field(default_factory=dict)  # report id -> prediction ids
    reports: int = 0
    predictions: int = 0

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-ready numbers (for reports and APIs)."""
        return {"reports": self.reports, "predictions": self.predictions, "hits": self.hits,
                "misses": self.misses, "false_alarms": self.false_alarms,
                "verified": self.verified, "pod": self.pod, "far": self.far, "csi": self.csi,
                "mean_lead_time_s": self.mean_lead_time_s,
                "lead_times_s": dict(self.lead_times_s),
                "matches": {k: list(v) for k, v in self.matches.items()}}


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in km on a sphere of radius ``EARTH_RADIUS_KM``:
    ``d = 2R asin(sqrt(sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2)))``."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _local_xy(lat0: float, lon0: float, lat: float, lon: float) -> tuple[float, float]:
    """Equirectangular km offsets from (lat0, lon0): good to well under 1 % within 300 km."""
    x = math.radians(lon - lon0) * math.cos(math.radians(lat0)) * EARTH_RADIUS_KM
    y = math.radians(lat - lat0) * EARTH_RADIUS_KM
    return x, y


def distance_to_area_km(report: HailReport, prediction: Prediction) -> float:
    """Distance (km) from the report to the prediction's area; 0 inside it."""
    rings = ([prediction.polygon] if prediction.polygon else []) + list(prediction.polygons)
    if rings:
        distances = []
        for ring in rings:
            xy = [_local_xy(report.lat, report.lon, lat, lon) for lon, lat in ring]
            shape: BaseGeometry = Polygon(xy)
            distances.append(float(shape.distance(Point(0.0, 0.0))))
        return min(distances)
    d = great_circle_km(report.lat, report.lon, prediction.lat, prediction.lon)
    return max(0.0, d - prediction.radius_km)


def _check_time(value: datetime, what: str) -> None:
    if value.tzinfo is None:
        raise VerificationError(f"{what}: time must be timezone-aware (UTC)")


def matches(report: HailReport, prediction: Prediction, rules: MatchRules = MatchRules()) -> bool:
    """True when ``report`` verifies ``prediction`` under ``rules`` (module docstring)."""
    _check_time(report.time, f"report {report.id or '?'}")
    _check_time(prediction.valid_from, f"prediction {prediction.id}")
    _check_time(prediction.valid_until, f"prediction {prediction.id}")
    if prediction.valid_until < prediction.valid_from:
        raise VerificationError(f"prediction {prediction.id}: valid_until before valid_from")
    if not (prediction.valid_from - rules.time_slack <= report.time
            <= prediction.valid_until + rules.time_slack):
        return False
    return distance_to_area_km(report, prediction) <= rules.distance_km


def verify(predictions: Iterable[Prediction], reports: Iterable[HailReport],
           rules: MatchRules = MatchRules()) -> Scores:
    """Score ``predictions`` against ``reports`` (formulas in the module docstring)."""
    preds: Sequence[Prediction] = list(predictions)
    reps = [r for r in reports if r.size_mm is None or r.size_mm >= rules.min_size_mm]
    ids = [r.id or f"report-{i + 1}" for i, r in enumerate(reps)]
    verified_preds: set[int] = set()
    matched: dict[str, tuple[str, ...]] = {}
    lead: dict[str, float] = {}
    for rid, rep in zip(ids, reps, strict=True):
        hit_by = [j for j, p in enumerate(preds) if matches(rep, p, rules)]
        if not hit_by:
            continue
        verified_preds.update(hit_by)
        matched[rid] = tuple(preds[j].id for j in hit_by)
        before = [preds[j].issued for j in hit_by if preds[j].issued <= rep.time]
        lead[rid] = (rep.time - min(before)).total_seconds() if before else 0.0
    hits = len(matched)
    misses = len(reps) - hits
    verified = len(verified_preds)
    false_alarms = len(preds) - verified
    pod = hits / (hits + misses) if reps else None
    far = false_alarms / (verified + false_alarms) if preds else None
    csi = critical_success_index(pod, far)
    mean_lead = sum(lead.values()) / len(lead) if lead else None
    return Scores(hits=hits, misses=misses, false_alarms=false_alarms, verified=verified,
                  pod=pod, far=far, csi=csi, lead_times_s=lead, mean_lead_time_s=mean_lead,
                  matches=matched, reports=len(reps), predictions=len(preds))


def critical_success_index(pod: float | None, far: float | None) -> float | None:
    """``CSI = 1 / (1/POD + 1/(1 - FAR) - 1)`` (Schaefer 1990); 0 when POD = 0 or FAR = 1;
    ``None`` when either is undefined."""
    if pod is None or far is None:
        return None
    if pod == 0 or far >= 1:
        return 0.0
    return 1.0 / (1.0 / pod + 1.0 / (1.0 - far) - 1.0)
