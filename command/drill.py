"""Drills: an archived event replayed through the real ingestion, tracking, dispatch and
clearance code on a drill clock, isolated from live operations, with scripted injects and
(optionally) automatic players for the absent roles.

Everything a drill creates carries its drill id (volumes, cells, operations, ledger lines,
audit records) and is announced only to the drill's rooms (``drill:<id>:...``).  The drill
clock is the event's own clock: ``now = anchor_event + (wall_now - anchor_wall) * speed``.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from command import audit, operations
from command.codec import decode
from command.deployment import deployment
from command.ingest import current_levels, record_volume, sha256_of
from command.models import CellRecord, DrillEvent, DrillRecord, OperationRecord, RadarVolume
from command.push import ROOM_ALL, announce, scoped
from dispatch import lifecycle as lc
from dispatch.errors import DispatchError
from radar.config import DetectionConfig
from radar.detect import detect_volume, radar_site, scan_time_of
from radar.errors import RadarError
from radar.io import REFLECTIVITY_CANDIDATES, read_volume, sniff_format
from radar.levels import levels_from_sounding
from radar.replay import Relocation, relocate

log = logging.getLogger(__name__)

EVENTS_DIR = Path(__file__).resolve().parent.parent / "radar" / "data" / "events"
#: The event library: every directory under radar/data/events (volumes + event.json).
BUILTIN_EVENTS = (
    {d.name: d for d in sorted(EVENTS_DIR.iterdir()) if d.is_dir()} if EVENTS_DIR.is_dir() else {}
)
HEARTBEAT_S = 2.0  # a runner's heartbeat period (wall seconds)
STALE_S = 30.0  # no heartbeat for this long: the runner is gone (killed, crashed)
RESUME_WITHIN_S = 30 * 60.0  # a runner gone longer than this: the drill is ended, not resumed
MAX_RESUMES = 3  # a drill whose runner keeps dying is ended rather than resumed forever
REALISTIC_MIN_VOLUMES = 6  # about 30 minutes of a storm at one volume per 5-6 minutes
INJECT_KINDS = (
    "deny",
    "revoke",
    "site_offline",
    "out_of_ammunition",
    "missing_volume",
    "false_hail_report",
)

#: What drills say to people.  Stored and sent in English (event notes, end reasons and
#: errors keep their JSON and CLI contracts), each made from one of these templates, so a
#: screen words it in the user's language from the translation catalogue by its key
#: (``recognise``; ``command.web.drills``).
TEXTS = {
    "note_skipped": "skipped {file}: {error}",
    "note_radar_differs": "the manifest's radar location differs from the files'; the files' "
    "is used",
    "note_few_volumes": "only {count} volume(s): a realistic drill needs about {needed} "
    "(30 minutes of a storm); nothing is invented between them",
    "note_no_reports": "no ground-truth hail reports: the drill cannot be scored against them",
    "preflight_no_sites": "the deployment has no operation sites (import a site registry, "
    "e.g. `hailops sites import`, or seed the sample one)",
    "preflight_no_players": "automatic players are off and nobody can play {roles} (create "
    "those accounts or turn the automatic players on)",
    "cannot_start": "the drill cannot start: {problems}",
    "speed": "speed must be between 1 and 600 (60 for a fast human drill)",
    "script_not_json": "drill script is not JSON: {error}",
    "script_not_list": "drill script must be a JSON list",
    "inject_kind": "inject {i}: kind must be one of {kinds}",
    "inject_at": "inject {i}: at_s (seconds after the first volume, ≥ 0) required",
    "inject_params": "inject {i}: params must be a JSON object",
    "inject_authority": "inject {i} ({kind}): params.authority must be atc or military",
    "inject_site": "inject {i} ({kind}): params.site_code (a site code) required",
    "inject_index": "inject {i} (missing_volume): params.index (volume number from 0) required",
    "no_event": "no drill event {name} (known: {known}; or give a directory)",
    "transition": "drill {drill} is {state}; cannot become {target}",
    "end_completed": "completed",
    "end_played": "the event's last volume and its {minutes} minute tail were played",
    "end_stopped_by": "stopped by {actor}",
    "end_runner_lost": "runner {runner} lost for {minutes} min",
    "end_lost_times": "runner lost {times} times; not resumed again",
    "end_event_gone": "event {event} unavailable",
}


def say(key: str, **params: Any) -> str:
    """The English text of ``TEXTS[key]`` with its parameters."""
    return TEXTS[key].format(**params)


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    return re.compile(
        "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts)), re.S
    )


_PATTERNS = {key: _pattern(t) for key, t in TEXTS.items()}


def recognise(text: str) -> tuple[str, dict[str, str]] | None:
    """The key and parameters a drill text was made from (None: not one of ``TEXTS``)."""
    for key, pattern in _PATTERNS.items():
        m = pattern.fullmatch(text)
        if m:
            return key, m.groupdict()
    return None


class DrillError(RuntimeError):
    pass


# --- events ---------------------------------------------------------------------------------
MANIFEST = "event.json"


def _manifest(directory: Path) -> dict[str, Any]:
    """An event's manifest (``event.json``, optional): the radar's location when the files
    lack it, the sounding, the volumes (so a trusted event imports without reading them)
    and the ground-truth hail reports.  Errors name the file and the field."""
    path = directory / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DrillError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DrillError(f"{path}: a JSON object expected")
    radar = data.get("radar")
    if radar is not None:
        try:
            lat, lon = float(radar["lat"]), float(radar["lon"])
            alt = float(radar.get("alt_m") or 0.0)
        except (TypeError, KeyError, ValueError):
            raise DrillError(f"{path}: radar needs numeric lat, lon (and alt_m)") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise DrillError(f"{path}: radar lat/lon out of range")
        data["radar"] = {
            "lat": lat,
            "lon": lon,
            "alt_m": alt,
            "name": str(radar.get("name", "")),
            "source": str(radar.get("source", "")),
        }
    reports = data.get("reports")
    if reports is not None:
        if not isinstance(reports, list):
            raise DrillError(f"{path}: reports must be a list (or null when there are none)")
        clean = []
        for i, rep in enumerate(reports, 1):
            try:
                t = datetime.fromisoformat(str(rep["time"]).replace("Z", "+00:00"))
                if t.tzinfo is None:
                    raise ValueError("time without a UTC offset")
                size = rep.get("size_mm")
                clean.append(
                    {
                        "id": str(rep.get("id") or f"R{i}"),
                        "time": t.astimezone(UTC).isoformat(),
                        "lat": float(rep["lat"]),
                        "lon": float(rep["lon"]),
                        "size_mm": None if size is None else float(size),
                        "place": str(rep.get("place", "")),
                        "source": str(rep.get("source", "")),
                    }
                )
            except (TypeError, KeyError, ValueError) as exc:
                raise DrillError(
                    f"{path}: report {i} needs time (ISO with offset), lat, lon "
                    f"[, size_mm, place]: {exc}"
                ) from None
        data["reports"] = clean
    return data


def import_event(session: Session, directory: Path, name: str, builtin: bool = False) -> DrillEvent:
    """Register a directory of radar volumes as a drill event.  A manifest (``event.json``)
    may give the radar location (used when the files carry none), the sounding, the volumes
    with their scan times, and ground-truth hail reports; without one every file is read."""
    directory = directory.resolve()
    if not directory.is_dir():
        raise DrillError(f"{directory}: not a directory")
    manifest = _manifest(directory)
    volumes: list[dict[str, Any]] = []
    notes: list[str] = []
    radar_info: dict[str, Any] | None = None
    sounding: str | None = None
    listed = manifest.get("volumes")
    if (
        isinstance(listed, list)
        and listed
        and all(
            isinstance(v, dict) and (directory / str(v.get("file", ""))).is_file() for v in listed
        )
    ):
        for v in listed:
            try:
                t = datetime.fromisoformat(str(v["scan_time"]))
            except (KeyError, ValueError):
                raise DrillError(
                    f"{directory / MANIFEST}: volume {v.get('file')}: scan_time "
                    "(ISO 8601 with offset) required"
                ) from None
            volumes.append(
                {
                    "file": str(v["file"]),
                    "scan_time": t.isoformat(),
                    "format": str(v.get("format") or sniff_format(directory / v["file"])),
                }
            )
    for path in sorted(directory.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        if "sounding" in path.name or "radiosonde" in path.name or path.suffix.lower() == ".csv":
            sounding = sounding or str(path)
            continue
        if path.suffix.lower() in (".md", ".json", ".txt"):
            continue
        if listed and volumes:
            continue
        try:
            fmt = sniff_format(path)
            radar = read_volume(path, fields=REFLECTIVITY_CANDIDATES)
        except RadarError as exc:
            notes.append(say("note_skipped", file=path.name, error=exc))
            continue
        site = radar_site(radar)
        radar_info = radar_info or {
            "lat": site.lat,
            "lon": site.lon,
            "alt_m": site.alt_m,
            "name": site.name,
        }
        volumes.append(
            {"file": path.name, "scan_time": scan_time_of(radar).isoformat(), "format": fmt}
        )
    if manifest.get("sounding"):
        named = directory / str(manifest["sounding"])
        if not named.is_file():
            raise DrillError(f"{directory / MANIFEST}: sounding {named.name} not found")
        sounding = str(named)
    if not volumes:
        raise DrillError(
            f"{directory}: no readable radar volume" + (f" ({'; '.join(notes)})" if notes else "")
        )
    lacks_site = radar_info is None or (
        abs(radar_info["lat"]) < 1e-6 and abs(radar_info["lon"]) < 1e-6
    )
    if manifest.get("radar"):
        if (
            radar_info is not None
            and not lacks_site
            and (
                abs(radar_info["lat"] - manifest["radar"]["lat"]) > 0.05
                or abs(radar_info["lon"] - manifest["radar"]["lon"]) > 0.05
            )
        ):
            notes.append(say("note_radar_differs"))
        else:
            radar_info = {
                **manifest["radar"],
                "name": manifest["radar"]["name"] or (radar_info or {}).get("name", ""),
            }
    elif lacks_site:
        raise DrillError(
            f"{directory}: the volumes carry no radar location; give it in "
            f'{MANIFEST} as "radar": {{"lat", "lon", "alt_m"}}'
        )
    volumes.sort(key=lambda v: v["scan_time"])
    if len(volumes) < REALISTIC_MIN_VOLUMES:
        notes.append(say("note_few_volumes", count=len(volumes), needed=REALISTIC_MIN_VOLUMES))
    reports = manifest.get("reports")
    if reports is None:
        notes.append(say("note_no_reports"))
    event = session.get(DrillEvent, name) or DrillEvent(name=name)
    event.directory, event.volumes, event.radar = str(directory), volumes, radar_info
    event.sounding, event.notes, event.builtin = sounding, notes, builtin
    event.reports = reports
    session.merge(event)
    audit.append(
        session,
        actor="system" if builtin else "cli",
        role="admin",
        action="drill_event.import",
        object_type="drill_event",
        object_id=name,
        after={
            "volumes": len(volumes),
            "notes": notes,
            "reports": None if reports is None else len(reports),
        },
    )
    return event


def ensure_builtin_events(session: Session) -> None:
    for name, directory in BUILTIN_EVENTS.items():
        if session.get(DrillEvent, name) is None and directory.is_dir():
            import_event(session, directory, name, builtin=True)


def resolve_event(session: Session, name_or_dir: str) -> DrillEvent:
    ensure_builtin_events(session)
    event = session.get(DrillEvent, name_or_dir)
    if event is not None:
        return event
    path = Path(name_or_dir)
    if path.is_dir():
        return import_event(session, path, path.name)
    known = ", ".join(session.scalars(select(DrillEvent.name)))
    raise DrillError(say("no_event", name=repr(name_or_dir), known=known))


# --- the drill clock ----------------------------------------------------------------------
class WallClock(Protocol):
    """The runner's wall clock: real by default; tests inject a stepped one."""

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class RealWallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class SteppedWallClock:
    """Wall time that passes only while the runner waits, never while it works: the drill's
    schedule no longer depends on how fast a (loaded) machine processes the volumes."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def sleep(self, seconds: float) -> None:
        # At least the clock's resolution: a wait shorter than 1 µs must still move time on.
        self._now += max(timedelta(seconds=seconds), timedelta(microseconds=1))


def drill_now(drill: DrillRecord, wall: datetime | None = None) -> datetime:
    if drill.state != "running":
        return drill.anchor_event
    wall = wall or datetime.now(UTC)
    return drill.anchor_event + (wall - drill.anchor_wall) * drill.speed


#: A drill is ``requested`` (waiting for the scheduler), ``running`` or ``paused`` (open),
#: then ``stopped`` or ``completed`` (ended; every operation closed, the reason kept).
OPEN_STATES = ("requested", "running", "paused")
ENDED_STATES = ("stopped", "completed")


def set_state(
    session: Session,
    drill: DrillRecord,
    state: str,
    actor: str = "system",
    role: str = "admin",
    *,
    reason: str | None = None,
    wall: datetime | None = None,
    drill_time: datetime | None = None,
) -> None:
    """pause / resume / stop / complete, keeping the drill clock continuous.  Ending a drill
    closes every operation still open in it (cancel before the order, recall after), with the
    reason, so nothing is left ``firing``/``ordered``/``authorized``."""
    allowed = {
        "requested": {"running", "stopped"},
        "running": {"paused", "stopped", "completed"},
        "paused": {"running", "stopped"},
    }
    if state not in allowed.get(drill.state, set()):
        raise DrillError(say("transition", drill=drill.id, state=drill.state, target=state))
    now_wall = wall or datetime.now(UTC)
    # ``drill_time`` pins the clock (a completed drill stops at the event's end, however
    # late its runner got there).
    now_event = drill_time or drill_now(drill, now_wall)
    before = drill.state
    drill.anchor_event, drill.anchor_wall, drill.state = now_event, now_wall, state
    if state in ENDED_STATES:
        drill.ended_at = now_wall
        drill.end_reason = reason or (
            say("end_completed") if state == "completed" else say("end_stopped_by", actor=actor)
        )
        closed = close_open_operations(session, drill.id, now_event, drill.end_reason)
        drill.timeline = [
            *(drill.timeline or []),
            {
                "t": now_event.isoformat(),
                "kind": "end",
                "state": state,
                "reason": drill.end_reason,
                "closed": closed,
            },
        ]
    audit.append(
        session,
        actor=actor,
        role=role,
        action=f"drill.{state}",
        object_type="drill",
        object_id=drill.id,
        drill_id=drill.id,
        before={"state": before},
        after={
            "state": state,
            "drill_time": now_event.isoformat(),
            **({"reason": drill.end_reason} if state in ENDED_STATES else {}),
        },
    )
    announce(
        session,
        "drill.state",
        {
            "drill_id": drill.id,
            "state": state,
            "drill_time": now_event.isoformat(),
            "event": drill.event,
            "speed": drill.speed,
        },
        [ROOM_ALL] + scoped([ROOM_ALL], drill.id),
    )


def close_open_operations(session: Session, drill_id: str, now: datetime, reason: str) -> list[str]:
    """Close every open operation of the drill: ``cancel`` before an order, ``recall`` (a
    cease-fire) from ordered/acknowledged/firing.  Returns the ids closed."""
    actor = lc.Actor("drill-end", lc.Role.ADMIN)
    open_states = [st.value for st in lc.OperationState if st not in lc.TERMINAL_STATES]
    closed = []
    for rec in session.scalars(
        select(OperationRecord)
        .where(OperationRecord.drill_id == drill_id, OperationRecord.state.in_(open_states))
        .order_by(OperationRecord.id)
    ).all():
        op = operations.load(session, rec.id)[1]
        action = "recall" if op.state in lc.ORDER_STATES else "cancel"
        operations.transition(
            session,
            rec.id,
            action,
            actor,
            {"reason": f"drill ended: {reason}"},
            max(now, op.history[-1].at),
        )
        closed.append(rec.id)
    return closed


# --- automatic players --------------------------------------------------------------------
@dataclass(frozen=True)
class AutoDelays:
    """Drill-time seconds the automatic players take for each step."""

    forecaster_confirm_s: float = 60
    commander_propose_s: float = 60
    commander_authorize_s: float = 30
    commander_request_s: float = 20
    atc_s: float = 90
    military_s: float = 150
    commander_order_s: float = 20
    operator_ack_s: float = 45
    operator_fire_s: float = 30
    firing_duration_s: float = 60
    operator_report_s: float = 60


@dataclass(order=True)
class _Task:
    at: datetime
    seq: int
    name: str = field(compare=False)
    run: Callable[[Session, datetime], None] = field(compare=False)


class DrillRunner:
    """Runs one drill to its end (blocking); control (pause/stop) comes through the database."""

    def __init__(
        self,
        app: Flask,
        drill_id: str,
        *,
        delays: AutoDelays | None = None,
        tail: timedelta = timedelta(minutes=45),
        poll_s: float = 0.2,
        tick: timedelta = timedelta(seconds=15),
        present_roles: Callable[[], set[str]] | None = None,
        runner_id: str | None = None,
        clock: WallClock | None = None,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self.app, self.drill_id = app, drill_id
        # Whoever runs the drill writes its heartbeat under this id; a runner whose drill
        # was taken over (it was thought dead) stops at its next step.
        self.runner_id = runner_id or runner_name("thread")
        self.clock: WallClock = clock or RealWallClock()
        self.heartbeat_s = heartbeat_s
        self._last_beat: datetime | None = None
        self.target: Relocation | None = None  # where the drill places the event's radar
        self.delays = delays or AutoDelays()
        self.tail, self.poll_s, self.tick = tail, poll_s, tick
        self.present_roles = present_roles or (lambda: set())
        self.recommendations: list[tuple[datetime, Any]] = []
        self.warned: set[tuple[str | None, str]] = set()
        # The counties each (volume, track) is predicted to enter: a stored volume's tracks never
        # change, and decoding a volume's tracks on every tick was most of a drill's time.
        self._arrivals: dict[tuple[int, str | None], list[str]] = {}
        self.end = datetime.max.replace(tzinfo=UTC)
        self.queue: list[_Task] = []
        self.counter = itertools.count()
        self.engaged_tracks: set[tuple[str, str]] = set()
        self.pending_denials: dict[str, int] = {"atc": 0, "military": 0}
        self.skipped_volumes: set[int] = set()

    # scheduling
    def at(self, when: datetime, name: str, run: Callable[[Session, datetime], None]) -> None:
        heapq.heappush(self.queue, _Task(when, next(self.counter), name, run))

    def _db(self) -> Any:
        return self.app.extensions["hailops_db"]

    def _drill(self, session: Session) -> DrillRecord:
        drill = session.get(DrillRecord, self.drill_id)
        if drill is None:
            raise DrillError(f"no drill {self.drill_id}")
        return drill

    def log(self, session: Session, when: datetime, kind: str, **detail: Any) -> None:
        drill = self._drill(session)
        drill.timeline = [*(drill.timeline or []), {"t": when.isoformat(), "kind": kind, **detail}]

    def _restore(self, progress: dict[str, Any]) -> None:
        """Pick up where a previous runner of this drill got to (``drill.progress``)."""
        self.pending_denials.update(progress.get("pending_denials") or {})
        self.skipped_volumes = set(progress.get("skipped_volumes") or [])
        self.warned = {(t, c) for t, c in progress.get("warned") or []}
        self.engaged_tracks = {(t, c) for t, c in progress.get("engaged") or []}

    def _save_progress(self, drill: DrillRecord, **changes: Any) -> None:
        progress = dict(drill.progress or {})
        progress.update(changes)
        progress.update(
            pending_denials=dict(self.pending_denials),
            skipped_volumes=sorted(self.skipped_volumes),
            warned=sorted([t or "", c] for t, c in self.warned),
            engaged=sorted([t or "", c] for t, c in self.engaged_tracks),
        )
        drill.progress = progress

    def _beat_forever(self, stop: threading.Event) -> None:
        """The heartbeat, also while a long step (reading and detecting a volume) runs, so
        the scheduler never takes a busy runner for a dead one."""
        while not stop.wait(self.heartbeat_s):
            try:
                with self._db().session() as session:
                    drill = session.get(DrillRecord, self.drill_id)
                    if (
                        drill is None
                        or drill.runner != self.runner_id
                        or drill.state in ENDED_STATES
                    ):
                        return
                    drill.heartbeat_at = self.clock.now()
                    session.commit()
            except Exception:  # noqa: BLE001 - a missed beat is retried; the drill goes on
                log.warning("drill %s: heartbeat failed", self.drill_id, exc_info=True)

    def run(self) -> str:
        stop = threading.Event()
        beating = threading.Thread(
            target=self._beat_forever,
            args=(stop,),
            daemon=True,
            name=f"drill-heartbeat-{self.drill_id}",
        )
        try:
            return self._run(beating)
        finally:
            stop.set()

    def _run(self, beating: threading.Thread) -> str:
        with self._db().session() as session:
            drill = self._drill(session)
            event = session.get(DrillEvent, drill.event)
            if event is None:
                raise DrillError(f"drill {self.drill_id}: no event {drill.event}")
            progress = dict(drill.progress or {})
            self._restore(progress)
            target = drill.relocate_to if drill.relocated else None
            self.target = (
                None
                if not target
                else Relocation(target["lat"], target["lon"], target.get("alt_m"))
            )
            next_volume = int(progress.get("next_volume", 0))
            done = set(progress.get("injects_done") or [])
            for index, vol in enumerate(event.volumes):
                if index >= next_volume:
                    t = datetime.fromisoformat(vol["scan_time"])
                    self.at(t, f"volume {index}", self._volume_task(event, index))
            start = datetime.fromisoformat(event.volumes[0]["scan_time"])
            for number, item in enumerate(drill.script or []):
                if number not in done:
                    self.at(
                        start + timedelta(seconds=float(item["at_s"])),
                        f"inject {item['kind']}",
                        self._inject_task(item, number),
                    )
            self.end = datetime.fromisoformat(event.volumes[-1]["scan_time"]) + self.tail
            resumed_at = drill_now(drill, self.clock.now())
            self.at(max(start + self.tick, resumed_at), "auto players", self._tick)
            self.at(self.end, "end", lambda s, now: None)
            drill.runner, drill.heartbeat_at = self.runner_id, self.clock.now()
            session.commit()
        beating.start()
        while self.queue:
            task = heapq.heappop(self.queue)
            state = self._wait_until(task.at)
            if state in ("stopped", "completed", "taken_over"):
                return state
            self._run_task(task)
            if task.name == "end":
                break
        with self._db().session() as session:
            drill = self._drill(session)
            if drill.state in ("running", "paused"):
                set_state(
                    session,
                    drill,
                    "completed",
                    reason=say("end_played", minutes=int(self.tail.total_seconds() // 60)),
                    wall=self.clock.now(),
                    drill_time=min(drill_now(drill, self.clock.now()), self.end),
                )
                session.commit()
        return "completed"

    def _run_task(self, task: _Task, attempts: int = 3) -> None:
        """One step in its own transaction.  A step the domain refuses is logged and the
        drill goes on; a busy database (SQLite locked by a long live ingestion) is retried."""
        for attempt in range(1, attempts + 1):
            with self._db().session() as session:
                try:
                    task.run(session, task.at)
                    self._save_progress(self._drill(session))
                    session.commit()
                    return
                except (DispatchError, RadarError, DrillError, operations.NotFoundError) as exc:
                    session.rollback()
                    self.log(session, task.at, "step_failed", step=task.name, error=str(exc))
                    if task.name.startswith("volume "):
                        self._save_progress(
                            self._drill(session), next_volume=int(task.name.split()[1]) + 1
                        )
                    session.commit()
                    log.info("drill %s: %s failed: %s", self.drill_id, task.name, exc)
                    return
                except OperationalError:
                    session.rollback()
                    if attempt == attempts:
                        raise  # the runner dies; the scheduler resumes the drill from its progress
                    log.warning("drill %s: %s: database busy, retrying", self.drill_id, task.name)
            time.sleep(1.0)

    def _wait_until(self, when: datetime) -> str:
        while True:
            with self._db().session() as session:
                drill = self._drill(session)
                if drill.state in ENDED_STATES:
                    return drill.state
                if drill.runner not in (None, self.runner_id):
                    log.warning("drill %s: taken over by %s", self.drill_id, drill.runner)
                    return "taken_over"
                wall = self.clock.now()
                if (
                    self._last_beat is None
                    or (wall - self._last_beat).total_seconds() >= self.heartbeat_s
                ):
                    drill.heartbeat_at, self._last_beat = wall, wall
                    self._save_progress(drill, drill_time=drill_now(drill, wall).isoformat())
                    session.commit()
                if drill.state == "running":
                    now = drill_now(drill, wall)
                    if now >= when:
                        return "running"
                    wait = (when - now).total_seconds() / drill.speed
                else:
                    wait = self.poll_s
            self.clock.sleep(min(max(wait, 0.0), self.poll_s))

    # radar volumes
    def _volume_task(self, event: DrillEvent, index: int) -> Callable[[Session, datetime], None]:
        def run(session: Session, now: datetime) -> None:
            name = event.volumes[index]["file"]
            if index in self.skipped_volumes:
                drill = self._drill(session)
                self.log(session, now, "volume_missing", file=name)
                self._save_progress(drill, next_volume=index + 1, drill_time=now.isoformat())
                return
            # Read and detect before the session is first used: the slow part holds no
            # database transaction (on SQLite that would block every other writer).
            path = Path(event.directory) / name
            radar = read_volume(path, fields=REFLECTIVITY_CANDIDATES)
            if self.target is not None:
                relocate(radar, self.target)
            elif (
                event.radar
            ):  # where it was recorded (the manifest's location if the files lack one)
                relocate(
                    radar,
                    Relocation(event.radar["lat"], event.radar["lon"], event.radar.get("alt_m")),
                )
            levels = (
                levels_from_sounding(event.sounding)
                if event.sounding
                else current_levels(self.app.config["HAILOPS"], now)
            )
            started = time.perf_counter()
            result = detect_volume(radar, levels, DetectionConfig())
            processing_ms = (time.perf_counter() - started) * 1000
            sha = sha256_of(path)
            drill = self._drill(session)
            if int((drill.progress or {}).get("next_volume", 0)) > index:
                return  # a retried step whose volume was already recorded
            vol = record_volume(
                session,
                result,
                filename=f"DRILL {self.drill_id}: {name}",
                sha256=f"{sha[:40]}{self.drill_id}"[:64],
                products_dir=self.app.config["HAILOPS"].products,
                processing_ms=processing_ms,
                drill_id=self.drill_id,
            )
            hail = [c for c in vol.cells if c.hail]
            self.log(
                session,
                now,
                "volume",
                file=name,
                volume_id=vol.id,
                cells=len(vol.cells),
                hail_cells=len(hail),
            )
            for cell in hail:
                self.log(session, now, "detection", cell_id=cell.cell_id, track_id=cell.track_id)
            # The volume and the progress past it are one commit: a restart never ingests it twice.
            self._save_progress(drill, next_volume=index + 1, drill_time=now.isoformat())
            session.commit()  # release the write lock before the (slower) dispatch step
            self._dispatch(session, vol, now, drill)

        return run

    def _dispatch(
        self, session: Session, vol: RadarVolume, now: datetime, drill: DrillRecord
    ) -> None:
        from command.dispatching import recommend_config, recommend_for_volume

        result = recommend_for_volume(
            session, vol, drill.overrides or {}, recommend_config(self.app.config["HAILOPS"])
        )
        track_of = {c.cell_id: c.track_id for c in vol.cells}
        for rec in result.recommendations:
            track = track_of.get(rec.cell_id) or rec.cell_id
            self.log(
                session,
                now,
                "recommendation",
                cell_id=rec.cell_id,
                track_id=track,
                site=rec.site_code,
                window=[rec.window_start.isoformat(), rec.window_end.isoformat()],
            )
            if (track, rec.site_code) not in self.engaged_tracks:
                self.engaged_tracks.add((track, rec.site_code))
                self.recommendations.append((now, rec))

    # --- automatic players -------------------------------------------------------------------
    # Every tick (drill time) each absent role takes the step that is due for it: a step is
    # due once its delay has passed since the operation last changed.  A role somebody is
    # logged in as (``present_roles``) is left to that person.
    def _tick(self, session: Session, now: datetime) -> None:
        if now < self.end:  # scheduled first: a failed step must not stop the players
            self.at(now + self.tick, "auto players", self._tick)
        if self._drill(session).auto_approve:
            self._play(session, now)
        # The drill's own deadline watch, on the drill clock (the live watch ignores drills).
        from command.watch import watch_deadlines

        watch_deadlines(session, now, drill_id=self.drill_id)

    def _absent(self, role: str) -> bool:
        return role not in self.present_roles()

    def _actor(self, role: str, county: str | None = None) -> lc.Actor:
        return lc.Actor(f"auto:{role}", lc.Role(role), county)

    def _play(self, session: Session, now: datetime) -> None:
        d = self.delays
        if self._absent("forecaster"):
            self._forecast(session, now)
        if self._absent("commander"):
            waiting = []
            for made, rec in self.recommendations:
                if (now - made).total_seconds() < d.commander_propose_s:
                    waiting.append((made, rec))
                    continue
                if now >= rec.window_end:
                    continue  # too late for this one
                body = {
                    "cell_id": rec.cell_id,
                    "site_code": rec.site_code,
                    "window": [rec.window_start.isoformat(), rec.window_end.isoformat()],
                    "azimuth_deg": rec.azimuth_deg,
                    "elevation_deg": rec.elevation_deg,
                    "quantity": dict(rec.ammunition),
                    "max_altitude_m": rec.max_altitude_m,
                }
                operations.propose(
                    session, self._actor("commander"), body, now, drill_id=self.drill_id
                )
            self.recommendations = waiting
            self._save_progress(self._drill(session))
        open_states = [st.value for st in lc.OperationState if st not in lc.TERMINAL_STATES]
        for rec in session.scalars(
            select(OperationRecord).where(
                OperationRecord.drill_id == self.drill_id, OperationRecord.state.in_(open_states)
            )
        ):
            op = operations.load(session, rec.id)[1]
            for role, action, body in self._due(op, now):
                if self._absent(role):
                    county = op.county if role == "county_operator" else None
                    try:
                        # The core refuses before anything is written, so a refused step
                        # leaves the session clean for the other operations.
                        op = operations.transition(
                            session, op.id, action, self._actor(role, county), body, now
                        )
                    except DispatchError as exc:
                        self.log(
                            session,
                            now,
                            "step_refused",
                            operation=op.id,
                            action=action,
                            error=str(exc),
                        )

    def _forecast(self, session: Session, now: datetime) -> None:
        """The automatic forecaster confirms each hail storm still to review once its cell
        has waited ``forecaster_confirm_s`` (the storm keeps it in later scans), and warns
        the counties each confirmed hail storm of the latest volume is predicted to enter."""
        from command.storms import review_storm, storm_of_cell
        from dispatch.review import Review

        latest = session.scalar(
            select(func.max(CellRecord.volume_id)).where(CellRecord.drill_id == self.drill_id)
        )
        for cell in session.scalars(
            select(CellRecord)
            .where(
                CellRecord.drill_id == self.drill_id,
                CellRecord.hail.is_(True),
                (CellRecord.review == "new") | (CellRecord.volume_id == latest),
            )
            .order_by(CellRecord.id)
        ):
            if (
                cell.review == "new"
                and (now - cell.scan_time).total_seconds() >= self.delays.forecaster_confirm_s
            ):
                storm = storm_of_cell(session, cell)
                if storm is None:  # an untracked cell: confirmed alone
                    cell.review, cell.reviewed_by, cell.review_reason = (
                        "confirmed",
                        "auto:forecaster",
                        "auto",
                    )
                    audit.append(
                        session,
                        actor="auto:forecaster",
                        role="forecaster",
                        action="cell.confirmed",
                        object_type="cell",
                        object_id=cell.cell_id,
                        drill_id=self.drill_id,
                        at=now,
                        after={"review": "confirmed"},
                    )
                elif storm.review == "new":
                    review_storm(
                        session,
                        storm,
                        Review.CONFIRMED,
                        "auto",
                        actor="auto:forecaster",
                        role="forecaster",
                        at=now,
                    )
                cell.review = "confirmed" if storm is None else storm.review
            if cell.review == "confirmed":
                self._warn(session, cell, now)

    def _warn(self, session: Session, cell: CellRecord, now: datetime) -> None:
        """The automatic forecaster warns the counties a confirmed hail cell is predicted to
        enter (once per track and county)."""
        from command.warnings import build_for_cell, record_warning

        key = (cell.volume_id, cell.track_id)
        if key not in self._arrivals:
            track = next(
                (t for t in (cell.volume.tracks or []) if t.get("id") == cell.track_id), None
            )
            self._arrivals[key] = sorted((track or {}).get("arrivals", {}).get("counties", {}))
        new = [c for c in self._arrivals[key] if (cell.track_id, c) not in self.warned]
        if not new:
            return
        self.warned.update((cell.track_id, c) for c in new)
        record_warning(
            session,
            cell,
            build_for_cell(cell, new, now.replace(microsecond=0)),
            new,
            now,
            "auto:forecaster",
            "forecaster",
        )

    def _due(self, op: lc.Operation, now: datetime) -> list[tuple[str, str, dict[str, Any]]]:
        """The automatic steps due now for ``op`` (role, action, body)."""
        d = self.delays
        since = (now - op.history[-1].at).total_seconds()
        if op.state == lc.S.PROPOSED and since >= d.commander_authorize_s:
            return [("commander", "authorize", {})]
        if op.state == lc.S.AUTHORIZED and since >= d.commander_request_s:
            return [("commander", "request-clearance", {})]
        if op.state == lc.S.CLEARANCE_REQUESTED and op.clearance_request is not None:
            waited = (now - op.clearance_request.requested_at).total_seconds()
            decided = {dec.authority.value for dec in op.decisions}
            steps = []
            for authority, delay in (("atc", d.atc_s), ("military", d.military_s)):
                if authority not in decided and waited >= delay:
                    if self.pending_denials.get(authority):
                        self.pending_denials[authority] -= 1
                        steps.append(
                            (authority, "deny", {"reason": "inject: airspace not available"})
                        )
                    else:
                        steps.append((authority, "grant", {}))
            return steps[:1]
        if op.state == lc.S.CLEARED and since >= d.commander_order_s:
            cleared = op.clearance(now)
            if cleared is not None and cleared.window.contains(now):
                return [("commander", "order", {})]
        if op.state == lc.S.ORDERED and since >= d.operator_ack_s:
            return [("county_operator", "acknowledge", {})]
        if op.state == lc.S.ACKNOWLEDGED and since >= d.operator_fire_s:
            return [("county_operator", "start-firing", {})]
        if op.state == lc.S.FIRING and since >= d.firing_duration_s + d.operator_report_s:
            started = op.history[-1].at
            ended = started + timedelta(seconds=d.firing_duration_s)
            return [
                (
                    "county_operator",
                    "report",
                    {
                        "started_at": started.isoformat(),
                        "ended_at": ended.isoformat(),
                        "rounds": dict(op.quantity),
                        "observation": "hail",
                    },
                )
            ]
        return []

    # injects
    def _inject_task(
        self, item: dict[str, Any], number: int = -1
    ) -> Callable[[Session, datetime], None]:
        def run(session: Session, now: datetime) -> None:
            drill = self._drill(session)
            kind, params = item["kind"], item.get("params", {})
            done = list((drill.progress or {}).get("injects_done") or [])
            self._save_progress(
                drill, injects_done=sorted({*done, number}), drill_time=now.isoformat()
            )
            self.log(session, now, "inject", inject=kind, params=params)
            audit.append(
                session,
                actor="drill-script",
                role="admin",
                action=f"drill.inject.{kind}",
                object_type="drill",
                object_id=self.drill_id,
                drill_id=self.drill_id,
                at=now,
                after=params,
            )
            announce(
                session,
                "drill.inject",
                {
                    "drill_id": self.drill_id,
                    "kind": kind,
                    "params": params,
                    "drill_time": now.isoformat(),
                },
                scoped([ROOM_ALL], self.drill_id),
            )
            if kind == "deny":
                self.pending_denials[params.get("authority", "atc")] += 1
            elif kind == "revoke":
                authority = params.get("authority", "military")
                for rec in session.scalars(
                    select(OperationRecord).where(
                        OperationRecord.drill_id == self.drill_id,
                        OperationRecord.state.in_(["cleared", "ordered", "acknowledged", "firing"]),
                    )
                ):
                    operations.transition(
                        session,
                        rec.id,
                        "revoke",
                        self._actor(authority),
                        {"reason": "inject: airspace recalled"},
                        now,
                    )
                    break
            elif kind in ("site_offline", "out_of_ammunition"):
                overrides = dict(drill.overrides or {})
                overrides[params["site_code"]] = (
                    "offline" if kind == "site_offline" else "out_of_ammunition"
                )
                drill.overrides = overrides
            elif kind == "missing_volume":
                self.skipped_volumes.add(int(params["index"]))
            elif kind == "false_hail_report":
                self.log(session, now, "hail_report", false=True, **params)

        return run


# --- starting ------------------------------------------------------------------------------
def parse_script(text: str) -> list[dict[str, Any]]:
    """A drill script: JSON list of ``{"at_s": seconds after the first volume, "kind", "params"}``."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DrillError(say("script_not_json", error=exc)) from None
    if not isinstance(items, list):
        raise DrillError(say("script_not_list"))
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict) or item.get("kind") not in INJECT_KINDS:
            raise DrillError(say("inject_kind", i=i, kinds=", ".join(INJECT_KINDS)))
        at_s = item.get("at_s")
        if isinstance(at_s, bool) or not isinstance(at_s, (int, float)) or at_s < 0:
            raise DrillError(say("inject_at", i=i))
        params = item.setdefault("params", {})
        if not isinstance(params, dict):
            raise DrillError(say("inject_params", i=i))
        kind = item["kind"]
        # The parameters each kind uses are checked now, not when the inject fires mid-drill.
        if kind in ("deny", "revoke") and params.get("authority", "atc") not in ("atc", "military"):
            raise DrillError(say("inject_authority", i=i, kind=kind))
        if kind in ("site_offline", "out_of_ammunition") and not (
            isinstance(params.get("site_code"), str) and params["site_code"]
        ):
            raise DrillError(say("inject_site", i=i, kind=kind))
        if kind == "missing_volume" and (
            isinstance(params.get("index"), bool)
            or not isinstance(params.get("index"), int)
            or params["index"] < 0
        ):
            raise DrillError(say("inject_index", i=i))
    return items


