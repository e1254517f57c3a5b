"""Request bodies of the JSON API as pydantic models.

Each write route names its model with :func:`validated`; the body is checked before the
route runs (finite numbers, ranges, lengths, enums) and every field problem is reported at
once as a 422 in the envelope ``{code, message, details}``, ``details`` mapping the field's
dotted path to its problem.  ``command.openapi`` reads the same models to publish the
request schemas, so the document and the checks cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import wraps
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from flask import g, request
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from command.errors import ApiError, Unprocessable
from command.timefmt import BEIJING
from dispatch.hailsize import SizeClass

F = TypeVar("F", bound=Callable[..., Any])

# --- shared field types ---------------------------------------------------------------------
Text = Annotated[str, StringConstraints(max_length=2000)]
Reason = Annotated[str, StringConstraints(max_length=500)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=32)]
AzimuthDeg = Annotated[float, Field(ge=0.0, le=360.0, description="degrees clockwise from north")]
ElevationDeg = Annotated[float, Field(ge=0.0, le=90.0, description="degrees above the horizon")]
AltitudeM = Annotated[float, Field(ge=0.0, le=20000.0, description="metres above sea level")]
Rounds = Annotated[int, Field(ge=0, le=100000)]
Window = Annotated[
    list[AwareDatetime],
    Field(min_length=2, max_length=2, description="[start, end], ISO 8601 with offset"),
]
Sector = Annotated[
    list[Annotated[float, Field(ge=-360.0, le=720.0)]],
    Field(min_length=2, max_length=2, description="[start_deg, end_deg] clockwise"),
]
Sectors = Annotated[list[Sector], Field(max_length=36)]
AmmoType = Annotated[str, StringConstraints(min_length=1, max_length=32)]
Quantity = Annotated[
    dict[AmmoType, Rounds], Field(max_length=16, description="ammunition type -> rounds")
]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class Body(BaseModel):
    """Finite numbers only (JSON parsers accept NaN and Infinity); unknown fields ignored.

    ``error_keys`` names the ``details`` key of a field's problems when it is not the field
    (``lat`` and ``lon`` are one ``position``); with ``error_paths`` a nested problem is keyed
    by its whole path (``decisions[0].text``) rather than by the top-level field."""

    model_config = ConfigDict(allow_inf_nan=False, extra="ignore")
    error_keys: ClassVar[dict[str, str]] = {}
    error_paths: ClassVar[bool] = False

    @classmethod
    def prepare(cls, raw: dict[str, Any]) -> dict[str, Any]:
        """The raw body as the checks read it (e.g. an HTML form's serialisation)."""
        return raw

    def problems(self) -> dict[str, str]:
        """Checks across fields, made once every field is valid."""
        return {}


class EmptyBody(Body):
    """No fields are read."""


# --- operations -----------------------------------------------------------------------------
class OperationProposal(Body):
    cell_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    site_code: Code
    window: Window
    azimuth_deg: AzimuthDeg
    elevation_deg: ElevationDeg
    quantity: Quantity
    max_altitude_m: AltitudeM
    drill_id: Name | None = None


class ClearanceRequestBody(Body):
    sectors: Sectors | None = None
    floor_m: AltitudeM | None = None
    ceiling_m: AltitudeM | None = None
    window: Window | None = None
    purpose: Text | None = None


class GrantBody(Body):
    window: Window | None = None
    sectors: Sectors | None = None
    ceiling_m: AltitudeM | None = None


class ReasonRequired(Body):
    reason: Reason


class ReasonOptional(Body):
    reason: Reason | None = None


class StartFiringBody(Body):
    azimuth_deg: AzimuthDeg | None = None
    elevation_deg: ElevationDeg | None = None
    equipment_index: Annotated[int, Field(ge=0, le=100)] | None = None


class Burst(Body):
    at: AwareDatetime
    azimuth_deg: AzimuthDeg
    elevation_deg: ElevationDeg
    ammo_type: AmmoType
    rounds: Annotated[int, Field(ge=1, le=100000)]
    altitude_m: AltitudeM | None = None


class FiringReportBody(Body):
    started_at: AwareDatetime
    ended_at: AwareDatetime
    rounds: Quantity
    observation: Literal["hail", "rain", "none"] = "none"
    bursts: Annotated[list[Burst], Field(max_length=500)] = []
    remarks: Text = ""


class AmendBody(Body):
    fit: bool | None = None
    azimuth_deg: AzimuthDeg | None = None
    elevation_deg: ElevationDeg | None = None
    max_altitude_m: AltitudeM | None = None


ACTION_BODIES: dict[str, type[Body]] = {
    "authorize": EmptyBody,
    "request-clearance": ClearanceRequestBody,
    "grant": GrantBody,
    "deny": ReasonRequired,
    "revoke": ReasonOptional,
    "order": EmptyBody,
    "acknowledge": EmptyBody,
    "start-firing": StartFiringBody,
    "report": FiringReportBody,
    "written-report": EmptyBody,
    "cancel": ReasonRequired,
    "recall": ReasonRequired,
    "amend": AmendBody,
}


def action_body(action: str) -> type[Body]:
    """The body model of a lifecycle action (actions added later read a plain object)."""
    return ACTION_BODIES.get(action, Body)


class StandingAgreementBody(Body):
    site_code: Code
    sectors: Annotated[list[Sector], Field(min_length=1, max_length=36)]
    ceiling_m: AltitudeM
    daily_start: ClockTime = "00:00"
    daily_end: ClockTime = "00:00"
    authority: Literal["atc", "military"] | None = Field(
        default=None, description="only an admin names it; atc/military act as themselves"
    )
    drill_id: Name | None = None


# --- sites, units, users --------------------------------------------------------------------
class ReadinessBody(Body):
    readiness: Literal["ready", "standby", "offline", "firing", "out_of_ammunition"]


class RestockBody(Body):
    ammo_type: AmmoType
    count: Annotated[int, Field(ge=1, le=100000)]


class LiaisonBody(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    phone: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    title: Annotated[str, StringConstraints(max_length=64)] | None = None


class NewUserBody(Body):
    username: Name
    password: Annotated[str, StringConstraints(min_length=8, max_length=256)]
    role: Literal[
        "forecaster", "commander", "atc", "military", "county_operator", "member", "admin"
    ]
    county: Code | None = None


class TokenBody(Body):
    name: Name = "api"
    days: Annotated[float, Field(gt=0, le=3650)] | None = None


class RevokeBody(Body):
    token_name: Name | None = None


class CellReviewBody(Body):
    decision: Literal["confirmed", "dismissed"]
    reason: Reason = ""


class StormNameBody(Body):
    """A storm's name; empty restores the default ("风暴 N")."""

    name: Annotated[str, StringConstraints(max_length=64)] = ""


class WarningBody(Body):
    counties: (
        Annotated[list[Code], Field(max_length=32)]
        | Annotated[str, StringConstraints(max_length=1000)]
        | None
    ) = None


# --- drills ---------------------------------------------------------------------------------
class DrillStartBody(Body):
    event: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    speed: Annotated[float, Field(ge=1.0, le=600.0)] = 1.0
    relocate_to: (
        Annotated[
            list[Annotated[float, Field(ge=-180.0, le=180.0)]], Field(min_length=2, max_length=2)
        ]
        | None
    ) = None
    relocate: bool | None = None
    auto_approve: bool = False
    script: (
        Annotated[str, StringConstraints(max_length=20000)]
        | Annotated[list[dict[str, Any]], Field(max_length=200)]
        | None
    ) = None


# --- the office (command/office) ------------------------------------------------------------
def _blank_none(value: Any) -> Any:
    """An empty form field is a field not given."""
    return None if isinstance(value, str) and not value.strip() else value


def _beijing_moment(value: datetime) -> datetime:
    """A time without an offset (a form's datetime-local) is Beijing time; years 2000-2100
    (a time zone shift at year 1 or 9999 leaves the calendar)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=BEIJING)
    if not 2000 <= value.year <= 2100:
        raise ValueError("a time between the years 2000 and 2100")
    return value.astimezone(UTC)


def _office_day(value: date) -> date:
    if not 2000 <= value.year <= 2100:
        raise ValueError("a date between the years 2000 and 2100")
    return value


Blank = BeforeValidator(_blank_none)
LocalMoment = Annotated[
    datetime,
    AfterValidator(_beijing_moment),
    Field(description="ISO 8601; without an offset it is Beijing time"),
]
Day = Annotated[date, AfterValidator(_office_day), Field(description="YYYY-MM-DD")]
Latitude = Annotated[float, Field(ge=-90.0, le=90.0, description="degrees north")]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0, description="degrees east")]
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Phone = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=6, max_length=32, pattern=r"^\+?[0-9][0-9 ()-]{5,30}$"
    ),
]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]
Title = Annotated[str, StringConstraints(max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=20000)]
UnitKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
OptionalName = Annotated[Name | None, Blank]


class ContactBody(Body):
    """A neighbouring city's liaison."""

    name: PersonName
    phone: Phone
    email: Email = ""


class LiaisonContactBody(ContactBody):
    """A member unit's liaison or deputy; ``username``: the account that confirms receipt."""

    username: Annotated[
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None, Blank
    ] = None


class DecisionIn(Body):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    owner_unit: UnitKey
    due_on: Day


class MeetingBody(Body):
    """A meeting with attendance ({unit key: attendee}) and decisions.  An HTML form's
    serialisation (``decisions.0.text``: an object of rows, empty rows left out) is read too."""

    error_paths = True

    held_on: Day
    kind: Literal["plenary", "ad_hoc"]
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    attendance: Annotated[
        dict[UnitKey, Annotated[str, StringConstraints(max_length=200)]], Field(max_length=64)
    ] = {}
    notes: Text = ""
    decisions: Annotated[list[DecisionIn], Field(max_length=50)] = []

    @classmethod
    def prepare(cls, raw: dict[str, Any]) -> dict[str, Any]:
        raw = dict(raw)
        rows = raw.get("decisions")
        if isinstance(rows, dict):  # form rows {"0": {...}, "1": {...}}; blank rows dropped
            ordered = sorted(
                rows.items(),
                key=lambda kv: (
                    not str(kv[0]).isdigit(),
                    int(kv[0]) if str(kv[0]).isdigit() else 0,
                    str(kv[0]),
                ),
            )
            raw["decisions"] = [
                v
                for _, v in ordered
                if not (isinstance(v, dict) and _blank_none(v.get("text")) is None)
            ]
        attendance = raw.get("attendance")
        if isinstance(attendance, dict):
            raw["attendance"] = {k: v for k, v in attendance.items() if _blank_none(v) is not None}
        return raw


def known_units(raw: dict[str, Any]) -> dict[str, str]:
    """Attendance and decision owners name member units."""
    from sqlalchemy import select

    from command.extensions import get_session
    from command.models import MemberUnit

    units = set(get_session().scalars(select(MemberUnit.key)))
    out: dict[str, str] = {}
    attendance = raw.get("attendance")
    if isinstance(attendance, dict):
        unknown = sorted(str(k) for k in set(attendance) - units)
        if unknown:
            out["attendance"] = f"unknown units: {', '.join(unknown)}"[:500]
    rows = raw.get("decisions")
    for i, row in enumerate(rows if isinstance(rows, list) else []):
        if isinstance(row, dict) and row.get("owner_unit") not in units:
            out[f"decisions[{i}].owner_unit"] = "a member unit key"
    return out


class FollowUpBody(Body):
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    done: bool = False


class GroundReportBody(Body):
    """A ground hail report (JSON, or a multipart form with the photo)."""

    error_keys = {"lat": "position", "lon": "position"}

    observed_at: LocalMoment
    lat: Latitude
    lon: Longitude
    size_class: SizeClass
    place: Annotated[str, StringConstraints(max_length=200)] = ""
    note: Text = ""
    drill_id: OptionalName = None


class SendHandoverBody(Body):
    text: Annotated[LongText | None, Blank] = Field(
        default=None, description="the notice as sent (default: the drafted text)"
    )


class ReceivedHandoverBody(Body):
    """A storm handover notice received from a neighbouring city."""

    error_keys = {"crossing_lat": "crossing", "crossing_lon": "crossing"}

    neighbour: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    storm: Annotated[Annotated[str, StringConstraints(max_length=64)] | None, Blank] = None
    crossing_at: LocalMoment
    crossing_lat: Latitude
    crossing_lon: Longitude
    mesh_mm: Annotated[Annotated[float, Field(ge=0.0, le=300.0)] | None, Blank] = None
    speed_mps: Annotated[Annotated[float, Field(ge=0.0, le=150.0)] | None, Blank] = None
    direction_deg: Annotated[AzimuthDeg | None, Blank] = None
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]


def known_neighbour(raw: dict[str, Any]) -> dict[str, str]:
    from command.office.config import office_config

    keys = sorted(n.key for n in office_config().neighbours)
    return {} if raw.get("neighbour") in keys else {"neighbour": "one of " + ", ".join(keys)}


class BulletinDraftBody(Body):
    """One of: an ad hoc notice (``kind: notice``, title, body); a bulletin drafted from a
    drill (``drill_id``); or one for a period (``from``, ``to``; Beijing time without an
    offset)."""

    kind: Annotated[Literal["notice", "bulletin"] | None, Blank] = None
    title: Title = ""
    body: LongText = ""
    drill_id: OptionalName = None
    start: Annotated[LocalMoment | None, Blank] = Field(default=None, alias="from")
    end: Annotated[LocalMoment | None, Blank] = Field(default=None, alias="to")

    def problems(self) -> dict[str, str]:
        if self.kind == "notice":
            out = {}
            if not self.title.strip():
                out["title"] = "a title of 1-200 characters"
            if not self.body.strip():
                out["body"] = "required"
            return out
        if self.drill_id:
            return {}
        if self.start is None or self.end is None:
            return {
                "from": "a drill_id, a from/to period or kind=notice is required",
                "to": "ISO time",
            }
        return {"to": "after from"} if self.end <= self.start else {}


class BulletinEditBody(Body):
    title: Title | None = None
    body: LongText | None = None


# --- the site registry upload (read by sites.registry, not by a model) ----------------------
_SITE_PROPERTIES: dict[str, Any] = {
    "code": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"},
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "county": {"type": "string", "description": "a county key of the deployment"},
    "elevation_m": {"type": "number", "minimum": -500, "maximum": 9000},
    "readiness": {
        "type": "string",
        "enum": ["ready", "standby", "offline", "firing", "out_of_ammunition"],
    },
    "equipment": {
        "type": "array",
        "minItems": 1,
        "maxItems": 8,
        "items": {
            "type": "object",
            "required": ["kind", "range_km", "ceiling_km", "sectors", "count"],
            "properties": {
                "kind": {"type": "string", "enum": ["gun_37mm", "rocket"]},
                "model": {"type": "string", "maxLength": 64},
                "range_km": {"type": "number", "exclusiveMinimum": 0, "maximum": 50},
                "ceiling_km": {"type": "number", "exclusiveMinimum": 0, "maximum": 20},
                "sectors": {
                    "type": "array",
                    "maxItems": 36,
                    "items": {
                        "type": "array",
                        "minItems": 2,
                        "maxItems": 2,
                        "items": {"type": "number", "minimum": 0, "maximum": 360},
                    },
                },
                "min_elevation_deg": {"type": "number", "minimum": 0, "maximum": 90},
                "max_elevation_deg": {"type": "number", "minimum": 0, "maximum": 90},
                "count": {"type": "integer", "minimum": 1, "maximum": 100},
            },
        },
    },
    "ammunition": {
        "type": "object",
        "additionalProperties": {"type": "integer", "minimum": 0},
        "description": "ammunition type -> rounds (only for a new site: stock moves "
        "through the ledger)",
    },
    "contacts": {
        "type": "array",
        "maxItems": 8,
        "items": {
            "type": "object",
            "required": ["name", "phone"],
            "properties": {
                "name": {"type": "string"},
                "phone": {"type": "string"},
                "role": {"type": "string"},
            },
        },
    },
    "sample": {"type": "boolean"},
}
SITE_REGISTRY_UPLOAD: dict[str, Any] = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {
                    "type": "string",
                    "format": "binary",
                    "description": "the registry: a .csv file (columns as the CSV export) or GeoJSON",
                }
            },
        },
        "encoding": {
            "file": {"contentType": "text/csv, application/geo+json, application/octet-stream"}
        },
    },
    "text/csv": {
        "schema": {
            "type": "string",
            "description": "header row: code, name, county, lat, lon, "
            "elevation_m, readiness, equipment[, ammunition, "
            "contacts, sample]",
        }
    },
    "application/geo+json": {
        "schema": {
            "type": "object",
            "required": ["type", "features"],
            "properties": {
                "type": {"const": "FeatureCollection"},
                "features": {
                    "type": "array",
                    "maxItems": 50,
                    "items": {
                        "type": "object",
                        "required": ["type", "geometry", "properties"],
                        "properties": {
                            "type": {"const": "Feature"},
                            "geometry": {
                                "type": "object",
                                "required": ["type", "coordinates"],
                                "properties": {
                                    "type": {"const": "Point"},
                                    "coordinates": {
                                        "type": "array",
                                        "minItems": 2,
                                        "maxItems": 3,
                                        "items": {"type": "number"},
                                        "description": "[lon, lat] (WGS84)",
                                    },
                                },
                            },
                            "properties": {
                                "type": "object",
                                "properties": _SITE_PROPERTIES,
                                "required": [
                                    "code",
                                    "name",
                                    "county",
                                    "elevation_m",
                                    "readiness",
                                    "equipment",
                                ],
                            },
                        },
                    },
                },
            },
        }
    },
}


