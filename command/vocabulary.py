"""One vocabulary: the labels of every state, action and code the consoles and the map show,
served once by the server (``/api/vocabulary`` and each page's boot data) from the
translation catalogue, so the map and every console say the same word for the same thing.

Each label is ``pgettext(context, english)``: the context keeps one English word apart when it
means two things (a readiness "firing" and an operation "firing" are the same word on
purpose; an observation "none" is not an action).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from babel.messages.extract import extract
from flask_babel import gettext, pgettext

from dispatch import lifecycle as lc
from dispatch.clearance import Authority
from dispatch.conflicts import ConflictKind
from dispatch.escalation import EscalationKind, EscalationStep
from dispatch.firing import Observation, ViolationKind
from dispatch.review import Reopen
from sites.model import EquipmentKind, Readiness


def _states() -> dict[str, str]:
    t = {
        "proposed": pgettext("operation state", "proposed"),
        "authorized": pgettext("operation state", "authorized"),
        "clearance_requested": pgettext("operation state", "clearance requested"),
        "cleared": pgettext("operation state", "cleared"),
        "ordered": pgettext("operation state", "ordered"),
        "acknowledged": pgettext("operation state", "acknowledged"),
        "firing": pgettext("operation state", "firing"),
        "completed": pgettext("operation state", "completed"),
        "denied": pgettext("operation state", "denied"),
        "cancelled": pgettext("operation state", "cancelled"),
        "expired": pgettext("operation state", "expired"),
        "recalled": pgettext("operation state", "recalled"),
    }
    assert set(t) == {s.value for s in lc.OperationState}
    return t


def _actions() -> dict[str, str]:
    t = {
        "propose": pgettext("operation action", "propose"),
        "authorize": pgettext("operation action", "authorize"),
        "request_clearance": pgettext("operation action", "request clearance"),
        "grant": pgettext("operation action", "grant"),
        "deny": pgettext("operation action", "deny"),
        "revoke": pgettext("operation action", "revoke"),
        "order": pgettext("operation action", "order"),
        "acknowledge": pgettext("operation action", "acknowledge"),
        "start_firing": pgettext("operation action", "start firing"),
        "report_firing": pgettext("operation action", "firing report"),
        "file_written_report": pgettext("operation action", "written report"),
        "cancel": pgettext("operation action", "cancel"),
        "recall": pgettext("operation action", "recall"),
        "expire": pgettext("operation action", "expire"),
        "amend": pgettext("operation action", "amend"),
    }
    return t


_ROCKET_MODELS = {"wr98": "WR-98", "bl1a": "BL-1A", "jfj3": "JFJ-3", "rs1": "RS-1"}


def ammunition_label(code: str) -> str:
    """``37mm_shell`` → 37mm 炮弹; ``rocket_wr98`` → WR-98 火箭弹; unknown codes keep a
    readable form (never the bare snake_case code)."""
    if code.startswith("37mm"):
        return str(pgettext("ammunition", "37 mm shells"))
    if code.startswith("57mm"):
        return str(pgettext("ammunition", "57 mm shells"))
    if code == "rocket":
        return str(pgettext("ammunition", "rockets"))
    if code.startswith("rocket_"):
        raw = code.removeprefix("rocket_")
        model = _ROCKET_MODELS.get(raw, re.sub(r"([a-z]+)(\d+)", r"\1-\2", raw).upper())
        return str(pgettext("ammunition", "%(model)s rockets", model=model))
    return code.replace("_", " ")


def equipment_label(kind: str) -> str:
    """``gun_37mm`` → 37mm 高炮; ``rocket`` → 火箭发射架 (a site's equipment without a model)."""
    labels: dict[str, str] = {
        "gun_37mm": pgettext("equipment", "37 mm gun"),
        "rocket": pgettext("equipment", "rocket launcher"),
    }
    return labels.get(kind, kind.replace("_", " "))


def vocabulary(ammunition_codes: Iterable[str] = ()) -> dict[str, dict[str, str]]:
    """Every label by kind and code, in the request's language."""
    codes = {"37mm_shell", "rocket", *ammunition_codes}
    return {
        "state": _states(),
        "action": _actions(),
        "review": {
            "new": pgettext("review", "to review"),
            "confirmed": pgettext("review", "confirmed"),
            "dismissed": pgettext("review", "dismissed"),
        },
        # One name per storm (issue 11): "{number}" is filled from the storm's number.
        "storm": {
            "name": pgettext("storm", "Storm {number}"),
            "unconfirmed": pgettext("storm", "awaiting the forecaster's confirmation"),
            Reopen.HAIL.value: pgettext("storm", "back to review: hail since it was dismissed"),
            Reopen.SEVERE.value: pgettext(
                "storm", "back to review: severe hail since it was dismissed"
            ),
        },
        "readiness": {
            Readiness.READY.value: pgettext("readiness", "ready"),
            Readiness.STANDBY.value: pgettext("readiness", "standby"),
            Readiness.OFFLINE.value: pgettext("readiness", "offline"),
            Readiness.FIRING.value: pgettext("readiness", "firing"),
            Readiness.OUT_OF_AMMUNITION.value: pgettext("readiness", "out of ammunition"),
        },
        "ammunition": {c: ammunition_label(c) for c in sorted(codes)},
        "equipment": {k.value: equipment_label(k.value) for k in EquipmentKind},
        "authority": {
            Authority.ATC.value: pgettext("authority", "airport ATC"),
            Authority.MILITARY.value: pgettext("authority", "military"),
        },
        "observation": {
            Observation.HAIL.value: pgettext("observation", "hail"),
            Observation.RAIN.value: pgettext("observation", "rain"),
            Observation.NONE.value: pgettext("observation", "nothing observed"),
        },
        "alert": {
            "clearance_pending": pgettext("alert", "airspace clearance pending too long"),
            "order_unacknowledged": pgettext("alert", "order not acknowledged by the site"),
            "window_closing": pgettext("alert", "the cleared window closes soon"),
            "written_report_overdue": pgettext("alert", "the written firing report is overdue"),
        },
        "escalation": {
            EscalationStep.BANNER.value: pgettext("escalation", "step 1: reminder"),
            EscalationStep.SECOND_CONTACT.value: pgettext("escalation", "step 2: call"),
            EscalationStep.COMMANDER_ALARM.value: pgettext("escalation", "step 3: commander alarm"),
            EscalationKind.ORDER_UNACKNOWLEDGED.value: pgettext(
                "escalation", "order not acknowledged"
            ),
            EscalationKind.CLEARANCE_PENDING.value: pgettext("escalation", "clearance pending"),
        },
        "violation": {
            ViolationKind.NOT_ORDERED.value: pgettext("violation", "no order was in force"),
            ViolationKind.CEASE_FIRE.value: pgettext("violation", "after the cease-fire"),
            ViolationKind.NO_CLEARANCE.value: pgettext(
                "violation", "no clearance granted by both ATC and the military"
            ),
            ViolationKind.REVOKED.value: pgettext("violation", "after the clearance was revoked"),
            ViolationKind.BEFORE_WINDOW.value: pgettext("violation", "before the cleared window"),
            ViolationKind.AFTER_WINDOW.value: pgettext("violation", "after the cleared window"),
            ViolationKind.OUTSIDE_SECTOR.value: pgettext(
                "violation", "azimuth outside the cleared sectors"
            ),
            ViolationKind.ABOVE_CEILING.value: pgettext(
                "violation", "rounds above the cleared ceiling"
            ),
        },
        "conflict": {
            ConflictKind.CEILING.value: pgettext(
                "conflict", "rounds reach above the cleared ceiling"
            ),
            ConflictKind.SECTOR.value: pgettext("conflict", "aim outside the cleared sectors"),
            ConflictKind.WINDOW_CLOSED.value: pgettext("conflict", "the cleared window has ended"),
            ConflictKind.WINDOW_EMPTY.value: pgettext(
                "conflict", "the granted windows do not overlap"
            ),
            ConflictKind.SECTORS_EMPTY.value: pgettext(
                "conflict", "the granted sectors do not overlap"
            ),
        },
    }


# --- the browser's sentences ------------------------------------------------------------------
@lru_cache(maxsize=64)
def _js_msgids(path: str, mtime_ns: int) -> tuple[str, ...]:
    """The ``_("…")`` sentences of one static script, as Babel extracts them (the same
    extraction ``pybabel extract`` runs over ``static/js``, see ``babel.cfg``)."""
    with open(path, "rb") as f:
        found = extract("javascript", f, keywords={"_": None})
        return tuple(dict.fromkeys(m for _line, m, _comments, _ctx in found if isinstance(m, str)))


def js_msgids(static_dir: Path, *scripts: str) -> tuple[str, ...]:
    """Every sentence the named scripts (under ``static_dir/js``) say through ``_()``."""
    out: dict[str, None] = {}
    for name in scripts:
        path = static_dir / "js" / name
        out.update(dict.fromkeys(_js_msgids(str(path), path.stat().st_mtime_ns)))
    return tuple(out)


def browser_messages(static_dir: Path, *scripts: str) -> dict[str, str]:
    """The scripts' sentences in the request's language, from the translation catalogue:
    the browser words every label, error and alert with these (``_()`` in the scripts), never
    with text of its own in two languages."""
    return {m: gettext(m) for m in js_msgids(static_dir, *scripts)}
