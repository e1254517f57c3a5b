"""Firing rules: a shot is legal only inside an active dual clearance and an ordered operation.

:func:`check_firing` judges one firing event (a time, an azimuth, an elevation and the highest
altitude the rounds reach) against the operation and the clearance in force at that moment.
It never raises for a late or out-of-bounds shot: the shot happened, so it returns a
:class:`Violation` record that the shell must persist and announce (a firing report after the
window end or after a revocation is recorded as a violation, never silently accepted).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from dispatch.clearance import Clearance, Revocation
from dispatch.errors import ValidationFailed
from sites.geometry import azimuth_in_sectors

if TYPE_CHECKING:
    from dispatch.lifecycle import Operation


class Observation(enum.StrEnum):
    """What the crew saw after firing (the immediate report)."""

    HAIL = "hail"
    RAIN = "rain"
    NONE = "none"


@dataclass(frozen=True)
class Burst:
    """One group of rounds or rockets fired at one time and aim.

    ``altitude_m`` is the highest altitude (m above sea level) the rounds reach; ``None``
    means "the operation's ``max_altitude_m``" (what instruments don't record).
    """

    at: datetime
    azimuth_deg: float
    elevation_deg: float
    ammo_type: str
    rounds: int
    altitude_m: float | None = None

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        if not 0.0 <= self.azimuth_deg < 360.0:
            errors["azimuth_deg"] = "must be within 0..360"
        if not 0.0 <= self.elevation_deg <= 90.0:
            errors["elevation_deg"] = "must be within 0..90"
        if self.rounds < 0:
            errors["rounds"] = "must be >= 0"
        if errors:
            raise ValidationFailed(errors)


@dataclass(frozen=True)
class FiringReport:
    """The site's immediate report after firing.

    ``rounds`` is the total used per ammunition type (what the ledger is charged); ``bursts``
    are the individual azimuth/elevation/time records when the site has them (instrumented
    sites record them automatically).  When bursts are given they must add up to ``rounds``.
    """

    started_at: datetime
    ended_at: datetime
    rounds: dict[str, int] = field(hash=False)
    observation: Observation
    bursts: tuple[Burst, ...] = ()
    remarks: str = ""

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        if self.ended_at < self.started_at:
            errors["ended_at"] = "must not be before started_at"
        for ammo_type, count in self.rounds.items():
            if count < 0:
                errors[f"rounds.{ammo_type}"] = "must be >= 0"
        if self.bursts:
            totals: dict[str, int] = {}
            for burst in self.bursts:
                totals[burst.ammo_type] = totals.get(burst.ammo_type, 0) + burst.rounds
            if {t: n for t, n in totals.items() if n} != {
                t: n for t, n in self.rounds.items() if n
            }:
                errors["bursts"] = f"bursts add up to {totals}, not to the reported rounds"
        if errors:
            raise ValidationFailed(errors)


class ViolationKind(enum.StrEnum):
    NOT_ORDERED = "not_ordered"  # no order was in force (never ordered, or before the order)
    CEASE_FIRE = "cease_fire"  # after a recall, an expiry or a cancellation
    NO_CLEARANCE = "no_clearance"  # never cleared by both authorities
    REVOKED = "revoked"  # an authority had revoked its grant
    BEFORE_WINDOW = "before_window"
    AFTER_WINDOW = "after_window"
    OUTSIDE_SECTOR = "outside_sector"
    ABOVE_CEILING = "above_ceiling"


@dataclass(frozen=True)
class Violation:
    """A firing event that broke the rules: kept, announced, never silently accepted."""

    operation_id: str
    site_code: str
    at: datetime
    azimuth_deg: float
    elevation_deg: float
    altitude_m: float
    kinds: tuple[ViolationKind, ...]
    message: str


# Operation states that end the permission to fire (a cease-fire went to the site).
_CEASE_FIRE_STATES = frozenset({"recalled", "expired", "cancelled", "denied"})


def check_firing(
    operation: Operation,
    clearance: Clearance | None,
    at: datetime,
    azimuth_deg: float,
    elevation_deg: float,
    altitude_m: float,
) -> Violation | None:
    """``None`` when firing at ``at`` with this aim is permitted, else the violation.

    ``clearance`` is the effective clearance *as of ``at``*
    (:func:`dispatch.clearance.effective_clearance` evaluated at ``at``; ``None`` when not
    cleared then).  Permitted means all of: the operation had been ordered before ``at`` and
    no cease-fire (recall, expiry, cancellation) came before ``at``; both authorities'
    grants were in force; ``at`` lies in the cleared window; the azimuth lies in the cleared
    sectors; ``altitude_m`` (the highest altitude the rounds reach) is at most the cleared
    ceiling.  The elevation is recorded with the violation but does not by itself violate
    the airspace: the altitude does.
    """
    kinds: list[ViolationKind] = []
    notes: list[str] = []
    ordered_at = next((h.at for h in operation.history if h.state.value == "ordered"), None)
    if ordered_at is None or at < ordered_at:
        kinds.append(ViolationKind.NOT_ORDERED)
        notes.append("no order was in force")
    ceased = next(
        (h for h in operation.history if h.state.value in _CEASE_FIRE_STATES and h.at <= at), None
    )
    if ceased is not None:
        kinds.append(ViolationKind.CEASE_FIRE)
        notes.append(f"after the cease-fire ({ceased.action} at {ceased.at.isoformat()})")
    if clearance is None:
        revoked = [d for d in operation.decisions if isinstance(d, Revocation) and d.at <= at]
        if revoked:
            kinds.append(ViolationKind.REVOKED)
            notes.append(
                f"after {revoked[0].authority.value} revoked the clearance at "
                f"{revoked[0].at.isoformat()}"
            )
        else:
            kinds.append(ViolationKind.NO_CLEARANCE)
            notes.append("no clearance granted by both ATC and the military")
    else:
        if at < clearance.window.start:
            kinds.append(ViolationKind.BEFORE_WINDOW)
            notes.append(f"before the window opened at {clearance.window.start.isoformat()}")
        elif at >= clearance.window.end:
            kinds.append(ViolationKind.AFTER_WINDOW)
            notes.append(f"after the window closed at {clearance.window.end.isoformat()}")
        if not azimuth_in_sectors(azimuth_deg, clearance.sectors):
            kinds.append(ViolationKind.OUTSIDE_SECTOR)
            notes.append(f"azimuth {azimuth_deg:.1f}° outside the cleared sectors")
        if altitude_m > clearance.ceiling_m:
            kinds.append(ViolationKind.ABOVE_CEILING)
            notes.append(
                f"altitude {altitude_m:.0f} m above the cleared ceiling {clearance.ceiling_m:.0f} m"
            )
    if not kinds:
        return None
    return Violation(
        operation_id=operation.id,
        site_code=operation.site_code,
        at=at,
        azimuth_deg=azimuth_deg,
        elevation_deg=elevation_deg,
        altitude_m=altitude_m,
        kinds=tuple(kinds),
        message=f"operation {operation.id} at site {operation.site_code}: firing at "
        f"{at.isoformat()} violates the rules: " + "; ".join(notes),
    )
