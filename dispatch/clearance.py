"""Airspace clearance: the request, the two authorities' decisions and what is actually cleared.

An operation may fire only inside airspace granted by BOTH air traffic control (the airport)
and the military flight-control authority.  Each authority grants (possibly narrowing the
window, the azimuth sectors or the ceiling), denies with a reason, or later revokes.  What is
cleared is the intersection of the request and both grants; a revocation by either ends it.

Standing coordination (cf. FAA LAANC's pre-published ceilings): each authority may pre-agree,
per site, sectors, an altitude cap and daily hours (local time, Asia/Shanghai); a request that
lies entirely inside both authorities' agreements is granted at once, the grants marked
``standing`` (and still revocable).

Everything here is pure: decisions are values, the clock is a parameter.  Times are
timezone-aware UTC; azimuths degrees clockwise from true north; altitudes metres above sea
level.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shapely.geometry import mapping

from dispatch.errors import ValidationFailed
from sites.geometry import (
    intersect_sectors,
    local_frame,
    merge_sectors,
    sector_contains,
    sector_width_deg,
    sectors_polygon_local,
)
from sites.model import Contact, Sector


def _local_zone() -> tzinfo:
    try:
        return ZoneInfo("Asia/Shanghai")
    except ZoneInfoNotFoundError:  # no tz database: China has kept UTC+8 without DST since 1991
        return timezone(timedelta(hours=8), "CST")


#: The time zone of standing agreements' daily hours and of the text rendering.
LOCAL_TZ = _local_zone()


def _require_aware(name: str, value: datetime, errors: dict[str, str]) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        errors[name] = "must be timezone-aware (UTC)"


def iso_utc(value: datetime) -> str:
    """``2026-07-01T08:30:00Z``: the one spelling of a time at the JSON boundary."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Authority(enum.StrEnum):
    """The two approvers of an airspace window."""

    ATC = "atc"
    MILITARY = "military"


