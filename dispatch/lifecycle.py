"""The operation lifecycle: a state machine of pure transition functions.

::

    proposed → authorized → clearance_requested → cleared → ordered → acknowledged → firing → completed
       │           │               │   (both grant)    │        │           │            │
       └───────────┴── cancelled ──┤                   │        └───────────┴────────────┴─→ recalled
                                   └→ denied ←─────────┘ (a denial, or a revocation before the order)
    any state before completed → expired (the window ended)

Every transition is a function ``(operation, actor, now, ..., idempotency_key) -> Operation``
over frozen values: it checks the actor's role and county (:class:`PermissionDenied`), then
the state and the clock (:class:`IllegalTransition`), and returns a new :class:`Operation`
with one :class:`HistoryEntry` per step appended.  Nothing is mutated; nothing does I/O.

Who may do what (``ROLE_ACTIONS``): commander/admin authorize, request clearance, order,
cancel, recall; ``atc``/``military`` grant, deny, revoke (for their own authority only); the
``county_operator`` of the site's county acknowledges, reports the start of firing, the
immediate report and the written report; a forecaster (and commander/admin) may propose;
the clock (:data:`SYSTEM`) expires.

Idempotency: each history entry keeps the ``idempotency_key`` of the call that made it, so
the keys applied to an operation are :attr:`Operation.applied_keys`.  A call whose key is
already there for the same action returns the operation unchanged (and, for
:func:`report_firing`, the ledger unchanged: its entries carry the reference
``"<operation id>:report"``); the same key for a different action is a
:class:`ValidationFailed`.  Keys are scoped to one operation; :func:`propose` creates one, so
the shell looks a proposal's key up itself (a unique column) before calling it.

Cease-fire: a recall, an expiry, or a revocation after the order ends permission at once;
:attr:`Operation.cease_fire` tells the shell to send the cease-fire to the site.  A firing
report after that is accepted as a record but carries :class:`~dispatch.firing.Violation`\\ s.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from dispatch.ammunition import AmmunitionLedger
from dispatch.clearance import (
    Authority,
    Clearance,
    ClearanceRequest,
    Decision,
    Denial,
    Grant,
    Revocation,
    StandingAgreement,
    TimeWindow,
    authority_status,
    auto_grant,
    current_envelope,
    effective_clearance,
)
from dispatch.errors import (
    ClearanceViolation,
    IllegalTransition,
    PermissionDenied,
    ValidationFailed,
)
from dispatch.firing import FiringReport, Violation, check_firing
from sites.geometry import azimuth_in_sectors
from sites.model import Sector


class OperationState(enum.StrEnum):
    PROPOSED = "proposed"
    AUTHORIZED = "authorized"
    CLEARANCE_REQUESTED = "clearance_requested"
    CLEARED = "cleared"
    ORDERED = "ordered"
    ACKNOWLEDGED = "acknowledged"
    FIRING = "firing"
    COMPLETED = "completed"
    DENIED = "denied"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    RECALLED = "recalled"


S = OperationState

#: States from which nothing moves the state any more (reports may still be attached).
TERMINAL_STATES = frozenset({S.COMPLETED, S.DENIED, S.CANCELLED, S.EXPIRED, S.RECALLED})
#: States in which the site holds an order: leaving them needs a cease-fire.
ORDER_STATES = frozenset({S.ORDERED, S.ACKNOWLEDGED, S.FIRING})


class Role(enum.StrEnum):
    """The roles of ``command.settings.ROLES`` plus the clock."""

    FORECASTER = "forecaster"
    COMMANDER = "commander"
    ATC = "atc"
    MILITARY = "military"
    COUNTY_OPERATOR = "county_operator"
    MEMBER = "member"
    ADMIN = "admin"
    SYSTEM = "system"  # the scheduler: expiries only


@dataclass(frozen=True)
class Actor:
    """Who acts: ``county`` is set exactly for county operators."""

    username: str
    role: Role
    county: str | None = None

    def __post_init__(self) -> None:
        # Accept the plain strings the shell stores (``User.role``).
        if not isinstance(self.role, Role):
            object.__setattr__(self, "role", Role(self.role))


#: The clock, as the actor of expiries.
SYSTEM = Actor("system", Role.SYSTEM)

_COMMAND = frozenset({Role.COMMANDER, Role.ADMIN})
_AIRSPACE = frozenset({Role.ATC, Role.MILITARY})
_SITE = frozenset({Role.COUNTY_OPERATOR})

#: Action → roles allowed to perform it.
ROLE_ACTIONS: Mapping[str, frozenset[Role]] = {
    "propose": frozenset({Role.FORECASTER, Role.COMMANDER, Role.ADMIN}),
    "authorize": _COMMAND,
    "request_clearance": _COMMAND,
    "order": _COMMAND,
    "cancel": _COMMAND,
    "recall": _COMMAND,
    "amend": _COMMAND,
    "grant": _AIRSPACE,
    "deny": _AIRSPACE,
    "revoke": _AIRSPACE,
    "acknowledge": _SITE,
    "start_firing": _SITE,
    "report_firing": _SITE,
    "file_written_report": _SITE,
    "expire": frozenset({Role.SYSTEM, Role.COMMANDER, Role.ADMIN}),
}
_SITE_ACTIONS = frozenset({"acknowledge", "start_firing", "report_firing", "file_written_report"})

#: Action → states it may be taken from.  ``start_firing`` and ``report_firing`` are also
#: taken after a cease-fire (recalled/expired), where they are recorded with violations.
ALLOWED_FROM: Mapping[str, frozenset[OperationState]] = {
    "authorize": frozenset({S.PROPOSED}),
    "request_clearance": frozenset({S.AUTHORIZED}),
    "grant": frozenset({S.CLEARANCE_REQUESTED}),
    "deny": frozenset({S.CLEARANCE_REQUESTED}),
    "revoke": frozenset({S.CLEARANCE_REQUESTED, S.CLEARED, *ORDER_STATES}),
    "order": frozenset({S.CLEARED}),
    "acknowledge": frozenset({S.ORDERED}),
    "start_firing": frozenset({S.ACKNOWLEDGED, S.RECALLED, S.EXPIRED}),
    "report_firing": frozenset({S.FIRING, S.RECALLED, S.EXPIRED}),
    "file_written_report": frozenset({S.COMPLETED, S.RECALLED, S.EXPIRED}),
    "cancel": frozenset({S.PROPOSED, S.AUTHORIZED, S.CLEARANCE_REQUESTED, S.CLEARED}),
    "recall": ORDER_STATES,
    "amend": frozenset({S.PROPOSED, S.AUTHORIZED, S.CLEARANCE_REQUESTED, S.CLEARED}),
    "expire": frozenset(set(S) - TERMINAL_STATES),
}


@dataclass(frozen=True)
class HistoryEntry:
    """One step: what was done, by whom, when, from which state to which."""

    action: str
    previous: OperationState | None  # None for the proposal
    state: OperationState
    at: datetime
    actor: str
    role: Role
    idempotency_key: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class Operation:
    """One site engaging one cell.  Build with :func:`propose`, change with the transitions.

    ``window`` is the intended intercept window; the order's window is what was cleared
    (:attr:`ordered_window`).  ``max_altitude_m`` is the highest altitude (m above sea level)
    the rounds reach, the figure checked against the cleared ceiling.  ``quantity`` maps an
    ammunition type to the count to fire.
    """

    id: str
    cell_id: str
    site_code: str
    county: str
    drill_id: str | None
    state: OperationState
    window: TimeWindow
    azimuth_deg: float
    elevation_deg: float
    quantity: dict[str, int] = field(hash=False)
    max_altitude_m: float
    history: tuple[HistoryEntry, ...] = ()
    clearance_request: ClearanceRequest | None = None
    decisions: tuple[Decision, ...] = ()
    ordered_window: TimeWindow | None = None
    report: FiringReport | None = None
    violations: tuple[Violation, ...] = ()

    @property
    def applied_keys(self) -> frozenset[str]:
        return frozenset(h.idempotency_key for h in self.history if h.idempotency_key)

    def clearance(self, now: datetime) -> Clearance | None:
        """The effective dual clearance as of ``now`` (``None`` if none)."""
        if self.clearance_request is None:
            return None
        return effective_clearance(self.clearance_request, self.decisions, now)

    @property
    def cease_fire(self) -> bool:
        """True when the operation left an order state by recall, revocation or expiry."""
        for before, after in zip(self.history, self.history[1:], strict=False):
            if before.state in ORDER_STATES and after.state in TERMINAL_STATES - {S.COMPLETED}:
                return True
        return False

    @property
    def reported_at(self) -> datetime | None:
        return next((h.at for h in self.history if h.action == "report_firing"), None)

    def deadline(self, now: datetime) -> datetime:
        """When permission (or the chance of it) runs out: the cleared window's end if any,
        else the intended window's end."""
        if self.ordered_window is not None:
            return self.ordered_window.end
        clearance = self.clearance(now)
        return clearance.window.end if clearance is not None else self.window.end