def preflight(session: Session, auto_approve: bool) -> list[str]:
    """What stops a drill from being played, said before it starts: no operation site in the
    deployment (nothing could ever be dispatched); without automatic players, no account
    for a role the operation needs (a county operator, ATC, military)."""
    from command.models import SiteRecord, User

    problems = []
    if session.scalar(select(SiteRecord.code).limit(1)) is None:
        problems.append(say("preflight_no_sites"))
    if not auto_approve:
        roles = set(session.scalars(select(User.role).where(User.active.is_(True))))
        missing = [r for r in ("county_operator", "atc", "military") if r not in roles]
        if missing:
            problems.append(say("preflight_no_players", roles=", ".join(missing)))
    return problems


def create_drill(
    session: Session,
    event: DrillEvent,
    *,
    speed: float,
    started_by: str,
    relocate_to: tuple[float, float] | None = None,
    relocate: bool | None = None,
    auto_approve: bool = False,
    script: list[dict[str, Any]] | None = None,
    state: str = "running",
    runner: str | None = None,
) -> DrillRecord:
    """A new drill: ``running`` when the caller runs it at once (``hailops drill run``),
    ``requested`` when the scheduler is to run it (admin page, API, schedule, demo)."""
    if not 1.0 <= speed <= 600.0:
        raise DrillError(say("speed"))
    problems = preflight(session, auto_approve)
    if problems:
        raise DrillError(say("cannot_start", problems="; ".join(problems)))
    radar = deployment().radar
    target = None
    if relocate_to is not None:
        target = {"lat": relocate_to[0], "lon": relocate_to[1], "alt_m": None}
    elif relocate is not False:
        src = event.radar or {}
        far = (
            abs(src.get("lat", radar.lat) - radar.lat) > 0.05
            or abs(src.get("lon", radar.lon) - radar.lon) > 0.05
        )
        if far or relocate:
            target = {"lat": radar.lat, "lon": radar.lon, "alt_m": radar.alt_m}
    first = datetime.fromisoformat(event.volumes[0]["scan_time"])
    drill_id = f"D{datetime.now(UTC):%Y%m%d%H%M%S}{secrets.token_hex(1).upper()}"
    drill = DrillRecord(
        id=drill_id,
        event=event.name,
        speed=speed,
        relocated=target is not None,
        relocate_to=target,
        auto_approve=auto_approve,
        state=state,
        anchor_event=first - timedelta(seconds=5),
        anchor_wall=datetime.now(UTC),
        script=script or [],
        overrides={},
        timeline=[],
        started_by=started_by,
        runner=runner,
        heartbeat_at=datetime.now(UTC) if runner else None,
        progress={
            "next_volume": 0,
            "injects_done": [],
            "drill_time": (first - timedelta(seconds=5)).isoformat(),
        },
    )
    session.add(drill)
    session.flush()
    audit.append(
        session,
        actor=started_by,
        role="admin",
        action="drill.start",
        object_type="drill",
        object_id=drill_id,
        drill_id=drill_id,
        after={
            "event": event.name,
            "speed": speed,
            "relocated": drill.relocated,
            "auto_approve": auto_approve,
            "injects": len(drill.script),
        },
    )
    announce(
        session,
        "drill.state",
        {
            "drill_id": drill_id,
            "state": state,
            "event": event.name,
            "speed": speed,
            "notes": event.notes,
        },
        [ROOM_ALL],
    )
    return drill


