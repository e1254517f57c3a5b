"""The demo of ``make run``: the built-in Canberra drill event, relocated over the
deployment's radar, replayed again and again through the drill mechanism (real detection,
tracking, dispatch and clearance code) with automatic players for every role nobody is
logged in as — so a newcomer sees a live command center in the first minute.

Only two real volumes exist; the drill says so and nothing is invented between them.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import select

from command.drill import OPEN_STATES, create_drill, resolve_event, supervise_drills
from command.models import DrillRecord

log = logging.getLogger(__name__)

DEMO_EVENT = "canberra_20181220"
DEMO_SPEED = 6.0  # the event's 6-minute volume interval plays in one minute
DEMO_USER = "demo"


def present_roles(app: Flask, drill_id: str) -> set[str]:
    """Roles of the users connected to the drill's rooms (they play themselves)."""
    namespace = app.extensions.get("hailops_live_namespace")
    if namespace is None:
        return set()
    prefix = f"drill:{drill_id}:"
    return {
        role
        for (_user, role, _county, rooms) in list(namespace._sessions.values())  # noqa: SLF001
        if any(r.startswith(prefix) for r in rooms)
    }


def ensure_demo_drill(app: Flask) -> str | None:
    """Request the next demo drill when no demo drill is open (requested, running or
    paused): the demo never runs two drills at once.  A demo drill left by a killed process
    is the scheduler's to resume or end (:func:`command.drill.supervise_drills`).  Returns
    the id of the drill requested, if any."""
    db = app.extensions["hailops_db"]
    with app.app_context(), db.session() as session:
        if session.scalar(
            select(DrillRecord.id)
            .where(DrillRecord.started_by == DEMO_USER, DrillRecord.state.in_(OPEN_STATES))
            .limit(1)
        ):
            return None
        event = resolve_event(session, DEMO_EVENT)
        drill = create_drill(
            session,
            event,
            speed=DEMO_SPEED,
            started_by=DEMO_USER,
            auto_approve=True,
            state="requested",
        )
        session.commit()
        drill_id = drill.id
    supervise_drills(app)
    log.info("demo drill %s requested (%s, %sx)", drill_id, DEMO_EVENT, DEMO_SPEED)
    return drill_id


def register_demo_jobs(app: Flask, scheduler: Any) -> None:
    scheduler.add_job(
        ensure_demo_drill,
        "interval",
        seconds=20,
        args=[app],
        id="demo_drill",
        next_run_time=datetime.now(UTC),
    )