# --------------------------------------------------------------------------- checks


def _authorize_actor(op: Operation | None, actor: Actor, action: str, county: str) -> None:
    allowed = ROLE_ACTIONS[action]
    if actor.role not in allowed:
        roles = ", ".join(sorted(r.value for r in allowed))
        raise PermissionDenied(
            f"{actor.username} ({actor.role.value}) may not {action}; needs {roles}"
        )
    if action in _SITE_ACTIONS and actor.county != county:
        raise PermissionDenied(
            f"{actor.username} operates county {actor.county!r}; site is in county {county!r}"
        )


def _replayed(op: Operation, key: str | None, action: str) -> bool:
    if key is None:
        return False
    for entry in op.history:
        if entry.idempotency_key == key:
            if entry.action != action:
                raise ValidationFailed(
                    {"idempotency_key": f"already used for {entry.action!r} on operation {op.id}"}
                )
            return True
    return False


def _check_state(op: Operation, action: str) -> None:
    if op.state not in ALLOWED_FROM[action]:
        raise IllegalTransition(
            f"operation {op.id}: cannot {action} from {op.state.value}",
            state=op.state.value,
            action=action,
        )


def _step(
    op: Operation,
    action: str,
    to: OperationState,
    actor: Actor,
    now: datetime,
    key: str | None,
    detail: str = "",
    **changes: object,
) -> Operation:
    entry = HistoryEntry(action, op.state, to, now, actor.username, actor.role, key, detail)
    return replace(op, state=to, history=(*op.history, entry), **changes)  # type: ignore[arg-type]


