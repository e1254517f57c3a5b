"""The demo feed of ``make run``: the built-in Canberra event, relocated over the
deployment's radar and re-timed to now, replayed in a loop through the real detection,
tracking and nowcasting code so a newcomer sees a live command center at once.

Only two real volumes exist; the loop says so (the volumes carry ``replay`` metadata) and
never invents data between them.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask

from command.deployment import deployment
from command.ingest import current_levels, record_volume, reset_tracker, sha256_of
from radar.config import DetectionConfig
from radar.detect import detect_volume, scan_time_of
from radar.io import REFLECTIVITY_CANDIDATES, read_volume
from radar.replay import Relocation, relocate, retime

log = logging.getLogger(__name__)

EVENT_DIR = Path(__file__).resolve().parent.parent / "radar" / "data" / "events" / "canberra_20181220"
DEMO_SPEED = 6.0  # the event's 6-minute volume interval plays in one minute


class DemoFeed:
    def __init__(self, app: Flask, event_dir: Path = EVENT_DIR) -> None:
        self.app = app
        self.files = sorted(event_dir.glob("*.h5"))
        self.step = 0
        self.loop_epoch = datetime.now(UTC).replace(microsecond=0)
        self.first_scan: datetime | None = None

    def tick(self) -> None:
        from command.extensions import get_db

        if not self.files:
            log.warning("demo event has no volumes in %s", EVENT_DIR)
            return
        index = self.step % len(self.files)
        loop = self.step // len(self.files)
        self.step += 1
        path = self.files[index]
        settings = self.app.config["HAILOPS"]
        with self.app.app_context():
            radar_site = deployment().radar
            started = time.perf_counter()
            radar = read_volume(path, fields=REFLECTIVITY_CANDIDATES)
            original = scan_time_of(radar)
            if index == 0:
                # Each loop starts on the wall clock; volumes keep the event's own spacing
                # (the drill clock), so tracking sees the storm's true motion.
                self.loop_epoch = datetime.now(UTC).replace(microsecond=0)
                self.first_scan = original
            offset = original - (self.first_scan or original)
            relocate(radar, Relocation(radar_site.lat, radar_site.lon, radar_site.alt_m))
            retime(radar, self.loop_epoch + offset)
            result = detect_volume(radar, current_levels(settings), DetectionConfig())
            elapsed = (time.perf_counter() - started) * 1000.0
            with get_db().session() as session:
                if index == 0:
                    reset_tracker(session, None)  # a new loop is a new storm: no fake link
                record_volume(session, result, filename=f"DEMO replay {loop + 1}: {path.name}",
                              sha256=f"{sha256_of(path)[:48]}{self.step:016d}",
                              products_dir=settings.products, processing_ms=elapsed)
                session.commit()
        log.info("demo replay volume %s (%d cells)", path.name, len(result.cells))


def register_demo_jobs(app: Flask, scheduler: Any, speed: float = DEMO_SPEED) -> None:
    """One volume per (event interval / speed); the Canberra volumes are 6 minutes apart."""
    feed = DemoFeed(app)
    scheduler.add_job(feed.tick, "interval", seconds=max(5.0, 360.0 / speed), id="demo_replay",
                      next_run_time=datetime.now(UTC))
