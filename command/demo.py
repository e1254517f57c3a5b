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

from command.drill import create_drill, resolve_event, set_state, start_in_background
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
    return {role for (_user, role, _county, rooms) in list(namespace._sessions.values())  # noqa: SLF001
            if any(r.startswith(prefix) for r in rooms)}


def ensure_demo_drill(app: Flask) -> str | None:
    """Start the next demo drill when none is running; returns its id if one was started."""
    db = app.extensions["hailops_db"]
    with app.app_context(), db.session() as session:
        owned: set[str] = app.extensions.setdefault("hailops_demo_drills", set())
        for running in session.scalars(select(DrillRecord).where(
                DrillRecord.started_by == DEMO_USER, DrillRecord.state.in_(["running", "paused"]))):
            if running.id in owned:
                return None
            # Left running by a process that is gone (e.g. a killed `make run`): end it.
            set_state(session, running, "stopped", actor="system")
        session.commit()
        event = resolve_event(session, DEMO_EVENT)
        drill = create_drill(session, event, speed=DEMO_SPEED, started_by=DEMO_USER,
                             auto_approve=True)
        session.commit()
        drill_id = drill.id
    app.extensions["hailops_demo_drills"].add(drill_id)
    start_in_background(app, drill_id, present_roles=lambda: present_roles(app, drill_id))
    log.info("demo drill %s started (%s, %sx)", drill_id, DEMO_EVENT, DEMO_SPEED)
    return drill_id


def register_demo_jobs(app: Flask, scheduler: Any) -> None:
    scheduler.add_job(ensure_demo_drill, "interval", seconds=20, args=[app], id="demo_drill",
                      next_run_time=datetime.now(UTC))