def _begin(op: Operation, actor: Actor, action: str, key: str | None, now: datetime) -> bool:
    """Role, county, clock, replay and state checks shared by every transition; True = replay."""
    _authorize_actor(op, actor, action, op.county)
    _require_aware(now)
    if _replayed(op, key, action):
        return True
    _check_state(op, action)
    return False


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValidationFailed({"now": "must be timezone-aware (UTC)"})


# --------------------------------------------------------------------------- transitions


def propose(
    *,
    id: str,
    cell_id: str,
    site_code: str,
    county: str,
    window: TimeWindow,
    azimuth_deg: float,
    elevation_deg: float,
    quantity: Mapping[str, int],
    max_altitude_m: float,
    actor: Actor,
    now: datetime,
    drill_id: str | None = None,
    idempotency_key: str | None = None,
) -> Operation:
    """A new operation in state ``proposed`` (usually from a recommendation)."""
    _authorize_actor(None, actor, "propose", county)
    _require_aware(now)
    errors: dict[str, str] = {}
    for name, value in (
        ("id", id),
        ("cell_id", cell_id),
        ("site_code", site_code),
        ("county", county),
    ):
        if not value:
            errors[name] = "required"
    if not 0.0 <= azimuth_deg < 360.0:
        errors["azimuth_deg"] = "must be within 0..360"
    if not 0.0 <= elevation_deg <= 90.0:
        errors["elevation_deg"] = "must be within 0..90"
    if not quantity or any(n <= 0 for n in quantity.values()):
        errors["quantity"] = "name at least one ammunition type with a positive count"
    if max_altitude_m <= 0.0:
        errors["max_altitude_m"] = "must be positive"
    if errors:
        raise ValidationFailed(errors)
    entry = HistoryEntry(
        "propose", None, S.PROPOSED, now, actor.username, actor.role, idempotency_key
    )
    return Operation(
        id=id,
        cell_id=cell_id,
        site_code=site_code,
        county=county,
        drill_id=drill_id,
        state=S.PROPOSED,
        window=window,
        azimuth_deg=azimuth_deg,
        elevation_deg=elevation_deg,
        quantity=dict(quantity),
        max_altitude_m=max_altitude_m,
        history=(entry,),
    )