def known_site(raw: dict[str, Any]) -> dict[str, str]:
    """``site_code`` names a site of the registry."""
    from command.extensions import get_session
    from command.models import SiteRecord

    code = raw.get("site_code")
    if not isinstance(code, str) or not code:
        return {}  # missing or not text: the model says so
    known = len(code) <= 32 and get_session().get(SiteRecord, code) is not None
    return {} if known else {"site_code": "unknown site"}


# --- the decorator --------------------------------------------------------------------------
def field_errors(exc: ValidationError, model: type[Body] | None = None) -> dict[str, str]:
    """``{"window": "1: Input should be ...", ...}``: every problem, keyed by the body's
    top-level field (as the core's errors are); a nested problem names its path inside it.
    ``model``'s ``error_keys`` and ``error_paths`` may key them otherwise."""
    keys = model.error_keys if model is not None else {}
    paths = model.error_paths if model is not None else False
    out: dict[str, list[str]] = {}
    for err in exc.errors(include_url=False, include_input=False):
        loc = [p for p in err["loc"]]
        if not loc:
            key, inner = "body", ""
        elif paths and len(loc) > 1:
            key = str(loc[0]) + "".join(
                f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[1:]
            )
            inner = ""
        else:
            key, inner = str(loc[0]), ".".join(str(p) for p in loc[1:])
        if key in keys:
            key, inner = keys[key], ".".join(str(p) for p in loc)
        out.setdefault(key, []).append(f"{inner}: {err['msg']}" if inner else err["msg"])
    return {key: "; ".join(msgs) for key, msgs in out.items()}