@dataclass(frozen=True)
class TimeWindow:
    """A half-open interval ``[start, end)`` of aware datetimes."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        _require_aware("window.start", self.start, errors)
        _require_aware("window.end", self.end, errors)
        if not errors and self.end <= self.start:
            errors["window.end"] = "must be after window.start"
        if errors:
            raise ValidationFailed(errors)

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def contains(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def covers(self, other: TimeWindow) -> bool:
        return self.start <= other.start and other.end <= self.end

    def intersection(self, other: TimeWindow) -> TimeWindow | None:
        start, end = max(self.start, other.start), min(self.end, other.end)
        return TimeWindow(start, end) if end > start else None


@dataclass(frozen=True)
class AltitudeBand:
    """The altitude band of the activity, metres above sea level."""

    floor_m: float
    ceiling_m: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.floor_m < self.ceiling_m:
            raise ValidationFailed(
                {
                    "altitude_band_m": f"need 0 <= floor < ceiling, got {self.floor_m}..{self.ceiling_m}"
                }
            )


def _validate_sectors(name: str, sectors: Sequence[Sector], errors: dict[str, str]) -> None:
    if not sectors:
        errors[name] = "at least one azimuth sector is required"
    elif all(sector_width_deg(s) <= 0.0 for s in sectors):
        errors[name] = "the sectors have no width"


def sectors_within(inner: Iterable[Sector], outer: Iterable[Sector]) -> bool:
    """True when every azimuth of ``inner`` lies in the union of ``outer``."""
    merged_outer = merge_sectors(outer)
    return all(
        any(sector_contains(o, piece) for o in merged_outer) for piece in merge_sectors(inner)
    )


def intersect_sector_sets(a: Iterable[Sector], b: Iterable[Sector]) -> tuple[Sector, ...]:
    """The azimuths common to the union of ``a`` and the union of ``b``."""
    pieces = [
        p for sa in merge_sectors(a) for sb in merge_sectors(b) for p in intersect_sectors(sa, sb)
    ]
    return merge_sectors(pieces)


# --------------------------------------------------------------------------- the request


@dataclass(frozen=True)
class ClearanceRequest:
    """An airspace application: the data items of a QX/T 422-2018 application message.

    ``weapon`` is the equipment kind (``gun_37mm``, ``rocket``) and ``weapon_model`` its model
    (``"37mm AA gun"``, ``"WR-98"``); ``range_km`` is the horizontal range used to draw the
    firing-sector polygon.  ``requested_at`` starts the approval clocks.
    """

    id: str
    site_code: str
    site_name: str
    lat: float
    lon: float
    site_elevation_m: float
    weapon: str
    weapon_model: str
    range_km: float
    sectors: tuple[Sector, ...]
    altitude: AltitudeBand
    window: TimeWindow
    purpose: str
    contact: Contact
    requested_at: datetime

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        if not self.id:
            errors["id"] = "required"
        if not self.site_code:
            errors["site_code"] = "required"
        if not (-90.0 <= self.lat <= 90.0):
            errors["lat"] = "must be within -90..90"
        if not (-180.0 <= self.lon <= 180.0):
            errors["lon"] = "must be within -180..180"
        if self.range_km <= 0.0:
            errors["range_km"] = "must be positive"
        _validate_sectors("sectors", self.sectors, errors)
        _require_aware("requested_at", self.requested_at, errors)
        if errors:
            raise ValidationFailed(errors)

    def firing_sector_polygon(self) -> dict[str, Any]:
        """The firing sectors out to ``range_km`` as a GeoJSON geometry (WGS84 lon/lat)."""
        local = sectors_polygon_local(self.range_km * 1000.0, self.sectors)
        geometry = local_frame(self.lat, self.lon).to_lonlat(local)
        return dict(mapping(geometry))

    def to_qxt422(self) -> dict[str, Any]:
        """The application's data items as a structured dict (the QX/T 422-2018 items).

        The items are those the standard's application message carries (site and
        coordinates, weapon type, azimuth sector, altitude band, start and end, purpose,
        contact); the keys are our own English names, not the standard's coded identifiers.
        Times are given in UTC and in Beijing time, which the authorities work in.
        """
        return {
            "message_type": "application",
            "request_id": self.id,
            "site": {
                "code": self.site_code,
                "name": self.site_name,
                "lon": round(self.lon, 6),
                "lat": round(self.lat, 6),
                "elevation_m": round(self.site_elevation_m, 1),
            },
            "weapon": {"type": self.weapon, "model": self.weapon_model},
            "azimuth_sectors_deg": [
                {"start": round(s.start_deg, 1), "end": round(s.end_deg, 1)} for s in self.sectors
            ],
            "altitude_band_m": {
                "floor": round(self.altitude.floor_m),
                "ceiling": round(self.altitude.ceiling_m),
            },
            "start": iso_utc(self.window.start),
            "end": iso_utc(self.window.end),
            "start_local": self.window.start.astimezone(LOCAL_TZ).isoformat(),
            "end_local": self.window.end.astimezone(LOCAL_TZ).isoformat(),
            "purpose": self.purpose,
            "contact": {"name": self.contact.name, "phone": self.contact.phone},
            "requested_at": iso_utc(self.requested_at),
        }

    def to_text(self) -> str:
        """A plain-text rendering of the same items, one per line (Beijing time)."""
        items = self.to_qxt422()
        fmt = "%Y-%m-%d %H:%M:%S"
        start = self.window.start.astimezone(LOCAL_TZ).strftime(fmt)
        end = self.window.end.astimezone(LOCAL_TZ).strftime(fmt)
        sectors = ", ".join(f"{s['start']:g}°–{s['end']:g}°" for s in items["azimuth_sectors_deg"])
        lines = [
            "空域申请 / AIRSPACE APPLICATION",
            f"申请编号 request: {self.id}",
            f"作业点 site: {self.site_code} {self.site_name}",
            f"经度 lon: {self.lon:.6f}  纬度 lat: {self.lat:.6f}  海拔 elev: {self.site_elevation_m:.0f} m",
            f"作业工具 weapon: {self.weapon} ({self.weapon_model})",
            f"射击方位 azimuth: {sectors}",
            f"作业高度 altitude: {self.altitude.floor_m:.0f}–{self.altitude.ceiling_m:.0f} m",
            f"开始时间 start: {start} (北京时)",
            f"结束时间 end: {end} (北京时)",
            f"作业目的 purpose: {self.purpose}",
            f"联系人 contact: {self.contact.name} {self.contact.phone}",
        ]
        return "\n".join(lines)


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class Grant:
    """An authority's permission, possibly narrower than the request.

    ``None`` for ``window``, ``sectors`` or ``ceiling_m`` means "as requested".
    ``standing`` marks a grant issued automatically from a standing agreement.
    """

    authority: Authority
    at: datetime
    by: str
    window: TimeWindow | None = None
    sectors: tuple[Sector, ...] | None = None
    ceiling_m: float | None = None
    standing: bool = False

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        _require_aware("at", self.at, errors)
        if self.sectors is not None:
            _validate_sectors("sectors", self.sectors, errors)
        if self.ceiling_m is not None and self.ceiling_m <= 0.0:
            errors["ceiling_m"] = "must be positive"
        if errors:
            raise ValidationFailed(errors)


@dataclass(frozen=True)
class Denial:
    authority: Authority
    at: datetime
    by: str
    reason: str

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValidationFailed({"reason": "a denial must give a reason"})


@dataclass(frozen=True)
class Revocation:
    """Withdraws the authority's grant from ``at`` on: permission ends at once."""

    authority: Authority
    at: datetime
    by: str
    reason: str = ""