def authorize(
    op: Operation, actor: Actor, now: datetime, *, idempotency_key: str | None = None
) -> Operation:
    """The commander approves the proposal."""
    if _begin(op, actor, "authorize", idempotency_key, now):
        return op
    return _step(op, "authorize", S.AUTHORIZED, actor, now, idempotency_key)


def request_clearance(
    op: Operation,
    actor: Actor,
    now: datetime,
    request: ClearanceRequest,
    *,
    agreements: Iterable[StandingAgreement] = (),
    idempotency_key: str | None = None,
) -> Operation:
    """Send the airspace request to ATC and the military at once.

    When the request lies inside both authorities' standing agreements the standing grants
    are recorded straight away (one history entry each) and the operation is ``cleared``.
    """
    if _begin(op, actor, "request_clearance", idempotency_key, now):
        return op
    if request.site_code != op.site_code:
        raise ValidationFailed(
            {"site_code": f"request is for {request.site_code}, operation for {op.site_code}"}
        )
    op = _step(
        op,
        "request_clearance",
        S.CLEARANCE_REQUESTED,
        actor,
        now,
        idempotency_key,
        clearance_request=request,
    )
    for grant in auto_grant(request, agreements):
        standing_actor = Actor(grant.by, Role(grant.authority.value))
        op = _record_decision(op, "grant", grant, standing_actor, now, None, "standing agreement")
    return op


def _record_decision(
    op: Operation,
    action: str,
    decision: Decision,
    actor: Actor,
    now: datetime,
    key: str | None,
    detail: str = "",
) -> Operation:
    assert op.clearance_request is not None
    decisions = (*op.decisions, decision)
    to = op.state
    if isinstance(decision, Denial):
        to, detail = S.DENIED, decision.reason
    elif isinstance(decision, Revocation):
        to = S.RECALLED if op.state in ORDER_STATES else S.DENIED
        detail = decision.reason or "revoked"
    elif op.state == S.CLEARANCE_REQUESTED:
        both = all(
            authority_status(op.clearance_request, decisions, a, now).state == "granted"
            for a in Authority
        )
        if both:
            cleared = effective_clearance(op.clearance_request, decisions, now)
            if cleared is None:
                to, detail = S.DENIED, "the two grants have nothing in common"
            else:
                to = S.CLEARED
    return _step(op, action, to, actor, now, key, detail, decisions=decisions)


def _authority(actor: Actor) -> Authority:
    return Authority(actor.role.value)


def grant(
    op: Operation,
    actor: Actor,
    now: datetime,
    *,
    window: TimeWindow | None = None,
    sectors: Sequence[Sector] | None = None,
    ceiling_m: float | None = None,
    idempotency_key: str | None = None,
) -> Operation:
    """The actor's authority grants, possibly narrowing window, sectors or ceiling.

    Each authority decides once; the operation is ``cleared`` when both have granted (for the
    intersection) — or ``denied`` if the two grants leave nothing in common.
    """
    if _begin(op, actor, "grant", idempotency_key, now):
        return op
    assert op.clearance_request is not None
    authority = _authority(actor)
    status = authority_status(op.clearance_request, op.decisions, authority, now)
    if status.state != "pending":
        raise IllegalTransition(
            f"operation {op.id}: {authority.value} has already decided ({status.state})",
            state=op.state.value,
            action="grant",
        )
    decision = Grant(
        authority,
        now,
        actor.username,
        window=window,
        sectors=tuple(sectors) if sectors is not None else None,
        ceiling_m=ceiling_m,
    )
    return _record_decision(op, "grant", decision, actor, now, idempotency_key)


def deny(
    op: Operation, actor: Actor, now: datetime, reason: str, *, idempotency_key: str | None = None
) -> Operation:
    """The actor's authority refuses, with a reason: the operation is ``denied``."""
    if _begin(op, actor, "deny", idempotency_key, now):
        return op
    assert op.clearance_request is not None
    authority = _authority(actor)
    status = authority_status(op.clearance_request, op.decisions, authority, now)
    if status.state != "pending":
        raise IllegalTransition(
            f"operation {op.id}: {authority.value} has already decided ({status.state}); "
            "withdraw a grant with revoke",
            state=op.state.value,
            action="deny",
        )
    decision = Denial(authority, now, actor.username, reason)
    return _record_decision(op, "deny", decision, actor, now, idempotency_key)


