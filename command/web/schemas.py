"""Request bodies of the JSON API as pydantic models.

Each write route names its model with :func:`validated`; the body is checked before the
route runs (finite numbers, ranges, lengths, enums) and every field problem is reported at
once as a 422 in the envelope ``{code, message, details}``, ``details`` mapping the field's
dotted path to its problem.  ``command.openapi`` reads the same models to publish the
request schemas, so the document and the checks cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any, Literal, TypeVar

from flask import g, request
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from command.errors import ApiError, Unprocessable

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
Window = Annotated[list[AwareDatetime], Field(min_length=2, max_length=2,
                                              description="[start, end], ISO 8601 with offset")]
Sector = Annotated[list[Annotated[float, Field(ge=-360.0, le=720.0)]],
                   Field(min_length=2, max_length=2, description="[start_deg, end_deg] clockwise")]
Sectors = Annotated[list[Sector], Field(max_length=36)]
AmmoType = Annotated[str, StringConstraints(min_length=1, max_length=32)]
Quantity = Annotated[dict[AmmoType, Rounds], Field(max_length=16,
                                                   description="ammunition type -> rounds")]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class Body(BaseModel):
    """Finite numbers only (JSON parsers accept NaN and Infinity); unknown fields ignored."""

    model_config = ConfigDict(allow_inf_nan=False, extra="ignore")


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
    "authorize": EmptyBody, "request-clearance": ClearanceRequestBody, "grant": GrantBody,
    "deny": ReasonRequired, "revoke": ReasonOptional, "order": EmptyBody,
    "acknowledge": EmptyBody, "start-firing": StartFiringBody, "report": FiringReportBody,
    "written-report": EmptyBody, "cancel": ReasonRequired, "recall": ReasonRequired,
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
        default=None, description="only an admin names it; atc/military act as themselves")
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
    role: Literal["forecaster", "commander", "atc", "military", "county_operator", "member",
                  "admin"]
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
    counties: Annotated[list[Code], Field(max_length=32)] | Annotated[
        str, StringConstraints(max_length=1000)] | None = None


# --- drills ---------------------------------------------------------------------------------
class DrillStartBody(Body):
    event: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    speed: Annotated[float, Field(ge=1.0, le=600.0)] = 1.0
    relocate_to: Annotated[list[Annotated[float, Field(ge=-180.0, le=180.0)]],
                           Field(min_length=2, max_length=2)] | None = None
    relocate: bool | None = None
    auto_approve: bool = False
    script: Annotated[str, StringConstraints(max_length=20000)] | Annotated[
        list[dict[str, Any]], Field(max_length=200)] | None = None


def known_site(raw: dict[str, Any]) -> dict[str, str]:
    """``site_code`` names a site of the registry."""
    from command.extensions import get_session
    from command.models import SiteRecord

    code = raw.get("site_code")
    if isinstance(code, str) and 0 < len(code) <= 32 and get_session().get(SiteRecord, code):
        return {}
    return {"site_code": "unknown site"} if isinstance(code, str) and code else {}


# --- the decorator --------------------------------------------------------------------------
def field_errors(exc: ValidationError) -> dict[str, str]:
    """``{"window": "1: Input should be ...", ...}``: every problem, keyed by the body's
    top-level field (as the core's errors are); a nested problem names its path inside it."""
    out: dict[str, list[str]] = {}
    for err in exc.errors(include_url=False, include_input=False):
        loc = [str(p) for p in err["loc"]]
        key, inner = (loc[0], ".".join(loc[1:])) if loc else ("body", "")
        out.setdefault(key, []).append(f"{inner}: {err['msg']}" if inner else err["msg"])
    return {key: "; ".join(msgs) for key, msgs in out.items()}


class MalformedBody(ApiError):
    status = 400
    code = "bad_request"


def parse(model: type[Body], raw: Any,
          lookups: Callable[[dict[str, Any]], dict[str, str]] | None = None) -> Body:
    """The validated body; else a 422 with every problem: the model's and ``lookups``' (the
    checks needing the database, e.g. an unknown site), all at once."""
    problems = {} if lookups is None or not isinstance(raw, dict) else lookups(raw)
    try:
        body = model.model_validate(raw)
    except ValidationError as exc:
        raise Unprocessable("invalid request", field_errors(exc) | problems) from None
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


def validated(model: type[Body] | Callable[..., type[Body]], *,
              replayable: Callable[..., str] | None = None,
              lookups: Callable[[dict[str, Any]], dict[str, str]] | None = None,
              ) -> Callable[[F], F]:
    """Check the JSON body against ``model`` (or ``model(**view_kwargs)``, for routes whose
    body depends on a path parameter) and leave it on ``g.body``.  No body is ``{}``.
    ``replayable(**view_kwargs)``: the idempotency endpoint name of a route that answers a
    retry with a recorded Idempotency-Key from its record without reading the body; such a
    retry is not checked (``g.body`` is None)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if replayable is not None and _is_replay(replayable(**kwargs)):
                g.body = None  # a retry returns the first result; its body is not read
                return view(*args, **kwargs)
            chosen = model if isinstance(model, type) else model(**kwargs)
            raw = request.get_json(silent=True)
            if raw is None:
                if request.get_data(cache=True).strip():
                    raise MalformedBody("the body is not a JSON object",
                                        {"body": "malformed JSON, or not application/json"})
                raw = {}
            if not isinstance(raw, dict):
                raise Unprocessable("JSON object expected", {"body": "JSON object expected"})
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
        return wrapped  # type: ignore[return-value]

    return decorator