Decision = Grant | Denial | Revocation


@dataclass(frozen=True)
class Clearance:
    """What is actually cleared: the request ∩ both grants."""

    request_id: str
    window: TimeWindow
    sectors: tuple[Sector, ...]
    floor_m: float
    ceiling_m: float
    grants: tuple[Grant, ...]

    @property
    def standing(self) -> bool:
        """True when every grant came from a standing agreement."""
        return all(g.standing for g in self.grants)

    @property
    def granted_at(self) -> datetime:
        return max(g.at for g in self.grants)


@dataclass(frozen=True)
class AuthorityStatus:
    """Where one authority stands on a request at a given moment."""

    authority: Authority
    state: str  # "pending", "granted", "denied", "revoked"
    decided_at: datetime | None
    delay: timedelta  # request → first decision, or request → now while pending
    standing: bool = False


def _own_decisions(
    decisions: Iterable[Decision], authority: Authority, now: datetime
) -> list[Decision]:
    # A decision dated later than ``now`` has not happened yet as of ``now``: this lets the
    # same function answer "was it cleared at the moment of that shot?".
    return sorted(
        (d for d in decisions if d.authority == authority and d.at <= now), key=lambda d: d.at
    )


def authority_status(
    request: ClearanceRequest, decisions: Iterable[Decision], authority: Authority, now: datetime
) -> AuthorityStatus:
    """The authority's position as of ``now`` and its running or final decision delay."""
    own = _own_decisions(decisions, authority, now)
    if not own:
        pending = max(now - request.requested_at, timedelta(0))
        return AuthorityStatus(authority, "pending", None, pending)
    first, last = own[0], own[-1]
    delay = max(first.at - request.requested_at, timedelta(0))
    if isinstance(last, Revocation):
        return AuthorityStatus(authority, "revoked", first.at, delay)
    if isinstance(last, Denial):
        return AuthorityStatus(authority, "denied", first.at, delay)
    return AuthorityStatus(authority, "granted", first.at, delay, standing=last.standing)