def revoke(
    op: Operation,
    actor: Actor,
    now: datetime,
    reason: str = "",
    *,
    idempotency_key: str | None = None,
) -> Operation:
    """The actor's authority withdraws its grant: permission ends at once.

    Before the order the operation becomes ``denied``; once ordered it is ``recalled`` and
    :attr:`Operation.cease_fire` is set.
    """
    if _begin(op, actor, "revoke", idempotency_key, now):
        return op
    assert op.clearance_request is not None
    authority = _authority(actor)
    status = authority_status(op.clearance_request, op.decisions, authority, now)
    if status.state != "granted":
        raise IllegalTransition(
            f"operation {op.id}: {authority.value} has no grant to revoke ({status.state})",
            state=op.state.value,
            action="revoke",
        )
    decision = Revocation(authority, now, actor.username, reason)
    return _record_decision(op, "revoke", decision, actor, now, idempotency_key)


def order(
    op: Operation, actor: Actor, now: datetime, *, idempotency_key: str | None = None
) -> Operation:
    """Order the site to fire: only when cleared and ``now`` lies inside the cleared window.

    The order names the cleared window, the azimuth, the elevation and the quantity.  An aim
    outside the cleared sectors or rounds reaching above the cleared ceiling raise
    :class:`ClearanceViolation`; a window not yet open or already closed raises
    :class:`IllegalTransition`.
    """
    if _begin(op, actor, "order", idempotency_key, now):
        return op
    clearance = op.clearance(now)
    if clearance is None:
        raise IllegalTransition(
            f"operation {op.id}: no dual clearance in force", state=op.state.value, action="order"
        )
    if not clearance.window.contains(now):
        when = "opens" if now < clearance.window.start else "closed"
        edge = clearance.window.start if now < clearance.window.start else clearance.window.end
        raise IllegalTransition(
            f"operation {op.id}: the cleared window {when} at {edge.isoformat()}",
            state=op.state.value,
            action="order",
        )
    if not azimuth_in_sectors(op.azimuth_deg, clearance.sectors):
        raise ClearanceViolation(
            f"operation {op.id}: azimuth {op.azimuth_deg:.1f}° is outside the cleared sectors"
        )
    if op.max_altitude_m > clearance.ceiling_m:
        raise ClearanceViolation(
            f"operation {op.id}: rounds reach {op.max_altitude_m:.0f} m, above the cleared ceiling "
            f"{clearance.ceiling_m:.0f} m"
        )
    return _step(
        op, "order", S.ORDERED, actor, now, idempotency_key, ordered_window=clearance.window
    )


def amend(
    op: Operation,
    actor: Actor,
    now: datetime,
    *,
    azimuth_deg: float | None = None,
    elevation_deg: float | None = None,
    max_altitude_m: float | None = None,
    idempotency_key: str | None = None,
) -> Operation:
    """Change the plan's aim before the order, keeping the airspace already granted.

    The state stays; the step is recorded with what changed.  When a grant is in force the
    amended aim must lie inside the current envelope (the request ∩ the grants so far:
    :func:`~dispatch.clearance.current_envelope`), else :class:`ClearanceViolation` — so an
    amendment never needs a new request: it only narrows what was asked.
    """
    if _begin(op, actor, "amend", idempotency_key, now):
        return op
    azimuth = op.azimuth_deg if azimuth_deg is None else float(azimuth_deg)
    elevation = op.elevation_deg if elevation_deg is None else float(elevation_deg)
    reach = op.max_altitude_m if max_altitude_m is None else float(max_altitude_m)
    errors: dict[str, str] = {}
    if not 0.0 <= azimuth <= 360.0:
        errors["azimuth_deg"] = "must be within 0..360"
    if not 0.0 < elevation <= 90.0:
        errors["elevation_deg"] = "must be within 0..90"
    if reach <= 0.0:
        errors["max_altitude_m"] = "must be positive"
    if errors:
        raise ValidationFailed(errors)
    if op.clearance_request is not None:
        envelope = current_envelope(op.clearance_request, op.decisions, now)
        if envelope.granted_by and not azimuth_in_sectors(azimuth, envelope.sectors):
            raise ClearanceViolation(
                f"operation {op.id}: azimuth {azimuth:.1f}° is outside the cleared sectors"
            )
        if envelope.granted_by and reach > envelope.ceiling_m:
            raise ClearanceViolation(
                f"operation {op.id}: rounds reach {reach:.0f} m, above the cleared ceiling "
                f"{envelope.ceiling_m:.0f} m"
            )
    changes = [
        f"{name} {before:g}→{after:g}"
        for name, before, after in (
            ("azimuth_deg", op.azimuth_deg, azimuth),
            ("elevation_deg", op.elevation_deg, elevation),
            ("max_altitude_m", op.max_altitude_m, reach),
        )
        if before != after
    ]
    if not changes:
        raise ValidationFailed({"amend": "nothing to change"})
    return _step(
        op,
        "amend",
        op.state,
        actor,
        now,
        idempotency_key,
        "; ".join(changes),
        azimuth_deg=azimuth,
        elevation_deg=elevation,
        max_altitude_m=reach,
    )