class MalformedBody(ApiError):
    status = 400
    code = "bad_request"


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _nul_problems(raw: Any) -> dict[str, str]:
    """Fields holding a NUL character anywhere (PostgreSQL text refuses it: a 500 at the
    commit otherwise)."""
    if not isinstance(raw, dict):
        return {}
    return {
        ("body" if _has_nul(k) else str(k)): "a NUL character (\\u0000) is not allowed"
        for k, v in raw.items()
        if _has_nul(k) or _has_nul(v)
    }


def parse(
    model: type[Body], raw: Any, lookups: Callable[[dict[str, Any]], dict[str, str]] | None = None
) -> Body:
    """The validated body; else a 422 with every problem: the model's and ``lookups``' (the
    checks needing the database, e.g. an unknown site), all at once; then the model's own
    checks across fields (``Body.problems``)."""
    if isinstance(raw, dict):
        raw = model.prepare(raw)
    nul = _nul_problems(raw)  # checked first: the lookups query the database with the text
    problems = {} if nul or lookups is None or not isinstance(raw, dict) else lookups(raw)
    problems |= nul
    try:
        body = model.model_validate(raw)
    except ValidationError as exc:
        raise Unprocessable("invalid request", field_errors(exc, model) | problems) from None
    problems = body.problems() | problems
    if problems:
        raise Unprocessable("invalid request", problems)
    return body