def decision_delays(
    request: ClearanceRequest, decisions: Iterable[Decision], now: datetime
) -> dict[Authority, AuthorityStatus]:
    """Per authority: pending/granted/denied/revoked and the time from request to decision.

    While an authority is pending its ``delay`` is the running clock ``now - requested_at``;
    that is the clock the consoles show next to the cell's time to arrival.
    """
    decisions = list(decisions)
    return {a: authority_status(request, decisions, a, now) for a in Authority}


def effective_clearance(
    request: ClearanceRequest, decisions: Iterable[Decision], now: datetime
) -> Clearance | None:
    """What is cleared as of ``now``, or ``None``.

    Cleared only when both ATC and the military have granted and neither has denied or
    revoked (decisions dated after ``now`` are ignored).  The result is the intersection of
    the request and both grants: window ∩, sectors ∩, ceiling = the lowest.  ``None`` also
    when that intersection is empty.  The returned clearance may lie wholly in the future or
    past: whether a given moment is inside it is :meth:`TimeWindow.contains` on its window.
    """
    decisions = list(decisions)
    grants: list[Grant] = []
    for authority in Authority:
        own = _own_decisions(decisions, authority, now)
        if not own or not isinstance(own[-1], Grant):
            return None
        grants.append(own[-1])
    window: TimeWindow | None = request.window
    sectors: tuple[Sector, ...] = merge_sectors(request.sectors)
    ceiling = request.altitude.ceiling_m
    for grant in grants:
        if grant.window is not None and window is not None:
            window = window.intersection(grant.window)
        if grant.sectors is not None:
            sectors = intersect_sector_sets(sectors, grant.sectors)
        if grant.ceiling_m is not None:
            ceiling = min(ceiling, grant.ceiling_m)
    if window is None or not sectors or ceiling <= request.altitude.floor_m:
        return None
    return Clearance(
        request_id=request.id,
        window=window,
        sectors=sectors,
        floor_m=request.altitude.floor_m,
        ceiling_m=ceiling,
        grants=tuple(grants),
    )


# --------------------------------------------------------------------------- standing agreements


@dataclass(frozen=True)
class StandingAgreement:
    """An authority's pre-agreement for one site.

    Daily hours are local wall-clock times (Asia/Shanghai); ``daily_end`` before
    ``daily_start`` wraps past midnight (e.g. 20:00–06:00) and equal times mean all day.
    ``valid_from``/``valid_until`` (aware datetimes) bound the agreement, e.g. to the hail
    season.
    """

    id: str
    site_code: str
    authority: Authority
    sectors: tuple[Sector, ...]
    ceiling_m: float
    daily_start: time
    daily_end: time
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    def covers_window(self, window: TimeWindow) -> bool:
        if self.valid_from is not None and window.start < self.valid_from:
            return False
        if self.valid_until is not None and window.end > self.valid_until:
            return False
        if self.daily_start == self.daily_end:
            return True
        start_local = window.start.astimezone(LOCAL_TZ)
        end_local = window.end.astimezone(LOCAL_TZ)
        day: date = start_local.date() - timedelta(days=1)
        while day <= end_local.date():
            opens = datetime.combine(day, self.daily_start, LOCAL_TZ)
            closes = datetime.combine(day, self.daily_end, LOCAL_TZ)
            if closes <= opens:
                closes += timedelta(days=1)
            if opens <= start_local and end_local <= closes:
                return True
            day += timedelta(days=1)
        return False

    def covers(self, request: ClearanceRequest) -> bool:
        """True when the request lies entirely inside this agreement."""
        return (
            request.site_code == self.site_code
            and request.altitude.ceiling_m <= self.ceiling_m
            and sectors_within(request.sectors, self.sectors)
            and self.covers_window(request.window)
        )


