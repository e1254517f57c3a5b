"""APScheduler wiring.  Started once per deployment by ``hailops run`` (or a dedicated
scheduler process), never inside every web worker.  Jobs own their session."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from command.models import ServiceStatus

log = logging.getLogger(__name__)


def heartbeat(app: Flask, scheduler: BackgroundScheduler) -> None:
    from command.extensions import get_db

    with app.app_context(), get_db().session() as session:
        row = session.get(ServiceStatus, "scheduler") or ServiceStatus(name="scheduler")
        row.updated_at = datetime.now(UTC)
        row.info = {"jobs": sorted(j.id for j in scheduler.get_jobs())}
        session.merge(row)
        session.commit()


def start_scheduler(app: Flask, demo: bool = False) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True,
                                                                    "max_instances": 1})
    scheduler.add_job(heartbeat, "interval", seconds=15, args=[app, scheduler], id="heartbeat",
                      next_run_time=datetime.now(UTC))
    from command.ingest import poll_incoming
    from command.watch import watch_job

    settings = app.config["HAILOPS"]
    scheduler.add_job(poll_incoming, "interval", seconds=settings.radar_poll_seconds, args=[app],
                      id="radar_feed", next_run_time=datetime.now(UTC))
    scheduler.add_job(watch_job, "interval", seconds=app.config["HAILOPS"].watch_interval_s,
                      args=[app], id="deadlines")
    from command.office.bulletins import bulletin_job
    from command.office.outbox import outbox_job

    scheduler.add_job(outbox_job, "interval", seconds=60, args=[app], id="office_outbox")
    scheduler.add_job(bulletin_job, "interval", minutes=5, args=[app], id="office_bulletins")
    from command.drill import register_schedule

    register_schedule(app, scheduler)
    if demo:
        from command.demo import register_demo_jobs

        register_demo_jobs(app, scheduler)
    scheduler.start()
    log.info("scheduler started with jobs %s", [j.id for j in scheduler.get_jobs()])
    return scheduler