def runner_name(kind: str) -> str:
    """``<kind>:<host>:<pid>`` — who runs a drill (a scheduler thread, a CLI process)."""
    return f"{kind}:{socket.gethostname()[:40]}:{os.getpid()}"


def start_in_background(app: Flask, drill_id: str, **kwargs: Any) -> threading.Thread:
    kwargs.setdefault("runner_id", runner_name("scheduler"))
    runner = DrillRunner(app, drill_id, **kwargs)

    def guarded() -> None:
        try:
            runner.run()
        except Exception:  # noqa: BLE001 - a broken drill must never take the server down
            log.exception("drill %s failed", drill_id)

    thread = threading.Thread(target=guarded, name=f"drill-{drill_id}", daemon=True)
    app.extensions.setdefault("hailops_drill_threads", []).append(thread)
    app.extensions.setdefault("hailops_drill_runs", {})[drill_id] = thread
    thread.start()
    return thread


# --- the scheduler owns the drills ------------------------------------------------------------
def _alive_here(app: Flask, drill_id: str) -> bool:
    threads = app.extensions.get("hailops_drill_runs", {})
    thread = threads.get(drill_id)
    return thread is not None and thread.is_alive()


def supervise_drills(
    app: Flask,
    *,
    wall: datetime | None = None,
    start: Callable[[Flask, str], Any] | None = None,
    stale_s: float = STALE_S,
    resume_within_s: float = RESUME_WITHIN_S,
) -> dict[str, str]:
    """The scheduler's drill job (every few seconds, in the one scheduler process):

    * a ``requested`` drill (from the admin page or the API) is claimed and started;
    * a running or paused drill whose runner stopped beating (a killed ``hailops drill
      run``, a crashed or restarted scheduler) is **resumed** from its saved progress, with
      its clock re-anchored where the runner left it — or **ended cleanly** (every open
      operation closed, the reason recorded) when it cannot be resumed: its runner has been
      gone longer than ``resume_within_s`` or its event is no longer available.

    Returns ``{drill_id: "started" | "resumed" | "ended"}``."""
    wall = wall or datetime.now(UTC)
    start = start or (lambda a, d: start_in_background(a, d, present_roles=_present_roles(a, d)))
    me = runner_name("scheduler")
    done: dict[str, str] = {}
    with app.app_context(), app.extensions["hailops_db"].session() as session:
        for drill in session.scalars(
            select(DrillRecord)
            .where(DrillRecord.state.in_(OPEN_STATES))
            .order_by(DrillRecord.started_at)
        ).all():
            if drill.state == "requested":
                set_state(session, drill, "running", actor="scheduler", role="system", wall=wall)
                drill.runner, drill.heartbeat_at = me, wall
                drill.anchor_wall = wall
                session.commit()
                start(app, drill.id)
                done[drill.id] = "started"
                continue
            if drill.runner == me and _alive_here(app, drill.id):
                continue
            beat = drill.heartbeat_at or drill.started_at
            gone_s = (wall - beat).total_seconds()
            if gone_s < stale_s:
                continue
            event = session.get(DrillEvent, drill.event)
            if gone_s > resume_within_s or event is None or not Path(event.directory).is_dir():
                why = (
                    say("end_runner_lost", runner=drill.runner, minutes=f"{gone_s / 60:.0f}")
                    if event is not None and Path(event.directory).is_dir()
                    else say("end_event_gone", event=drill.event)
                )
                _end_lost(session, drill, why, beat)
                session.commit()
                done[drill.id] = "ended"
                continue
            # Resume: the clock restarts where the last heartbeat saw it (no jump over the gap).
            resumes = int((drill.progress or {}).get("resumes", 0))
            if resumes >= MAX_RESUMES:
                _end_lost(session, drill, say("end_lost_times", times=resumes + 1), beat)
                session.commit()
                done[drill.id] = "ended"
                continue
            drill.progress = {**(drill.progress or {}), "resumes": resumes + 1}
            was, lost = drill.state, drill.runner
            seen = (drill.progress or {}).get("drill_time")
            if drill.state == "running":
                drill.anchor_event = (
                    datetime.fromisoformat(seen) if seen else drill_now(drill, beat)
                )
            drill.anchor_wall, drill.runner, drill.heartbeat_at = wall, me, wall
            drill.timeline = [
                *(drill.timeline or []),
                {
                    "t": drill.anchor_event.isoformat(),
                    "kind": "resumed",
                    "reason": f"runner {lost} lost for {gone_s:.0f} s",
                    "gap_s": round(gone_s),
                },
            ]
            audit.append(
                session,
                actor="scheduler",
                role="system",
                action="drill.resume_after_loss",
                object_type="drill",
                object_id=drill.id,
                drill_id=drill.id,
                after={
                    "state": was,
                    "gap_s": round(gone_s),
                    "drill_time": drill.anchor_event.isoformat(),
                },
            )
            session.commit()
            start(app, drill.id)
            done[drill.id] = "resumed"
    return done


