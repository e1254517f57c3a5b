"""Which sites should engage which hail cells, and when, where to aim, with what.

Method
------
1. Path of each cell over the operation window (default 40 min from ``now``), sampled every
   ``step_s`` (default 60 s): from its nowcast (:class:`CellPath` — e.g. the centroids of
   :class:`radar.nowcast.TrackNowcast` steps, interpolated linearly between leads), from a
   motion vector (geodesic dead reckoning), or stationary when nothing else is known.  The
   hail core's centroid is what is tested: that is where the seeding is aimed.
2. Sites that cannot engage at all are excluded with the reason: offline, out of ammunition,
   already engaged, or every piece's ceiling below the seeding layer bottom
   (:mod:`dispatch.engagement`).
3. Geometry in one azimuthal-equidistant frame centred on the sites (scale error < 1e-4
   within 150 km of the centre): per site and piece, the engagement polygon
   (:func:`sites.geometry.engagement_polygon_local`: range ∩ safe sectors − no-fire areas) is
   built once and cached (:class:`EngagementIndex`).  A vectorised distance test
   (numpy, all sites × cells × samples) keeps only samples within range; only those go to
   ``shapely.contains_xy`` against the prepared polygon.
4. A candidate is a (site, cell) whose path enters the polygon inside the window: the
   intercept window runs from the first sample inside to the end of that first stay;
   ranked by time to intercept, then time in range, ammunition, readiness.
5. Threat per cell: ``w_posh * POSH/100 + w_mesh * min(MESH/50 mm, 1) + w_urgency * u`` with
   ``u = 1 - t_reach / window`` (``t_reach`` = when the path first enters a populated/county
   area; 0 if never within the window).  Demand: one site, plus one per
   ``area_per_extra_site_km2`` of cell area, at most ``max_sites_per_cell``.
0. Cells whose hail verdict is ``cannot_tell`` (the radar did not see enough: cone of
   silence, lowest beam above H0, missing sweeps, no vertical products) are not assessed:
   they are returned in ``to_review`` with their reason, for a forecaster to decide.
6. Assignment: ``scipy.optimize.linear_sum_assignment`` (maximise) over sites × demand copies
   of the cells, benefit ``1000 * threat * 0.5**copy + quality`` (quality in (0, 1] from the
   ranking terms): the most threatening cells are covered first, a cell's first site before a
   second site for a big cell, and one site engages one cell.
7. The forecaster's review (``reviews``: cell id → ``new``/``confirmed``/``dismissed``, the
   review of the cell's storm).  DOMAIN §2 puts confirmation before planning, but the window
   is short (10–40 min) and airspace approval is the slowest step, so a storm not yet
   reviewed is still planned — its recommendations carry ``confirmed: false`` and the
   consoles mark them "awaiting the forecaster's confirmation"; a **dismissed** storm is not
   planned at all (``dismissed``), so it takes no site from the others.  Without ``reviews``
   (the command line) ``confirmed`` is ``None``: unknown.
8. Re-engagement: a site whose last firing ended less than ``reengage_cooldown_min`` (10 min
   by default; ``HAILOPS_REENGAGE_COOLDOWN_MIN``) before ``now`` is excluded until then
   ("ready again at"): the crew clears and re-lays the piece, reloads, reports at once
   (DOMAIN §2, "What practice shows") and needs a new airspace window; DOMAIN gives no
   figure, so it is a setting.  ``last_firing`` maps a site code to that end time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Geod
from scipy.optimize import linear_sum_assignment
from shapely.geometry.base import BaseGeometry

from dispatch.clearance import iso_utc
from dispatch.engagement import (
    Aim,
    SeedingLayer,
    aim_from_geometry,
    aim_height_m,
    ammunition_types,
    ceiling_asl_m,
    equipment_kind_if_unnamed,
    reach_problem_reason,
)
from dispatch.reasons import Reason, joined, reason
from radar.model import HailCell, TemperatureLevels
from sites.geometry import LocalFrame, engagement_polygon_local, local_frame
from sites.model import Equipment, EquipmentKind, Readiness, Site

_GEOD = Geod(ellps="WGS84")
_READINESS_ORDER = {Readiness.READY: 0, Readiness.STANDBY: 1}


@dataclass(frozen=True)
class RecommendConfig:
    """Tunable figures of the recommendation (all documented in the module docstring)."""

    window_min: float = 40.0
    step_s: float = 60.0
    #: Rounds (guns) or rockets suggested per piece of equipment and engagement.
    per_piece: Mapping[EquipmentKind, int] = field(
        default_factory=lambda: {EquipmentKind.GUN_37MM: 20, EquipmentKind.ROCKET: 2}
    )
    area_per_extra_site_km2: float = 150.0
    max_sites_per_cell: int = 3
    w_posh: float = 0.4
    w_mesh: float = 0.3
    w_urgency: float = 0.3
    #: Sites whose closest approach is within this many ranges are listed as "never in range";
    #: farther ones are simply not candidates (200 × 30 such lines help nobody).
    near_miss_ranges: float = 2.0
    #: A site is not recommended again until this long after its last firing ended (step 8).
    reengage_cooldown_min: float = 10.0


# --------------------------------------------------------------------------- cell paths


class _NowcastStep(Protocol):
    @property
    def valid_time(self) -> datetime: ...
    @property
    def centroid(self) -> tuple[float, float]: ...


class _Nowcast(Protocol):
    """What :class:`radar.nowcast.TrackNowcast` offers (structural, so the heavy tracking
    module is not imported here)."""

    @property
    def issued_at(self) -> datetime: ...
    @property
    def centroid(self) -> tuple[float, float]: ...
    @property
    def steps(self) -> Sequence[_NowcastStep]: ...


@dataclass(frozen=True)
class CellPath:
    """Forecast centroid positions of one cell: times (aware UTC) with ``(lon, lat)``."""

    cell_id: str
    times: tuple[datetime, ...]
    positions: tuple[tuple[float, float], ...]

    @classmethod
    def stationary(cls, cell: HailCell) -> CellPath:
        return cls(cell.id, (cell.scan_time,), (cell.centroid,))

    @classmethod
    def from_motion(
        cls, cell: HailCell, speed_mps: float, direction_deg: float, horizon_min: float = 60.0
    ) -> CellPath:
        """Dead reckoning along the geodesic toward ``direction_deg`` (where it moves to)."""
        leads = np.arange(0.0, horizon_min + 1e-9, 5.0)
        lon0, lat0 = cell.centroid
        n = len(leads)
        lons, lats, _ = _GEOD.fwd(
            np.full(n, lon0), np.full(n, lat0), np.full(n, direction_deg), speed_mps * leads * 60.0
        )
        times = tuple(cell.scan_time + timedelta(minutes=float(m)) for m in leads)
        return cls(cell.id, times, tuple(zip(map(float, lons), map(float, lats), strict=True)))

    @classmethod
    def from_nowcast(cls, cell_id: str, nowcast: _Nowcast) -> CellPath:
        """From a track's nowcast: its issue centroid, then each lead's centroid."""
        times = (nowcast.issued_at, *(s.valid_time for s in nowcast.steps))
        positions = (nowcast.centroid, *(s.centroid for s in nowcast.steps))
        return cls(cell_id, times, positions)

    def sample(
        self, times_s: NDArray[np.float64], epoch: datetime
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(lon, lat)`` at ``epoch + times_s``: linear between points, held beyond the ends
        only for a single-point (stationary) path, else extrapolated along the last leg."""
        t = np.array([(tt - epoch).total_seconds() for tt in self.times])
        lon = np.array([p[0] for p in self.positions])
        lat = np.array([p[1] for p in self.positions])
        if len(t) == 1:
            return np.full_like(times_s, lon[0]), np.full_like(times_s, lat[0])
        order = np.argsort(t)
        t, lon, lat = t[order], lon[order], lat[order]
        out_lon = np.interp(times_s, t, lon)
        out_lat = np.interp(times_s, t, lat)
        for end, (i, j) in ((times_s > t[-1], (-2, -1)), (times_s < t[0], (0, 1))):
            if end.any():
                rate_lon = (lon[j] - lon[i]) / (t[j] - t[i])
                rate_lat = (lat[j] - lat[i]) / (t[j] - t[i])
                ref = -1 if j == -1 else 0
                out_lon[end] = lon[ref] + rate_lon * (times_s[end] - t[ref])
                out_lat[end] = lat[ref] + rate_lat * (times_s[end] - t[ref])
        return out_lon, out_lat