def acknowledge(
    op: Operation, actor: Actor, now: datetime, *, idempotency_key: str | None = None
) -> Operation:
    """The site's county operator confirms receipt of the order."""
    if _begin(op, actor, "acknowledge", idempotency_key, now):
        return op
    return _step(op, "acknowledge", S.ACKNOWLEDGED, actor, now, idempotency_key)


def start_firing(
    op: Operation,
    actor: Actor,
    now: datetime,
    *,
    azimuth_deg: float | None = None,
    elevation_deg: float | None = None,
    idempotency_key: str | None = None,
) -> Operation:
    """The site reports that firing starts (aim defaults to the ordered aim).

    Inside the cleared window, sector and ceiling the operation is ``firing``.  Otherwise the
    start is recorded with a :class:`Violation`: the state does not become ``firing``, and an
    acknowledged operation whose window has closed is ``expired`` at once (cease-fire).
    """
    if _begin(op, actor, "start_firing", idempotency_key, now):
        return op
    azimuth = op.azimuth_deg if azimuth_deg is None else azimuth_deg
    elevation = op.elevation_deg if elevation_deg is None else elevation_deg
    violation = check_firing(op, op.clearance(now), now, azimuth, elevation, op.max_altitude_m)
    if violation is None:
        return _step(op, "start_firing", S.FIRING, actor, now, idempotency_key)
    to = op.state
    if op.state == S.ACKNOWLEDGED and now >= op.deadline(now):
        to = S.EXPIRED
    return _step(
        op,
        "start_firing",
        to,
        actor,
        now,
        idempotency_key,
        violation.message,
        violations=(*op.violations, violation),
    )


def report_firing(
    op: Operation,
    ledger: AmmunitionLedger,
    actor: Actor,
    now: datetime,
    report: FiringReport,
    *,
    idempotency_key: str | None = None,
) -> tuple[Operation, AmmunitionLedger]:
    """The immediate report: ammunition is charged, every shot checked.

    From ``firing`` the operation is ``completed``; after a cease-fire (``recalled``,
    ``expired``) the report is still taken — the rounds were fired — and the state stays.
    Each burst, and the reported start and end with the ordered aim, is checked with
    :func:`check_firing`; what breaks the rules is appended to ``violations``.  The ledger
    refuses a report claiming more than the stock (:class:`AmmunitionError`), and then
    nothing changes.
    """
    if _begin(op, actor, "report_firing", idempotency_key, now):
        return op, ledger
    if op.report is not None:
        raise IllegalTransition(
            f"operation {op.id}: already reported", state=op.state.value, action="report_firing"
        )
    if S.ORDERED not in {h.state for h in op.history}:
        raise IllegalTransition(
            f"operation {op.id}: was never ordered", state=op.state.value, action="report_firing"
        )
    if ledger.site_code != op.site_code:
        raise ValidationFailed(
            {"ledger": f"ledger of {ledger.site_code}, operation at {op.site_code}"}
        )
    ledger = ledger.consume(report.rounds, now, actor.username, reference=f"{op.id}:report")
    events = [(b.at, b.azimuth_deg, b.elevation_deg, b.altitude_m) for b in report.bursts]
    events += [
        (t, op.azimuth_deg, op.elevation_deg, None) for t in (report.started_at, report.ended_at)
    ]
    violations: list[Violation] = []
    for at, azimuth, elevation, altitude in events:
        found = check_firing(
            op,
            op.clearance(at),
            at,
            azimuth,
            elevation,
            op.max_altitude_m if altitude is None else altitude,
        )
        if found is not None and found.message not in {v.message for v in violations}:
            violations.append(found)
    to = S.COMPLETED if op.state == S.FIRING else op.state
    detail = f"{len(violations)} violation(s)" if violations else ""
    op = _step(
        op,
        "report_firing",
        to,
        actor,
        now,
        idempotency_key,
        detail,
        report=report,
        violations=(*op.violations, *violations),
    )
    return op, ledger


