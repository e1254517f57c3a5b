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
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
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
            got = self._conn.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY}
            ).scalar()
            self._conn.commit()  # a session-level lock outlives the transaction
            if not got:
                self.release()
                raise SchedulerAlreadyRunning(
                    "another hailops scheduler is running against this database "
                    "(PostgreSQL advisory lock held); refusing to start a second one"
                )
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
                "refusing to start a second one"
            ) from None
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


class FeedWorker:
    """The radar feed, run in one thread of the scheduler process.

    A pass (:func:`command.ingest.poll_incoming`) runs as soon as something asks for one — a
    file renamed into the incoming directory (seen by the filesystem watcher), the fallback
    poll every ``radar_poll_seconds`` — or when a file still settling will be complete.  A
    request made while a pass runs is never lost: another pass follows at once.  (The feed
    used to be an APScheduler job brought forward by the watcher; brought forward while it
    was running, the run was skipped and the new volume waited for the next poll.)"""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._cond = threading.Condition()
        self._due: float | None = None  # time.monotonic() of the next pass
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="radar-feed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self, delay_s: float = 0.0) -> None:
        """Ask for a pass in ``delay_s`` seconds (or sooner, if one is due sooner)."""
        at = time.monotonic() + max(delay_s, 0.0)
        with self._cond:
            if self._due is None or at < self._due:
                self._due = at
                self._cond.notify()

    def stop(self, timeout_s: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def _next_due(self) -> bool:
        """Wait until a pass is due (True) or the worker stops (False)."""
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                if self._due is not None and self._due <= now:
                    self._due = None
                    return True
                self._cond.wait(None if self._due is None else self._due - now)
            return False

    def _run(self) -> None:
        from command.ingest import next_settled_at, poll_incoming, warm_up_feed

        settings = self.app.config["HAILOPS"]
        if settings.radar_warm_up:
            try:
                warm_up_feed(self.app)
            except Exception:  # noqa: BLE001 - only a speed-up; the feed works without it
                log.exception("radar feed warm-up failed")
        while self._next_due():
            try:
                poll_incoming(self.app)
            except Exception:  # noqa: BLE001 - the feed must outlive any one pass
                log.exception("radar feed pass failed")
            when = next_settled_at(settings.incoming, settings.radar_settle_s)
            if when is not None:
                self.wake((when - datetime.now(UTC)).total_seconds())


def watch_incoming(app: Flask, feed: FeedWorker) -> Any:
    """Filesystem events (watchdog: inotify on Linux) on the incoming directory start a feed
    pass: at once for a file renamed from a temporary name (complete by convention), else as
    soon as the new file has settled — instead of at the next ``radar_poll_seconds`` poll
    (which stays as the fallback, e.g. for network filesystems without events)."""
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer

    from command.ingest import RenamedFiles, is_temporary_name

    settings = app.config["HAILOPS"]
    renamed = app.extensions["hailops_feed_renamed"] = RenamedFiles()

    class Trigger(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            if event.is_directory or event.event_type in ("deleted", "opened", "closed_no_write"):
                return
            if event.event_type == "moved":
                src, dest = Path(os.fsdecode(event.src_path)), Path(os.fsdecode(event.dest_path))
                if (
                    is_temporary_name(src.name)
                    and not is_temporary_name(dest.name)
                    and dest.parent == settings.incoming
                    and renamed.add(dest)
                ):
                    feed.wake()
                    return
            feed.wake(settings.radar_settle_s + 0.05)

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
    scheduler = BackgroundScheduler(
        timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1}
    )
    scheduler.add_job(
        heartbeat,
        "interval",
        seconds=15,
        args=[app, scheduler],
        id="heartbeat",
        next_run_time=datetime.now(UTC),
    )
    from command.watch import watch_job

    settings = app.config["HAILOPS"]
    feed = app.extensions["hailops_feed"] = FeedWorker(app)
    feed.start()  # warms the reader first (see command.ingest.warm_up_feed)
    scheduler.add_job(
        feed.wake,
        "interval",
        seconds=settings.radar_poll_seconds,
        id="radar_feed",
        next_run_time=datetime.now(UTC),
        misfire_grace_time=None,
    )
    watch_incoming(app, feed)
    scheduler.add_job(
        watch_job,
        "interval",
        seconds=app.config["HAILOPS"].watch_interval_s,
        args=[app],
        id="deadlines",
    )
    from command.retention import retention_job

    scheduler.add_job(
        retention_job,
        "interval",
        hours=6,
        args=[app],
        id="retention",
        next_run_time=datetime.now(UTC) + timedelta(minutes=5),
    )
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
    feed = app.extensions.pop("hailops_feed", None)
    if feed is not None:
        feed.stop()
    RUNNER.close()
    lock = app.extensions.pop("hailops_scheduler_lock", None)
    if lock is not None:
        lock.release()
