"""The commander's alert list, rebuilt from the audit log so that it survives a reload.

Every alert the commander console shows (a clearance denied or revoked, an operation cleared
by both authorities, a firing report, a cease-fire, a deadline alert of the watch, a hail
warning, a forecaster's review) is a state change that was audited in the same transaction as
its live event: persisted before announced.  The list is read back from those records, worded
from the translation catalogue, and stamped with the record's time — the world's time, i.e.
the drill clock for a drill's records (``?drill=ID``), the wall clock live.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from flask import Blueprint, jsonify
from flask_babel import gettext as _
from sqlalchemy import or_, select

from command.auth import roles_required
from command.deployment import deployment
from command.extensions import get_session
from command.models import AuditRecord, OperationRecord
from command.web.scope import requested_drill

bp = Blueprint("alerts", __name__, url_prefix="/api")

ALERTS_SHOWN = 50
#: Operation actions whose record may be an alert (``cleared`` is read from the new state).
_OPERATION_ACTIONS = (
    "operation.deny",
    "operation.revoke",
    "operation.report",
    "operation.recall",
    "operation.grant",
    "operation.request-clearance",
)
REVIEW_ACTIONS = ("storm.confirmed", "storm.dismissed", "cell.confirmed", "cell.dismissed")
_OTHER_ACTIONS = ("warning.issue", *REVIEW_ACTIONS)


@dataclass(frozen=True)
class Alert:
    """One line of the list: ``level`` is its colour (bad, ok, warn or plain)."""

    id: int
    at: str
    kind: str
    level: str
    text: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "kind": self.kind,
            "level": self.level,
            "text": self.text,
        }


def _state(value: Any) -> str | None:
    return value.get("state") if isinstance(value, dict) else None


def _detail(rec: AuditRecord) -> str:
    return str((rec.after or {}).get("detail") or "") if isinstance(rec.after, dict) else ""


def _county_names(keys: Iterable[str]) -> str:
    dep = deployment()
    names = []
    for key in keys:
        try:
            names.append(dep.county_name(key) or key)
        except (KeyError, LookupError):
            names.append(key)
    return str(_(", ")).join(names)


def alert_of(rec: AuditRecord, site_code: str) -> Alert | None:
    """The alert an audit record makes, worded in the request's language, or ``None``."""
    from command.vocabulary import vocabulary

    at = rec.at.astimezone(UTC).isoformat()
    action = rec.action

    def made(kind: str, level: str, text: str) -> Alert:
        return Alert(rec.id, at, kind, level, text)

    if action == "operation.deny":
        return made(
            "deny",
            "bad",
            _("%(site)s: clearance denied: %(reason)s", site=site_code, reason=_detail(rec) or "—"),
        )
    if action == "operation.revoke":
        return made("revoke", "bad", _("%(site)s: clearance revoked", site=site_code))
    if action == "operation.recall":
        return made(
            "cease_fire",
            "bad",
            _("%(site)s: cease-fire: %(reason)s", site=site_code, reason=_detail(rec) or "—"),
        )
    if action == "operation.report":
        return made("report", "ok", _("%(site)s: firing report filed", site=site_code))
    if action.startswith("operation."):
        if _state(rec.after) == "cleared" and _state(rec.before) != "cleared":
            return made(
                "cleared",
                "ok",
                _("%(site)s: cleared by both authorities, ready to order", site=site_code),
            )
        return None
    if action.startswith("alert."):
        kind = action.removeprefix("alert.")
        what = vocabulary()["alert"].get(kind) or _("deadline alert")
        return made(kind, "warn", _("%(site)s: %(what)s", site=site_code, what=what))
    after = rec.after if isinstance(rec.after, dict) else {}
    if action == "warning.issue":
        name = after.get("storm_name") or after.get("cell_id") or rec.object_id
        counties = _county_names(after.get("counties") or [])
        return made(
            "warning",
            "warn",
            _("hail warning issued: %(counties)s (%(cell)s)", counties=counties, cell=name),
        )
    if action in REVIEW_ACTIONS:
        # A storm's review (a cell without a track is reviewed alone), by the storm's name.
        name = after.get("storm_name") or after.get("cell_id") or rec.object_id
        reason = after.get("note") or after.get("reason") or ""
        confirmed = action.endswith(".confirmed")
        text = (
            _("forecaster %(by)s confirmed %(cell)s", by=rec.actor, cell=name)
            if confirmed
            else _("forecaster %(by)s dismissed %(cell)s", by=rec.actor, cell=name)
        )
        return made(
            "review", "warn" if confirmed else "", text + (f" · {reason}" if reason else "")
        )
    return None


def recent_alerts(session: Any, drill_id: str | None, limit: int = ALERTS_SHOWN) -> list[Alert]:
    """The newest ``limit`` alerts of one world (live, or one drill), newest first."""
    drill_filter = (
        AuditRecord.drill_id.is_(None) if drill_id is None else AuditRecord.drill_id == drill_id
    )
    out: list[Alert] = []
    before_id: int | None = None
    while len(out) < limit:
        q = select(AuditRecord).where(
            drill_filter,
            or_(
                AuditRecord.action.in_(_OPERATION_ACTIONS + _OTHER_ACTIONS),
                AuditRecord.action.like("alert.%"),
            ),
        )
        if before_id is not None:
            q = q.where(AuditRecord.id < before_id)
        rows = list(session.scalars(q.order_by(AuditRecord.id.desc()).limit(limit * 2)))
        if not rows:
            break
        before_id = rows[-1].id
        op_ids = {r.object_id for r in rows if r.object_type == "operation"}
        sites = (
            dict(
                session.execute(
                    select(OperationRecord.id, OperationRecord.site_code).where(
                        OperationRecord.id.in_(op_ids)
                    )
                ).all()
            )
            if op_ids
            else {}
        )
        for rec in rows:
            alert = alert_of(rec, sites.get(rec.object_id, rec.object_id))
            if alert is not None:
                out.append(alert)
                if len(out) == limit:
                    break
    return out


@bp.get("/alerts")
@roles_required("commander")
def list_alerts() -> Any:
    """The commander's alerts, newest first (``?drill=ID``: the drill's, in drill time)."""
    drill = requested_drill()
    session = get_session()
    alerts = recent_alerts(session, None if drill is None else drill.id)
    return jsonify(
        {"alerts": [a.to_json() for a in alerts], "drill_id": None if drill is None else drill.id}
    )