def file_written_report(
    op: Operation, actor: Actor, now: datetime, *, idempotency_key: str | None = None
) -> Operation:
    """The written report (due within a configured time of the immediate report) is in."""
    if _begin(op, actor, "file_written_report", idempotency_key, now):
        return op
    if op.report is None:
        raise IllegalTransition(
            f"operation {op.id}: no immediate report yet",
            state=op.state.value,
            action="file_written_report",
        )
    if any(h.action == "file_written_report" for h in op.history):
        raise IllegalTransition(
            f"operation {op.id}: written report already filed",
            state=op.state.value,
            action="file_written_report",
        )
    return _step(op, "file_written_report", op.state, actor, now, idempotency_key)


def written_report_due(
    op: Operation, due_after: timedelta = timedelta(hours=24)
) -> datetime | None:
    """When the written report is due, or ``None`` (no immediate report yet, or filed)."""
    reported = op.reported_at
    if reported is None or any(h.action == "file_written_report" for h in op.history):
        return None
    return reported + due_after


def cancel(
    op: Operation, actor: Actor, now: datetime, reason: str, *, idempotency_key: str | None = None
) -> Operation:
    """The commander drops the operation before it is ordered."""
    if _begin(op, actor, "cancel", idempotency_key, now):
        return op
    return _step(op, "cancel", S.CANCELLED, actor, now, idempotency_key, reason)


def recall(
    op: Operation, actor: Actor, now: datetime, reason: str, *, idempotency_key: str | None = None
) -> Operation:
    """The commander withdraws an order: cease-fire at once."""
    if _begin(op, actor, "recall", idempotency_key, now):
        return op
    return _step(op, "recall", S.RECALLED, actor, now, idempotency_key, reason)


def expire(
    op: Operation, now: datetime, *, actor: Actor = SYSTEM, idempotency_key: str | None = None
) -> Operation:
    """The window has ended (:meth:`Operation.deadline`): the operation is ``expired``.

    Called by the scheduler; from an order state this is a cease-fire.
    """
    if _begin(op, actor, "expire", idempotency_key, now):
        return op
    deadline = op.deadline(now)
    if now < deadline:
        raise IllegalTransition(
            f"operation {op.id}: window open until {deadline.isoformat()}",
            state=op.state.value,
            action="expire",
        )
    return _step(
        op, "expire", S.EXPIRED, actor, now, idempotency_key, f"window ended {deadline.isoformat()}"
    )


def site_readiness_after(
    before: Operation | None, after: Operation, readiness: str, stock_left: int
) -> str | None:
    """The site's readiness once ``after`` is recorded, or ``None`` to leave it (pure).

    Readiness follows the operation: ``firing`` while it fires; back to ``ready`` when firing
    ends — or ``out_of_ammunition`` when the report leaves no rounds.  An offline site stays
    offline; a site fired empty stays ``out_of_ammunition`` until restocked.
    """
    was_firing = before is not None and before.state == S.FIRING
    if after.state == S.FIRING and not was_firing:
        return "firing" if readiness != "firing" else None
    if (was_firing or after.report is not None and (before is None or before.report is None)) \
            and after.state != S.FIRING:
        target = "out_of_ammunition" if stock_left <= 0 else "ready"
        if readiness == "offline" or readiness == target:
            return None
        if readiness == "firing" or target == "out_of_ammunition":
            return target
    return None


def readiness_after_restock(readiness: str, stock_left: int) -> str | None:
    """The site's readiness after a restock, or ``None`` to leave it (pure): a site fired empty
    (``out_of_ammunition``) is ``ready`` again once it holds rounds; any other state stays."""
    if readiness == "out_of_ammunition" and stock_left > 0:
        return "ready"
    return None
