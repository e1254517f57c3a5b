"""APScheduler wiring.  Started once per deployment by ``hailops run`` (or a dedicated
scheduler process), never inside every web worker.  Jobs own their session.

Exactly one scheduler runs per deployment: starting takes a lock that lives as long as the
process — a PostgreSQL session advisory lock on a dedicated connection, or an exclusive
``flock`` on ``<instance>/scheduler.lock`` with SQLite — and a second scheduler refuses to
start.  The lock is released by the operating system / database when the process dies."""

from __future__ import annotations

import contextlib
import fcntl
import logging
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from command.models import ServiceStatus

log = logging.getLogger(__name__)

ADVISORY_LOCK_KEY = 0x6861696C6F7073  # "hailops"


class SchedulerAlreadyRunning(RuntimeError):
    """Another scheduler holds the deployment's lock."""


class SchedulerLock:
    """The one-scheduler-per-deployment lock (see the module docstring)."""

    def __init__(self, app: Flask) -> None:
        self.settings = app.config["HAILOPS"]
        self._conn: Any = None
        self._engine: Any = None
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        url = self.settings.sqlalchemy_url
        if url.startswith("postgresql"):
            self._engine = create_engine(url, poolclass=NullPool)
            self._conn = self._engine.connect()
            got = self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                     {"k": ADVISORY_LOCK_KEY}).scalar()
            self._conn.commit()  # a session-level lock outlives the transaction
            if not got:
                self.release()
                raise SchedulerAlreadyRunning(
                    "another hailops scheduler is running against this database "
                    "(PostgreSQL advisory lock held); refusing to start a second one")
            return
        path = self.settings.instance_path / "scheduler.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise SchedulerAlreadyRunning(
                f"another hailops scheduler is running ({path} is locked); "
                "refusing to start a second one") from None
        self._file = handle

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
                self._conn.commit()
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def heartbeat(app: Flask, scheduler: BackgroundScheduler) -> None:
    from command.extensions import get_db

    with app.app_context(), get_db().session() as session:
        row = session.get(ServiceStatus, "scheduler") or ServiceStatus(name="scheduler")
        row.updated_at = datetime.now(UTC)
        row.info = {"jobs": sorted(j.id for j in scheduler.get_jobs())}
        session.merge(row)
        session.commit()


def feed_job(app: Flask, scheduler: BackgroundScheduler) -> None:
    """The radar-feed job: process complete files, then come back as soon as a file that is
    still settling will be complete (not only at the next poll interval)."""
    from command.ingest import next_settled_at, poll_incoming

    poll_incoming(app)
    settings = app.config["HAILOPS"]
    when = next_settled_at(settings.incoming, settings.radar_settle_s)
    if when is not None:
        _run_feed_at(scheduler, when)


def _run_feed_at(scheduler: BackgroundScheduler, when: datetime) -> None:
    job = scheduler.get_job("radar_feed")
    if job is not None and (job.next_run_time is None or when < job.next_run_time):
        job.modify(next_run_time=when)


def watch_incoming(app: Flask, scheduler: BackgroundScheduler) -> Any:
    """Filesystem events (watchdog: inotify on Linux) on the incoming directory bring the feed
    job forward to the moment the new file has settled: a volume is picked up within about
    ``radar_settle_s`` of its last write instead of at the next ``radar_poll_seconds`` poll
    (which stays as the fallback, e.g. for network filesystems without events)."""
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer

    settings = app.config["HAILOPS"]
    settle = timedelta(seconds=settings.radar_settle_s)

    class Trigger(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            if event.is_directory or event.event_type in ("deleted", "opened", "closed_no_write"):
                return
            _run_feed_at(scheduler, datetime.now(UTC) + settle + timedelta(milliseconds=50))

    settings.incoming.mkdir(parents=True, exist_ok=True)
    observer = Observer()
    observer.daemon = True
    observer.schedule(Trigger(), str(settings.incoming), recursive=False)
    observer.start()
    app.extensions["hailops_feed_observer"] = observer
    return observer


def start_scheduler(app: Flask, demo: bool = False) -> BackgroundScheduler:
    """Start the deployment's scheduler; raises :class:`SchedulerAlreadyRunning` if another
    one holds the lock.  Stop it with :func:`stop_scheduler`."""
    lock = SchedulerLock(app)
    lock.acquire()
    app.extensions["hailops_scheduler_lock"] = lock
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True,
                                                                    "max_instances": 1})
    scheduler.add_job(heartbeat, "interval", seconds=15, args=[app, scheduler], id="heartbeat",
                      next_run_time=datetime.now(UTC))
    from command.watch import watch_job

    settings = app.config["HAILOPS"]
    scheduler.add_job(feed_job, "interval", seconds=settings.radar_poll_seconds,
                      args=[app, scheduler], id="radar_feed", next_run_time=datetime.now(UTC),
                      misfire_grace_time=None)
    watch_incoming(app, scheduler)
    scheduler.add_job(watch_job, "interval", seconds=app.config["HAILOPS"].watch_interval_s,
                      args=[app], id="deadlines")
    from command.retention import retention_job

    scheduler.add_job(retention_job, "interval", hours=6, args=[app], id="retention",
                      next_run_time=datetime.now(UTC) + timedelta(minutes=5))
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


def stop_scheduler(app: Flask, scheduler: BackgroundScheduler | None) -> None:
    """Stop the jobs, the isolated reader process and release the one-scheduler lock."""
    from command.isolation import RUNNER

    observer = app.extensions.pop("hailops_feed_observer", None)
    if observer is not None:
        observer.stop()
    if scheduler is not None and scheduler.running:
        scheduler.shutdown(wait=False)
    RUNNER.close()
    lock = app.extensions.pop("hailops_scheduler_lock", None)
    if lock is not None:
        lock.release()