def _is_replay(endpoint: str) -> bool:
    """A retry of a request already done (its user-and-endpoint-scoped key is recorded)."""
    from flask_login import current_user

    from command.extensions import get_session
    from command.idempotency import scoped_key, seen

    key = scoped_key(current_user.username, endpoint, request.headers.get("Idempotency-Key"))
    return seen(get_session(), key) is not None


FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _raw_body(form_files: dict[str, str] | None) -> dict[str, Any]:
    """The request's body as a dict: its JSON object, or (a route taking uploads) its form
    fields; no body is ``{}``."""
    if form_files is not None and request.mimetype in FORM_TYPES:
        return request.form.to_dict()
    raw = request.get_json(silent=True)
    if raw is None:
        if request.get_data(cache=True).strip():
            raise MalformedBody(
                "the body is not a JSON object", {"body": "malformed JSON, or not application/json"}
            )
        raw = {}
    if not isinstance(raw, dict):
        raise Unprocessable("JSON object expected", {"body": "JSON object expected"})
    return raw


def validated(
    model: type[Body] | Callable[..., type[Body]],
    *,
    replayable: Callable[..., str] | None = None,
    lookups: Callable[[dict[str, Any]], dict[str, str]] | None = None,
    form_files: dict[str, str] | None = None,
) -> Callable[[F], F]:
    """Check the JSON body against ``model`` (or ``model(**view_kwargs)``, for routes whose
    body depends on a path parameter) and leave it on ``g.body``.  No body is ``{}``.
    ``replayable(**view_kwargs)``: the idempotency endpoint name of a route that answers a
    retry with a recorded Idempotency-Key from its record without reading the body; such a
    retry is not checked (``g.body`` is None).  ``form_files`` ({field: description}): the
    route also takes the model's fields as a multipart form with these file uploads (the
    route reads the files itself); the OpenAPI document publishes both."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if replayable is not None and _is_replay(replayable(**kwargs)):
                g.body = None  # a retry returns the first result; its body is not read
                return view(*args, **kwargs)
            chosen: type[Body] = model if isinstance(model, type) else model(**kwargs)
            raw = _raw_body(form_files)
            g.body = parse(chosen, raw, lookups)
            # null for an optional field means "not given": the core reads the body with
            # dict.get(field, default), so the key goes (in the parsed body Flask caches).
            for name in [k for k, v in raw.items() if v is None]:
                field = chosen.model_fields.get(name)
                if field is not None and not field.is_required():
                    del raw[name]
            return view(*args, **kwargs)

        wrapped.__hailops_body__ = model  # type: ignore[attr-defined]
        wrapped.__hailops_replayable__ = replayable is not None  # type: ignore[attr-defined]
        wrapped.__hailops_form_files__ = form_files  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def documented_body(content: dict[str, Any]) -> Callable[[F], F]:
    """For a route that reads an upload itself (not a JSON object): its OpenAPI request
    body, ``{media type: {"schema": ...}}``."""

    def decorator(view: F) -> F:
        view.__hailops_request_body__ = content  # type: ignore[attr-defined]
        return view

    return decorator