def _end_lost(session: Session, drill: DrillRecord, why: str, beat: datetime) -> None:
    """End a drill whose runner is gone: its clock stops where the runner was last seen."""
    seen = (drill.progress or {}).get("drill_time")
    if drill.state == "running":
        drill.anchor_event = datetime.fromisoformat(seen) if seen else drill_now(drill, beat)
        drill.anchor_wall = beat
    set_state(session, drill, "stopped", actor="scheduler", role="system", reason=why, wall=beat)


def _present_roles(app: Flask, drill_id: str) -> Callable[[], set[str]]:
    from command.demo import present_roles

    return lambda: present_roles(app, drill_id)


def operation_of(rec: OperationRecord) -> lc.Operation:
    operation: lc.Operation = decode(lc.Operation, rec.data)
    return operation


# --- the monthly schedule -------------------------------------------------------------------
def next_scheduled(settings: Any, after: datetime) -> datetime | None:
    if not settings.drill_cron:
        return None
    from apscheduler.triggers.cron import CronTrigger

    trigger = CronTrigger.from_crontab(settings.drill_cron, timezone=settings.timezone)
    nxt = trigger.get_next_fire_time(None, after)
    return None if nxt is None else nxt.astimezone(UTC)


def announce_if_due(app: Flask, now: datetime | None = None) -> bool:
    """Tell every participant about the next scheduled drill once it is near (once per drill)."""
    from command.models import ServiceStatus

    settings = app.config["HAILOPS"]
    now = now or datetime.now(UTC)
    nxt = next_scheduled(settings, now)
    if nxt is None or nxt - now > timedelta(hours=settings.drill_announce_hours):
        return False
    with app.extensions["hailops_db"].session() as session:
        row = session.get(ServiceStatus, "drill_announce") or ServiceStatus(
            name="drill_announce", info={}
        )
        if (row.info or {}).get("for") == nxt.isoformat():
            return False
        row.info, row.updated_at = {"for": nxt.isoformat()}, now
        session.merge(row)
        audit.append(
            session,
            actor="scheduler",
            role="system",
            action="drill.announce",
            object_type="drill_schedule",
            object_id=nxt.isoformat(),
            at=now,
            after={"event": settings.drill_event, "starts_at": nxt.isoformat()},
        )
        announce(
            session,
            "drill.announce",
            {
                "starts_at": nxt.isoformat(),
                "event": settings.drill_event,
                "speed": settings.drill_speed,
            },
            [ROOM_ALL] + [f"role:{r}" for r in ("county_operator",)],
        )
        session.commit()
    return True


def start_scheduled_drill(app: Flask) -> str:
    settings = app.config["HAILOPS"]
    with app.app_context(), app.extensions["hailops_db"].session() as session:
        event = resolve_event(session, settings.drill_event)
        drill = create_drill(
            session, event, speed=settings.drill_speed, started_by="schedule", state="requested"
        )
        session.commit()
        drill_id = drill.id
    supervise_drills(app)
    return drill_id


def register_schedule(app: Flask, scheduler: Any) -> None:
    settings = app.config["HAILOPS"]
    # The scheduler owns the drills: it starts requested ones and resumes or ends orphans.
    scheduler.add_job(
        supervise_drills,
        "interval",
        seconds=3,
        args=[app],
        id="drills",
        next_run_time=datetime.now(UTC),
    )
    if not settings.drill_cron:
        return
    from apscheduler.triggers.cron import CronTrigger

    scheduler.add_job(
        start_scheduled_drill,
        CronTrigger.from_crontab(settings.drill_cron, timezone=settings.timezone),
        args=[app],
        id="monthly_drill",
    )
    scheduler.add_job(
        announce_if_due,
        "interval",
        minutes=10,
        args=[app],
        id="drill_announce",
        next_run_time=datetime.now(UTC),
    )