def auto_grant(
    request: ClearanceRequest, agreements: Iterable[StandingAgreement]
) -> tuple[Grant, ...]:
    """Standing grants for a request inside BOTH authorities' agreements, else ``()``.

    The grants are dated ``request.requested_at`` (zero delay), made ``by`` the agreement
    (``"standing:<id>"``), marked ``standing`` and grant exactly what was requested.  A
    request covered by only one authority gets nothing automatic: both must agree.
    """
    grants: list[Grant] = []
    for authority in Authority:
        match = next(
            (a for a in agreements if a.authority == authority and a.covers(request)), None
        )
        if match is None:
            return ()
        grants.append(
            Grant(
                authority=authority,
                at=request.requested_at,
                by=f"standing:{match.id}",
                standing=True,
            )
        )
    return tuple(grants)


# --------------------------------------------------------------------------- the live envelope


@dataclass(frozen=True)
class Envelope:
    """What the decisions so far leave open: the request ∩ every grant in force.

    Unlike :func:`effective_clearance` this exists while one authority is still pending, so
    the other authority and the commander see a narrowing at once, not at order time.
    ``narrowed_by`` maps ``"window"``, ``"sectors"``, ``"ceiling_m"`` to the authorities whose
    grant made that dimension narrower than requested.  ``window`` is ``None`` and
    ``sectors`` empty when the grants leave nothing in common; ``refused_by`` names an
    authority that denied or revoked (nothing is cleared then).
    """

    request_id: str
    window: TimeWindow | None
    sectors: tuple[Sector, ...]
    floor_m: float
    ceiling_m: float
    granted_by: tuple[Authority, ...]
    pending: tuple[Authority, ...]
    refused_by: tuple[Authority, ...]
    narrowed_by: dict[str, tuple[Authority, ...]]

    @property
    def complete(self) -> bool:
        """Both authorities have granted and the intersection is not empty."""
        return (
            not self.pending
            and not self.refused_by
            and self.window is not None
            and bool(self.sectors)
            and self.ceiling_m > self.floor_m
        )


def current_envelope(
    request: ClearanceRequest, decisions: Iterable[Decision], now: datetime
) -> Envelope:
    """The request narrowed by every grant in force as of ``now`` (pure).

    Window ∩, sectors ∩, ceiling = the lowest — the same intersection as
    :func:`effective_clearance`, taken over the grants given so far.
    """
    decisions = list(decisions)
    window: TimeWindow | None = request.window
    requested_sectors = merge_sectors(request.sectors)
    sectors = requested_sectors
    ceiling = request.altitude.ceiling_m
    granted: list[Authority] = []
    pending: list[Authority] = []
    refused: list[Authority] = []
    narrowed: dict[str, list[Authority]] = {"window": [], "sectors": [], "ceiling_m": []}
    for authority in Authority:
        own = _own_decisions(decisions, authority, now)
        if not own:
            pending.append(authority)
            continue
        last = own[-1]
        if not isinstance(last, Grant):
            refused.append(authority)
            continue
        granted.append(authority)
        if last.window is not None:
            if not last.window.covers(request.window):
                narrowed["window"].append(authority)
            window = None if window is None else window.intersection(last.window)
        if last.sectors is not None:
            if not sectors_within(requested_sectors, last.sectors):
                narrowed["sectors"].append(authority)
            sectors = intersect_sector_sets(sectors, last.sectors)
        if last.ceiling_m is not None:
            if last.ceiling_m < request.altitude.ceiling_m:
                narrowed["ceiling_m"].append(authority)
            ceiling = min(ceiling, last.ceiling_m)
    return Envelope(
        request_id=request.id,
        window=window,
        sectors=sectors,
        floor_m=request.altitude.floor_m,
        ceiling_m=ceiling,
        granted_by=tuple(granted),
        pending=tuple(pending),
        refused_by=tuple(refused),
        narrowed_by={k: tuple(v) for k, v in narrowed.items() if v},
    )
