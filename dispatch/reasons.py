"""Why a site is recommended or excluded, as data.

Each reason is a ``code`` naming the sentence and its ``params`` (already formatted numbers,
names, UTC times).  ``text`` is the English sentence, exactly as the command line and the JSON
contract of ``hailops dispatch recommend`` have always spelled it (``reasons``/``reason``);
``to_json`` is what screens word in their own language (``reason_details``), so no screen has
to parse the English back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dispatch.clearance import iso_utc

#: The English sentence of each code (``str.format`` over the params).
TEMPLATES: dict[str, str] = {
    "threat_rank": "threat {threat}: rank {rank} of {cells} cells",
    "engagement_window": "in the engagement area {start}–{end} ({stay} min; {in_range} min in "
    "all within {window} min)",
    "candidate_rank": "candidate {rank} of {candidates} for this cell",
    "aim": "aim {azimuth}° / {elevation}° at {distance} km: seeding height {height} m (flat-fire)",
    "aim_below_minimum": "aim needs {needed}° at {distance} km (flat-fire), below the minimum "
    "elevation {limit}°: set to the minimum, rounds burst above the layer's mid-height",
    "aim_above_maximum": "aim needs {needed}° at {distance} km (flat-fire), above the maximum "
    "elevation {limit}°: set to the maximum",
    "never_in_area": "never in the engagement area within {window} min: the path passes "
    "{distance} km away, within range but outside the safe sectors or through a no-fire area",
    "never_in_range": "never in range within {window} min: closest approach {distance} km, "
    "range {range} km",
    "no_ammunition": "no ammunition for its {equipment}",
    "below_seeding_layer": "{equipment} ceiling {ceiling} m ASL ({above} km above the site) is "
    "below the seeding layer bottom (H0 {h0} m)",
    "offline": "offline",
    "engaged": "already engaged in another operation",
    "out_of_ammunition": "out of ammunition",
    "cooldown": "re-engagement cooldown {cooldown} min after its last firing (ended {ended}): "
    "ready again at {ready}",
}
#: Params that are UTC times (ISO 8601, ``Z``): screens show them in their own time zone.
TIME_PARAMS = frozenset({"start", "end", "ended", "ready"})
#: Params naming a piece of equipment: its model, or its kind's code (``kind`` is set then).
EQUIPMENT_PARAMS = frozenset({"equipment"})


@dataclass(frozen=True)
class Reason:
    """One reason: a code and its params (strings, formatted as the English sentence has
    them), plus ``equipment_kind`` when the equipment has no model and is named by its kind."""

    code: str
    params: tuple[tuple[str, str], ...] = ()
    equipment_kind: str | None = None

    @property
    def text(self) -> str:
        """The English sentence (the JSON contract's ``reasons``/``reason``)."""
        return TEMPLATES[self.code].format(**dict(self.params))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "params": dict(self.params)}
        if self.equipment_kind is not None:
            out["equipment_kind"] = self.equipment_kind
        return out


def reason(code: str, *, equipment_kind: str | None = None, **params: Any) -> Reason:
    """A reason; datetimes become ISO UTC, every other value its ``str``."""
    if code not in TEMPLATES:
        raise KeyError(f"no reason {code!r}")
    values = tuple(
        (k, iso_utc(v) if isinstance(v, datetime) else str(v)) for k, v in params.items()
    )
    return Reason(code, values, equipment_kind)


def joined(reasons: Iterable[Reason]) -> str:
    """Several reasons as one English sentence ("; " between them)."""
    return "; ".join(r.text for r in reasons)
