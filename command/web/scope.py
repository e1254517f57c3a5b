"""Which world a request works in: live operations (the default) or one drill
(``?drill=<id>`` on reads, ``drill_id`` in a proposal's body).  Drill data is only ever
returned when asked for by id, so a live screen never shows it by accident."""

from __future__ import annotations

from typing import Any

from flask import request

from command.errors import NotFound, Unprocessable
from command.extensions import get_session
from command.models import DrillRecord


def requested_drill(body: dict[str, Any] | None = None) -> DrillRecord | None:
    drill_id = (body or {}).get("drill_id") or request.args.get("drill")
    if not drill_id:
        return None
    drill = get_session().get(DrillRecord, str(drill_id))
    if drill is None:
        raise NotFound(f"no drill {drill_id}")
    return drill


def drill_id_filter(column: Any, drill: DrillRecord | None) -> Any:
    return column.is_(None) if drill is None else column == drill.id


def running_drill_now(drill: DrillRecord) -> Any:
    """The drill clock, for a write into a drill (which must be running or paused)."""
    from command.drill import drill_now

    if drill.state not in ("running", "paused"):
        raise Unprocessable("the drill is not running", {"drill_id": drill.id})
    return drill_now(drill)


def world_now(drill: DrillRecord | None) -> Any:
    """Now in the world asked for: the wall clock live, the drill clock in a drill."""
    from datetime import UTC, datetime

    from command.drill import drill_now

    return datetime.now(UTC) if drill is None else drill_now(drill)