# --------------------------------------------------------------------------- geometry index


@lru_cache(maxsize=4096)
def _engagement_in_frame(
    site: Site, equipment: Equipment, no_fire: tuple[BaseGeometry, ...], frame: LocalFrame
) -> BaseGeometry:
    # Cached per (site, piece, no-fire areas, frame): the polygon is built once per process.
    local = engagement_polygon_local(site, equipment, no_fire)
    polygon = frame.to_local(local_frame(site.lat, site.lon).to_lonlat(local))
    shapely.prepare(polygon)
    return polygon


@lru_cache(maxsize=8)
def _area_in_frame(areas: tuple[BaseGeometry, ...], frame: LocalFrame) -> BaseGeometry | None:
    # The populated/county areas change with the deployment, not per call: cached.
    if not areas:
        return None
    area = shapely.union_all([frame.to_local(a) for a in areas])
    shapely.prepare(area)
    return area


@dataclass(frozen=True, eq=False)
class EngagementIndex:
    """Engagement polygons of every (site, piece) in one common frame, ready for queries.

    Build once per site registry (:meth:`build`); polygons are cached per site, so a rebuild
    after a readiness or stock change costs only cache look-ups.
    """

    frame: LocalFrame
    rows: tuple[tuple[int, int], ...]  # (site index, equipment index)
    sites: tuple[Site, ...]
    x_m: NDArray[np.float64]
    y_m: NDArray[np.float64]
    range_m: NDArray[np.float64]
    polygons: tuple[BaseGeometry, ...]

    @classmethod
    def build(
        cls, sites: Sequence[Site], no_fire_areas: Iterable[BaseGeometry] = ()
    ) -> EngagementIndex:
        sites = tuple(sites)
        no_fire = tuple(no_fire_areas)
        if sites:
            lat0 = round(float(np.mean([s.lat for s in sites])), 2)
            lon0 = round(float(np.mean([s.lon for s in sites])), 2)
        else:
            lat0, lon0 = 0.0, 0.0
        frame = local_frame(lat0, lon0)
        rows = tuple((i, j) for i, s in enumerate(sites) for j in range(len(s.equipment)))
        xs, ys = frame.xy_many(
            [sites[i].lon for i, _ in rows], [sites[i].lat for i, _ in rows]
        )
        return cls(
            frame=frame,
            rows=rows,
            sites=sites,
            x_m=np.asarray(xs, dtype=float).reshape(len(rows)),
            y_m=np.asarray(ys, dtype=float).reshape(len(rows)),
            range_m=np.array([sites[i].equipment[j].range_km * 1000.0 for i, j in rows]),
            polygons=tuple(
                _engagement_in_frame(sites[i], sites[i].equipment[j], no_fire, frame)
                for i, j in rows
            ),
        )

    def project(
        self, lon: NDArray[np.float64], lat: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        x, y = self.frame.xy_many(lon, lat)
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Candidate:
    cell_id: str
    site_code: str
    equipment: Equipment
    window_start: datetime
    window_end: datetime
    time_in_range_s: float
    aim: Aim
    ammunition: dict[str, int] = field(hash=False)
    readiness: Readiness
    max_altitude_m: float
    reasons: tuple[str, ...] = ()
    details: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class Exclusion:
    site_code: str
    reason: str  # the English sentence (the JSON contract)
    details: tuple[Reason, ...] = ()  # the same as data (``reason_details``)


@dataclass(frozen=True)
class CellAssessment:
    cell_id: str
    threat: float
    demand: int
    reach_area_at: datetime | None  # first entry into a populated/county area
    candidates: tuple[Candidate, ...]  # ranked
    excluded: tuple[Exclusion, ...]
    review: str | None = None  # the storm's review (step 7); None: unknown


@dataclass(frozen=True)
class Recommendation:
    cell_id: str
    site_code: str
    window_start: datetime
    window_end: datetime
    azimuth_deg: float
    elevation_deg: float
    ammunition: dict[str, int] = field(hash=False)
    max_altitude_m: float
    reasons: tuple[str, ...]
    threat: float
    confirmed: bool | None = None  # the forecaster confirmed the storm (step 7); None: unknown
    details: tuple[Reason, ...] = ()  # ``reasons`` as data (dispatch.reasons)


@dataclass(frozen=True)
class ReviewCell:
    """A cell the radar could not judge (verdict ``cannot_tell``): a threat for a forecaster
    to review, never engaged automatically."""

    cell_id: str
    max_dbz: float
    sampling: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class RecommendationSet:
    at: datetime
    window_min: float
    layer: SeedingLayer
    cells: tuple[CellAssessment, ...]
    recommendations: tuple[Recommendation, ...]
    to_review: tuple[ReviewCell, ...] = ()
    dismissed: tuple[str, ...] = ()  # cells of storms the forecaster dismissed (step 7)


# --------------------------------------------------------------------------- the core


def _site_exclusion(
    site: Site,
    engaged: Collection[str],
    ready_at: datetime | None = None,
    cooldown_min: float = 0.0,
) -> Reason | None:
    if site.readiness == Readiness.OFFLINE:
        return reason("offline")
    if site.code in engaged or site.readiness == Readiness.FIRING:
        return reason("engaged")
    if site.readiness == Readiness.OUT_OF_AMMUNITION or not any(
        n > 0 for n in site.ammunition.values()
    ):
        return reason("out_of_ammunition")
    if ready_at is not None:
        ended = ready_at - timedelta(minutes=cooldown_min)
        return reason("cooldown", cooldown=f"{cooldown_min:g}", ended=ended, ready=ready_at)
    return None


def ready_again_at(
    last_firing: Mapping[str, datetime], now: datetime, config: RecommendConfig
) -> dict[str, datetime]:
    """Sites still within the re-engagement cooldown at ``now`` (step 8): code → when the
    cooldown after their last firing ends (none when the cooldown is 0: the rule is off)."""
    if config.reengage_cooldown_min <= 0:
        return {}
    cooldown = timedelta(minutes=config.reengage_cooldown_min)
    return {
        code: ended + cooldown for code, ended in last_firing.items() if ended + cooldown > now
    }


def _suggest_ammunition(
    site: Site, equipment: Equipment, config: RecommendConfig
) -> dict[str, int]:
    stock = site.ammunition
    for ammo_type in ammunition_types(equipment, stock):
        have = stock.get(ammo_type, 0)
        if have > 0:
            return {ammo_type: min(have, config.per_piece.get(equipment.kind, 1) * equipment.count)}
    return {}


def threat_score(cell: HailCell, reach_s: float | None, config: RecommendConfig) -> float:
    """The cell's threat in [0, 1] (module docstring, step 5)."""
    posh = min(max((cell.posh_pct or 0.0) / 100.0, 0.0), 1.0)
    mesh = min(max((cell.mesh_mm or 0.0) / 50.0, 0.0), 1.0)
    window_s = config.window_min * 60.0
    urgency = 0.0 if reach_s is None else max(0.0, 1.0 - reach_s / window_s)
    return config.w_posh * posh + config.w_mesh * mesh + config.w_urgency * urgency


def _usable_pieces(
    index: EngagementIndex,
    layer: SeedingLayer,
    engaged: Collection[str],
    config: RecommendConfig,
    cooling: Mapping[str, datetime] | None = None,
) -> tuple[NDArray[np.bool_], dict[int, tuple[Reason, ...]]]:
    """Which (site, piece) rows can engage at all, and why each excluded site cannot."""
    usable = np.zeros(len(index.rows), dtype=bool)
    site_reason: dict[int, tuple[Reason, ...]] = {}
    piece_problems: dict[int, list[Reason]] = {}
    cooling = cooling or {}
    for r, (i, j) in enumerate(index.rows):
        site = index.sites[i]
        excluded = _site_exclusion(
            site, engaged, cooling.get(site.code), config.reengage_cooldown_min
        )
        if excluded is not None:
            site_reason[i] = (excluded,)
            continue
        equipment = site.equipment[j]
        problem = reach_problem_reason(site, equipment, layer)
        if problem is None and not _suggest_ammunition(site, equipment, config):
            problem = reason("no_ammunition", equipment=equipment.model or equipment.kind.value,
                             equipment_kind=equipment_kind_if_unnamed(equipment))
        if problem is None:
            usable[r] = True
        else:
            piece_problems.setdefault(i, []).append(problem)
    usable_sites = {index.rows[r][0] for r in np.flatnonzero(usable).tolist()}
    for i, problems in piece_problems.items():
        if i not in usable_sites:
            site_reason[i] = tuple(problems)
    return usable, site_reason


def recommend(
    cells: Sequence[HailCell],
    sites: Sequence[Site],
    levels: TemperatureLevels | SeedingLayer,
    now: datetime,
    *,
    paths: Mapping[str, CellPath] | None = None,
    index: EngagementIndex | None = None,
    no_fire_areas: Iterable[BaseGeometry] = (),
    threat_areas: Iterable[BaseGeometry] = (),
    engaged: Collection[str] = (),
    config: RecommendConfig | None = None,
    reviews: Mapping[str, str] | None = None,
    last_firing: Mapping[str, datetime] | None = None,
) -> RecommendationSet:
    """Candidates, exclusions and the optimal site-to-cell assignment (module docstring).

    ``paths`` maps a cell id to its forecast path (missing: stationary).  ``index`` is a
    prebuilt :class:`EngagementIndex` for ``sites`` (built here, from ``no_fire_areas``, when
    not given).  ``threat_areas`` are the populated/county polygons (WGS84) whose time to
    reach raises a cell's threat.  ``engaged`` holds the codes of sites busy elsewhere.
    Exclusions are listed per cell for the sites the cell passes near (within
    ``config.near_miss_ranges`` ranges); the rest are simply not candidates.  ``reviews``
    maps a cell id to its storm's review (step 7), ``last_firing`` a site code to when its
    last firing ended (step 8).
    """
    config = config or RecommendConfig()
    # Dismissed storms are not planned (step 7): they take no site from the others.
    dismissed = tuple(c.id for c in cells if (reviews or {}).get(c.id) == "dismissed")
    cells = [c for c in cells if c.id not in dismissed]
    # "Cannot tell" cells (radar blind to part of the storm) are listed for review, with
    # their reason, and never assigned a site: a person decides, not the optimiser.
    to_review = tuple(
        ReviewCell(c.id, c.max_dbz, tuple(c.sampling), c.verdict_reason or "")
        for c in cells
        if c.verdict == "cannot_tell"
    )
    cells = [c for c in cells if c.verdict != "cannot_tell"]
    layer = levels if isinstance(levels, SeedingLayer) else SeedingLayer.from_levels(levels)
    if index is None or index.sites != tuple(sites):
        index = EngagementIndex.build(sites, no_fire_areas)
    sites = index.sites
    paths = paths or {}
    window_s = config.window_min * 60.0
    times_s = np.arange(0.0, window_s + 0.5 * config.step_s, config.step_s)
    times_s = times_s[times_s <= window_s]
    n_cells, n_steps = len(cells), len(times_s)
    horizon = now + timedelta(seconds=window_s)

    # Positions of every cell at every sample time; one projection call for all.
    lon = np.empty((n_cells, n_steps))
    lat = np.empty((n_cells, n_steps))
    for c, cell in enumerate(cells):
        lon[c], lat[c] = (paths.get(cell.id) or CellPath.stationary(cell)).sample(times_s, now)
    px, py = index.project(lon.ravel(), lat.ravel())
    px, py = px.reshape(n_cells, n_steps), py.reshape(n_cells, n_steps)

    cooling = ready_again_at(last_firing or {}, now, config)
    usable, site_reason = _usable_pieces(index, layer, engaged, config, cooling)

    # Distance prefilter, vectorised over pieces x cells x samples; the exact polygon test
    # (shapely, prepared) only for the samples within range of a usable piece.
    dx = px[None, :, :] - index.x_m[:, None, None]
    dy = py[None, :, :] - index.y_m[:, None, None]
    dist2 = dx * dx + dy * dy
    near = (dist2 <= (index.range_m[:, None, None] ** 2)) & usable[:, None, None]
    inside = np.zeros_like(near)
    for r in np.flatnonzero(near.any(axis=(1, 2))).tolist():
        mask = near[r]
        inside[r][mask] = shapely.contains_xy(index.polygons[r], px[mask], py[mask])
    # Closest approach in ranges, per site (its best piece) and cell: who is "near".
    closeness = np.full((len(sites), n_cells), np.inf)  # closest approach / range
    closest_km = np.full((len(sites), n_cells), np.inf)
    if n_steps:
        row_km = np.sqrt(dist2.min(axis=2)) / 1000.0
        for r, (i, _) in enumerate(index.rows):
            np.minimum(closeness[i], row_km[r] * 1000.0 / index.range_m[r], out=closeness[i])
            np.minimum(closest_km[i], row_km[r], out=closest_km[i])

    # Threat: when the path first enters a populated/county area.
    reach_s: list[float | None] = [None] * n_cells
    area = _area_in_frame(tuple(threat_areas), index.frame)
    if area is not None and n_steps:
        hits = shapely.contains_xy(area, px.ravel(), py.ravel()).reshape(n_cells, n_steps)
        for c in np.flatnonzero(hits.any(axis=1)).tolist():
            reach_s[c] = float(times_s[int(np.argmax(hits[c]))])

    # Candidates; per (site, cell) keep the piece with the best rank.
    best: dict[tuple[int, int], Candidate] = {}
    rows_hit, cells_hit = np.nonzero(inside.any(axis=2))
    for r, c in zip(rows_hit.tolist(), cells_hit.tolist(), strict=True):
        i, j = index.rows[r]
        flags = inside[r, c]
        first = int(np.argmax(flags))
        out_after = np.flatnonzero(~flags[first:])
        last = first + int(out_after[0]) - 1 if out_after.size else n_steps - 1
        site, equipment = sites[i], sites[i].equipment[j]
        aim = _aim_in_run(site, equipment, layer, lon[c], lat[c], first, last)
        candidate = Candidate(
            cell_id=cells[c].id,
            site_code=site.code,
            equipment=equipment,
            window_start=now + timedelta(seconds=float(times_s[first])),
            window_end=min(now + timedelta(seconds=float(times_s[last] + config.step_s)), horizon),
            time_in_range_s=float(flags.sum()) * config.step_s,
            aim=aim,
            ammunition=_suggest_ammunition(site, equipment, config),
            readiness=site.readiness,
            max_altitude_m=ceiling_asl_m(site, equipment),
            reasons=aim.reasons,
            details=aim.details,
        )
        previous = best.get((i, c))
        if previous is None or _rank_key(candidate) < _rank_key(previous):
            best[(i, c)] = candidate

    assessments: list[CellAssessment] = []
    for c, cell in enumerate(cells):
        ranked = sorted((cand for (i, cc), cand in best.items() if cc == c), key=_rank_key)
        excluded: list[Exclusion] = []
        for i in np.flatnonzero(closeness[:, c] <= config.near_miss_ranges).tolist():
            if i in site_reason:
                excluded.append(Exclusion(sites[i].code, joined(site_reason[i]), site_reason[i]))
            elif (i, c) not in best:
                never = _never_in_range(sites[i], float(closest_km[i, c]), config)
                excluded.append(Exclusion(sites[i].code, never.text, (never,)))
        when = reach_s[c]
        assessments.append(
            CellAssessment(
                cell_id=cell.id,
                threat=round(threat_score(cell, when, config), 3),
                demand=min(
                    config.max_sites_per_cell,
                    1 + int(cell.area_km2 // config.area_per_extra_site_km2),
                ),
                reach_area_at=None if when is None else now + timedelta(seconds=when),
                candidates=tuple(ranked),
                excluded=tuple(excluded),
                review=None if reviews is None else reviews.get(cell.id, "new"),
            )
        )
    return RecommendationSet(
        at=now,
        window_min=config.window_min,
        layer=layer,
        cells=tuple(assessments),
        recommendations=_assign(assessments, sites, now, config),
        to_review=to_review,
        dismissed=dismissed,
    )


def _rank_key(candidate: Candidate) -> tuple[datetime, float, float, int]:
    ammo = -float(sum(candidate.ammunition.values()))
    return (
        candidate.window_start,
        -candidate.time_in_range_s,
        ammo,
        _READINESS_ORDER.get(candidate.readiness, 2),
    )


def _never_in_range(site: Site, closest_km: float, config: RecommendConfig) -> Reason:
    reach = max(e.range_km for e in site.equipment)
    if closest_km <= reach:
        return reason("never_in_area", window=f"{config.window_min:g}",
                      distance=f"{closest_km:.1f}")
    return reason("never_in_range", window=f"{config.window_min:g}",
                  distance=f"{closest_km:.1f}", range=f"{reach:g}")


def _aim_in_run(
    site: Site,
    equipment: Equipment,
    layer: SeedingLayer,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    first: int,
    last: int,
) -> Aim:
    """Aim at the earliest point of the stay whose flat-fire elevation is within the piece's
    limits; when there is none, at the nearest point (elevation clipped, reason given)."""
    n = last - first + 1
    az, _, dist = _GEOD.inv(
        np.full(n, site.lon), np.full(n, site.lat), lon[first : last + 1], lat[first : last + 1]
    )
    azimuth = np.atleast_1d(np.asarray(az, dtype=float)) % 360.0
    dist_m = np.atleast_1d(np.asarray(dist, dtype=float))
    height = aim_height_m(site, equipment, layer) - site.elevation_m
    needed = np.degrees(np.arctan2(height, dist_m))
    ok = (needed >= equipment.min_elevation_deg) & (needed <= equipment.max_elevation_deg)
    pick = int(np.argmax(ok)) if ok.any() else int(np.argmin(dist_m))
    return aim_from_geometry(
        site, equipment, layer, float(azimuth[pick]), float(dist_m[pick]) / 1000.0
    )


def _quality(candidate: Candidate, now: datetime, config: RecommendConfig) -> float:
    """The ranking terms as one number in [0, 1]: earlier, longer, stocked, ready is better."""
    window_s = config.window_min * 60.0
    start_s = max((candidate.window_start - now).total_seconds(), 0.0)
    return (
        0.4 * (1.0 - min(start_s / window_s, 1.0))
        + 0.3 * min(candidate.time_in_range_s / window_s, 1.0)
        + 0.2 * (1.0 if candidate.ammunition else 0.0)
        + 0.1 * (1.0 if candidate.readiness == Readiness.READY else 0.0)
    )


def _assign(
    assessments: Sequence[CellAssessment],
    sites: Sequence[Site],
    now: datetime,
    config: RecommendConfig,
) -> tuple[Recommendation, ...]:
    """Optimal assignment of sites to cells (module docstring, step 6)."""
    codes = sorted({cand.site_code for a in assessments for cand in a.candidates})
    columns = [
        (c, copy) for c, a in enumerate(assessments) if a.candidates for copy in range(a.demand)
    ]
    if not codes or not columns:
        return ()
    row_of = {code: n for n, code in enumerate(codes)}
    benefit = np.zeros((len(codes), len(columns)))
    for col, (c, copy) in enumerate(columns):
        weight = 1000.0 * assessments[c].threat * 0.5**copy
        for cand in assessments[c].candidates:
            # +1 keeps every feasible pair above the zero of infeasible ones.
            benefit[row_of[cand.site_code], col] = weight + 1.0 + _quality(cand, now, config)
    rows, cols = linear_sum_assignment(benefit, maximize=True)
    chosen = [
        (columns[col][0], codes[row])
        for row, col in zip(rows.tolist(), cols.tolist(), strict=True)
        if benefit[row, col] > 0.0
    ]
    by_threat = sorted(range(len(assessments)), key=lambda c: -assessments[c].threat)
    threat_rank = {c: n for n, c in enumerate(by_threat, 1)}
    out: list[Recommendation] = []
    for c, code in sorted(chosen, key=lambda pair: (threat_rank[pair[0]], pair[1])):
        assessment = assessments[c]
        rank, cand = next(
            (n, cand) for n, cand in enumerate(assessment.candidates, 1) if cand.site_code == code
        )
        stay_min = (cand.window_end - cand.window_start).total_seconds() / 60.0
        details = (
            reason("threat_rank", threat=f"{assessment.threat:.2f}", rank=threat_rank[c],
                   cells=len(assessments)),
            reason("engagement_window", start=cand.window_start, end=cand.window_end,
                   stay=f"{stay_min:.0f}", in_range=f"{cand.time_in_range_s / 60.0:.0f}",
                   window=f"{config.window_min:g}"),
            reason("candidate_rank", rank=rank, candidates=len(assessment.candidates)),
            reason("aim", azimuth=f"{cand.aim.azimuth_deg:.1f}",
                   elevation=f"{cand.aim.elevation_deg:.1f}", distance=f"{cand.aim.distance_km:.1f}",
                   height=f"{cand.aim.aim_height_m:.0f}"),
            *cand.details,
        )
        out.append(
            Recommendation(
                cell_id=cand.cell_id,
                site_code=cand.site_code,
                window_start=cand.window_start,
                window_end=cand.window_end,
                azimuth_deg=cand.aim.azimuth_deg,
                elevation_deg=cand.aim.elevation_deg,
                ammunition=dict(cand.ammunition),
                max_altitude_m=cand.max_altitude_m,
                reasons=tuple(d.text for d in details),
                threat=assessment.threat,
                confirmed=None if assessment.review is None else assessment.review == "confirmed",
                details=details,
            )
        )
    return tuple(out)


def recommendations_to_json(result: RecommendationSet) -> dict[str, Any]:
    """The JSON document of ``hailops dispatch recommend`` (times ISO 8601 UTC)."""
    return {
        "at": iso_utc(result.at),
        "window_min": result.window_min,
        "seeding_layer_m": {
            "bottom": round(result.layer.bottom_m),
            "top": round(result.layer.top_m),
            "source": result.layer.source,
        },
        "recommendations": [
            {
                "cell_id": r.cell_id,
                "site_code": r.site_code,
                "window_start": iso_utc(r.window_start),
                "window_end": iso_utc(r.window_end),
                "azimuth_deg": r.azimuth_deg,
                "elevation_deg": r.elevation_deg,
                "ammunition": dict(r.ammunition),
                "max_altitude_m": round(r.max_altitude_m),
                "threat": r.threat,
                "reasons": list(r.reasons),
                # The same reasons as data, for screens that word them in their own language.
                "reason_details": [d.to_json() for d in r.details],
                # The forecaster confirmed the storm (None: not known here, e.g. the CLI).
                "confirmed": r.confirmed,
            }
            for r in result.recommendations
        ],
        "cells": [
            {
                "cell_id": a.cell_id,
                "threat": a.threat,
                "demand": a.demand,
                "reaches_populated_area_at": None
                if a.reach_area_at is None
                else iso_utc(a.reach_area_at),
                "candidates": [
                    {
                        "site_code": cand.site_code,
                        "window_start": iso_utc(cand.window_start),
                        "window_end": iso_utc(cand.window_end),
                        "time_in_range_min": round(cand.time_in_range_s / 60.0, 1),
                    }
                    for cand in a.candidates
                ],
                "excluded": [
                    {
                        "site_code": e.site_code,
                        "reason": e.reason,
                        "reason_details": [d.to_json() for d in e.details],
                    }
                    for e in a.excluded
                ],
                "review": a.review,
                "confirmed": None if a.review is None else a.review == "confirmed",
            }
            for a in result.cells
        ],
        # Cells of storms the forecaster dismissed: not planned.
        "dismissed": list(result.dismissed),
        # Cells with verdict "cannot_tell": threats to review, not engaged automatically.
        "to_review": [
            {
                "cell_id": r.cell_id,
                "max_dbz": r.max_dbz,
                "sampling": list(r.sampling),
                "reason": r.reason,
            }
            for r in result.to_review
        ],
    }
