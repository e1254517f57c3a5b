"""Issue 12: a radar feed that loses nothing — incomplete files wait, database outages leave
the file for retry, quarantined files dropped again are retried, late scans are kept
explicitly, quarantine reasons name the real cause, and reader processes die with the feed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from command import ingest
from command.ingest import complete_files, poll_incoming
from command.models import LiveEvent, RadarVolume
from radar.detect import detect_volume
from radar.errors import RadarError
from radar.levels import levels_from_values
from tests.unit.radar.radar_paths import canberra_volumes

pytestmark = pytest.mark.slow
CANBERRA = canberra_volumes()
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def feed(app):
    incoming = app.config["HAILOPS"].incoming
    incoming.mkdir(parents=True, exist_ok=True)
    return incoming


def _statuses(db_session) -> list[str]:
    db_session.expire_all()
    return list(db_session.scalars(select(RadarVolume.status).order_by(RadarVolume.id)))


def test_a_file_still_being_written_waits_until_complete(tmp_path: Path) -> None:
    """A volume still being copied used to be read, quarantined and lost."""
    data = CANBERRA[0].read_bytes()
    copying = tmp_path / "40_20181220_060630.pvol.h5"
    copying.write_bytes(data[: len(data) // 2])
    now = time.time()
    assert complete_files(tmp_path, settle_s=1.0, now=now) == []  # just written: not yet
    (tmp_path / "next.pvol.h5.part").write_bytes(data)  # a temporary name is never read
    (tmp_path / ".hidden.h5").write_bytes(data)
    os.utime(tmp_path / "next.pvol.h5.part", (now - 60, now - 60))
    copying.write_bytes(data)
    os.utime(copying, (now - 5, now - 5))  # the copy finished 5 s ago
    assert complete_files(tmp_path, settle_s=1.0, now=now) == [copying]


def test_the_feed_job_skips_files_written_within_the_settle_time(app, feed, db_session) -> None:
    app.config["HAILOPS"] = app.config["HAILOPS"].model_copy(update={"radar_settle_s": 30.0})
    (feed / "half.h5").write_bytes(CANBERRA[0].read_bytes()[:100_000])
    assert poll_incoming(app) == []
    assert (feed / "half.h5").exists() and _statuses(db_session) == []


def test_a_database_outage_leaves_the_file_for_retry(app, feed, db_session, monkeypatch) -> None:
    shutil.copy(CANBERRA[0], feed / CANBERRA[0].name)
    real = ingest.record_volume

    def outage(*args, **kwargs):
        raise OperationalError("INSERT INTO radar_volumes", {}, ConnectionError("server closed"))

    monkeypatch.setattr(ingest, "record_volume", outage)
    assert poll_incoming(app) == []
    assert (feed / CANBERRA[0].name).exists(), "the file stays for the next poll"
    assert _statuses(db_session) == [] and not list(app.config["HAILOPS"].quarantine.glob("*"))
    monkeypatch.setattr(ingest, "record_volume", real)
    assert [o.status for o in poll_incoming(app)] == ["processed"]


def test_a_quarantined_file_dropped_again_is_tried_again(app, feed, db_session) -> None:
    settings = app.config["HAILOPS"]
    app.config["HAILOPS"] = settings.model_copy(update={"radar_timeout_s": 0.01})
    shutil.copy(CANBERRA[0], feed / CANBERRA[0].name)
    assert [o.status for o in poll_incoming(app)] == ["quarantined"]  # timed out
    app.config["HAILOPS"] = settings
    shutil.copy(CANBERRA[0], feed / CANBERRA[0].name)  # the operator drops it in again
    assert [o.status for o in poll_incoming(app)] == ["processed"]
    assert _statuses(db_session) == ["quarantined", "processed"]
    assert not list((settings.instance_path / "processed").glob("dup_*"))


def test_a_late_scan_is_kept_explicitly_not_quarantined(app, feed, db_session) -> None:
    shutil.copy(CANBERRA[1], feed / CANBERRA[1].name)
    assert [o.status for o in poll_incoming(app)] == ["processed"]
    shutil.copy(CANBERRA[0], feed / CANBERRA[0].name)  # 06:06 after 06:12
    outcome = poll_incoming(app)
    assert [o.status for o in outcome] == ["late"], outcome
    assert "late scan" in outcome[0].message
    assert _statuses(db_session) == ["processed", "late"]
    assert "feed.late" in db_session.scalars(select(LiveEvent.event)).all()
    # The live picture is still the 06:12 volume.
    assert (
        db_session.scalar(select(RadarVolume.filename).where(RadarVolume.status == "processed"))
        == CANBERRA[1].name
    )


def test_quarantine_reason_is_the_readers_real_cause(app, feed, db_session, tmp_path) -> None:
    """Every reason used to read "the reading process died" (isolated reader)."""
    assert app.config["HAILOPS"].radar_isolate
    damaged = tmp_path / "cut.pvol.h5"
    damaged.write_bytes(CANBERRA[0].read_bytes()[:500_000])
    with pytest.raises(RadarError) as direct:  # what `hailops radar detect` reports
        detect_volume(damaged, levels_from_values(4300.0, 7600.0, source="test"))
    shutil.copy(damaged, feed / damaged.name)
    outcome = poll_incoming(app)
    assert [o.status for o in outcome] == ["quarantined"]
    reason = db_session.scalar(select(RadarVolume.error))
    assert "process died" not in reason
    assert reason.split(": ", 1)[1] == str(direct.value).split(": ", 1)[1]


CHILD = """
import os, sys, time
from command.isolation import RUNNER
RUNNER.call(60, os.getpid)
print(RUNNER.pids()[0], flush=True)
time.sleep(120)
"""


def test_reader_processes_end_with_the_scheduler() -> None:
    """Each scheduler kill used to leave reader processes behind."""
    parent = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        child = int(parent.stdout.readline())
        assert Path(f"/proc/{child}").exists()
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
            with (
                open(f"/proc/{child}/stat")
                if Path(f"/proc/{child}").exists()
                else open(os.devnull) as f
            ):
                if " Z " in f.read():  # a zombie is dead
                    break
        stat = Path(f"/proc/{child}/stat")
        assert not stat.exists() or " Z " in stat.read_text(), "reader outlived its parent"
    finally:
        parent.kill()


# --- file -> client latency (issue 12): the feed as the scheduler runs it -------------------
def _loaded(module: str) -> bool:
    """In the reading process: whether ``module`` is imported there."""
    return module in sys.modules


def _wait_for(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.fixture
def running_feed(app, feed, request):
    """The deployment's scheduler (feed worker, filesystem watcher, jobs), polling rarely: a
    volume picked up within the test's wait was brought in by the watcher.  The settle time
    is 600 s unless the test gives another (``indirect`` parameter)."""
    from command.isolation import RUNNER
    from command.scheduler import start_scheduler, stop_scheduler

    RUNNER.close()  # a fresh reading process, as after a start
    settle_s = getattr(request, "param", 600.0)
    app.config["HAILOPS"] = app.config["HAILOPS"].model_copy(
        update={"radar_poll_seconds": 3600, "radar_settle_s": settle_s}
    )
    scheduler = start_scheduler(app)
    try:
        yield app
    finally:
        stop_scheduler(app, scheduler)


def test_the_reader_is_warm_before_the_first_volume(running_feed) -> None:
    """The first volume after a start used to spawn the reading process and import Py-ART
    there (~3 s of the 8 s measured); the scheduler now does that when it starts."""
    from command.isolation import RUNNER

    assert _wait_for(lambda: bool(RUNNER.pids()), 30), "no reading process after the start"
    assert RUNNER.call(120, _loaded, "pyart"), "Py-ART not imported by the warm-up"


def test_a_volume_renamed_into_place_skips_the_settle_time(running_feed, db_session) -> None:
    """Written under a temporary name and renamed (the documented convention), a volume is
    complete at the rename: it used to wait the settle time like a file being copied."""
    incoming = running_feed.config["HAILOPS"].incoming
    part = incoming / (CANBERRA[0].name + ".part")
    shutil.copyfile(CANBERRA[0], part)
    part.rename(incoming / CANBERRA[0].name)
    assert _wait_for(lambda: _statuses(db_session) == ["processed"], 120), (
        "a renamed volume waited for the 600 s settle time"
    )
    # A file copied in place (no rename) still waits for the settle time.
    shutil.copyfile(CANBERRA[1], incoming / CANBERRA[1].name)
    time.sleep(3.0)
    assert _statuses(db_session) == ["processed"]
    assert (incoming / CANBERRA[1].name).exists()


@pytest.mark.parametrize("running_feed", [0.2], indirect=True)
def test_a_volume_arriving_during_a_pass_is_not_left_for_the_next_poll(
    running_feed, db_session, monkeypatch
) -> None:
    """A volume arriving while the feed processed another used to bring the feed job forward
    while it was running: APScheduler skipped that run and the volume waited for the next
    poll (30 s by default; an hour here)."""
    incoming = running_feed.config["HAILOPS"].incoming
    in_first_pass, release = threading.Event(), threading.Event()
    real = ingest.process_file

    def slow_first(session, path, *args, **kwargs):
        if path.name == CANBERRA[0].name:
            in_first_pass.set()
            release.wait(60)
        return real(session, path, *args, **kwargs)

    monkeypatch.setattr(ingest, "process_file", slow_first)
    for i, volume in enumerate(CANBERRA):
        part = incoming / (volume.name + ".part")
        shutil.copyfile(volume, part)
        part.rename(incoming / volume.name)
        if i == 0:
            assert in_first_pass.wait(60), "the first volume was not picked up"
    time.sleep(1.0)  # the watcher has seen the second rename while the first pass runs
    release.set()
    assert _wait_for(lambda: _statuses(db_session) == ["processed", "processed"], 120), (
        "the volume that arrived during a pass waited for the next poll"
    )
