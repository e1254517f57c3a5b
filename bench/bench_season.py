"""Benchmark: every screen at season scale against the empty database (issue 16).

A season of one city (the issue's measurements): 40,000 radar volumes, ~1,000,000 cell records,
~200,000 audit records, ~500,000 live events, ~3,400 operations.  ``--scale`` shrinks all of it
(``make bench`` runs ``--scale 0.05``; the full season is ``--scale 1``, see the README).

How, in one run against one PostgreSQL server:

1. A fresh database ``hail_bench_<pid>`` is created and migrated with Alembic (production
   schema and indexes).  The deployment is seeded; the two volumes of the built-in Canberra
   event (``radar/data/events``) are processed through the real feed (detection, tracking,
   nowcast, persistence, announcement) and moved to the present; three operations are
   proposed and two hail warnings issued through the API.  This is the *empty* database.
2. Each screen's request is timed there (Flask test client with a bearer token, one warm-up,
   median of 5), plus a socket connect with catch-up of everything (a dozen events) and a
   full audit verification.  Catch-up is timed both ways a client can take it, runs
   interleaved in one server process: one message per event (the old path, still that of
   clients that do not opt in) and one message per page (``batch: true``, the browser's), on a
   ``hailops run`` alone and on one joined to a Redis message queue (``HAILOPS_BENCH_REDIS``,
   default ``redis://127.0.0.1:6379/0``, a channel of its own; left out without Redis).
3. The season is generated from those real records: the volumes' rows (with their tracks
   and nowcasts) and cell features replicated every 6 minutes back from a day before the
   present volumes, audit records (a valid hash chain continuing the real one), live events
   (the real ``volume.new``/``operation.update`` payloads), finished operations.  COPY is
   used for speed; then ANALYZE.
4. The same requests are timed again (ratio = season / empty, target <= 1.5x); catch-up of
   1,000 events (target < 1 s; ratio = batched / per event); a full audit verification (it
   stores a checkpoint), 1,000 audit records appended through ``audit.append``, and the
   routine verification that checks them (target < 2 s).

Exits 0 whatever the figures (``make bench`` reports); prints "skipped" and exits 0 when no
PostgreSQL server is reachable (``HAILOPS_BENCH_PG``, default
``postgresql+psycopg://postgres@127.0.0.1:5432``).  Tracking at 50/200/500 cells is
``bench/bench_tracking.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EVENT_DIR = ROOT / "radar" / "data" / "events" / "canberra_20181220"
SEASON = {"volumes": 40_000, "audit": 197_000, "events": 494_000, "operations": 3_412}
SCREENS = [
    "/api/volumes",
    "/api/operations",
    "/api/recommendations",
    "/healthz",
    "/api/live/state",
    "/api/cells/latest",
    "/api/member/overview",
    "/api/warnings",
    "/",
]
STEP = timedelta(minutes=6)


class Catch(NamedTuple):
    """One way of catching up, measured: median wall time from before connecting until the
    last replayed event arrived, messages that carried the events, median CPU time."""

    ms: float
    messages: int
    server_cpu_ms: float
    client_cpu_ms: float

    @property
    def cpu_ms(self) -> float:
        return self.server_cpu_ms + self.client_cpu_ms


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


class Bench:
    def __init__(self, base: str, scale: float, tmp: Path) -> None:
        import psycopg

        self.scale = scale
        self.base = base.rstrip("/")
        self.names = {
            "empty": f"hail_bench_{os.getpid()}_empty",
            "season": f"hail_bench_{os.getpid()}_season",
        }
        self.urls = {k: f"{self.base}/{v}" for k, v in self.names.items()}
        self.url = self.urls["empty"]
        self.apps: dict[str, Any] = {}
        with psycopg.connect(_psycopg_url(f"{self.base}/postgres"), autocommit=True) as conn:
            for name in self.names.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{self.names["empty"]}"')
        self.tmp = tmp
        self.n_volumes = max(10, int(SEASON["volumes"] * scale))
        self.redis_url: str | None = None  # a Redis message queue for the socket figures

    def drop(self) -> None:
        import psycopg

        from command.extensions import get_db

        for app in self.apps.values():
            with app.app_context():
                get_db().dispose()
        with psycopg.connect(_psycopg_url(f"{self.base}/postgres"), autocommit=True) as conn:
            for name in self.names.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def make_app(self, which: str) -> Any:
        from command import create_app

        app = create_app(
            {
                "env": "test",
                "database_url": self.urls[which],
                "instance_path": self.tmp / "instance",
                "secret_key": "bench",
                "scheduler_enabled": False,
                "message_queue": None,
            }
        )
        app.config["WTF_CSRF_ENABLED"] = False
        self.apps[which] = app
        return app

    def clone(self) -> None:
        """The season database starts as a copy of the empty one (same records, same ids)."""
        import psycopg

        from command.extensions import get_db

        with self.app.app_context():
            get_db().dispose()
        with psycopg.connect(_psycopg_url(f"{self.base}/postgres"), autocommit=True) as conn:
            conn.execute(
                f'CREATE DATABASE "{self.names["season"]}" TEMPLATE "{self.names["empty"]}"'
            )
        self.url = self.urls["season"]
        self.app = self.make_app("season")

    def pg(self) -> Any:
        import psycopg

        return psycopg.connect(_psycopg_url(self.url))

    # --- the empty database --------------------------------------------------------------
    def setup(self) -> None:
        from alembic import command as alembic_command

        from command.auth import create_user, issue_token
        from command.cli import alembic_config
        from command.extensions import get_db
        from command.ingest import process_file
        from command.seed import seed_deployment

        alembic_command.upgrade(alembic_config(self.url), "head")
        self.app = self.make_app("empty")
        # History gets the low ids; what is live now is received after it.
        with self.pg() as conn:
            conn.execute("SELECT setval('radar_volumes_id_seq', %s)", (self.n_volumes + 10,))
            conn.execute("SELECT setval('cells_id_seq', %s)", (self.n_volumes * 200 + 10,))
        settings = self.app.config["HAILOPS"]
        self.tokens = {}
        with self.app.app_context(), get_db().session() as s:
            seed_deployment(s)
            for role in ("commander", "forecaster", "admin"):
                user = create_user(s, role, "bench-password-123", role)
                self.tokens[role] = issue_token(s, user)
            s.commit()
            incoming = self.tmp / "incoming"
            incoming.mkdir(parents=True, exist_ok=True)
            for path in sorted(EVENT_DIR.glob("*.h5")):
                shutil.copy(path, incoming / path.name)
                out = process_file(s, incoming / path.name, settings)
                s.commit()
                assert out.status == "processed", out
        # The event's volumes are "now": the latest one ends at the present.
        with self.pg() as conn:
            last = conn.execute("SELECT max(scan_time) FROM radar_volumes").fetchone()[0]
            shift = datetime.now(UTC) - last
            conn.execute("UPDATE radar_volumes SET scan_time = scan_time + %s", (shift,))
            conn.execute("UPDATE cells SET scan_time = scan_time + %s", (shift,))
        client = self.client("commander")
        now = datetime.now(UTC)
        for i in range(3):
            r = client(
                "POST",
                "/api/operations",
                {
                    "cell_id": f"C-BENCH-{i}",
                    "site_code": "LS-01",
                    "window": [
                        (now - timedelta(minutes=1)).isoformat(),
                        (now + timedelta(minutes=30)).isoformat(),
                    ],
                    "azimuth_deg": 10.0,
                    "elevation_deg": 60.0,
                    "quantity": {"37mm_shell": 4},
                    "max_altitude_m": 6000.0,
                },
            )
            assert r.status_code == 201, r.get_json()
        client("POST", f"/api/operations/{r.get_json()['id']}/authorize", {})
        cells = self.client("forecaster")("GET", "/api/cells/latest").get_json()["cells"]
        for cell in cells[:2]:
            r = self.client("forecaster")(
                "POST", f"/api/cells/{cell['record_id']}/warning", {"counties": ["lishi"]}
            )
            assert r.status_code == 201, r.get_json()

    def client(self, role: str, app: Any = None) -> Any:
        c = (app or self.app).test_client()
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}

        def call(method: str, path: str, body: Any = None) -> Any:
            return c.open(path, method=method, json=body, headers=headers)

        return call

    # --- measurements --------------------------------------------------------------------
    def screens(self, n: int = 7) -> dict[str, dict[str, tuple[float, int]]]:
        """Each screen on both databases, requests interleaved (empty, season, empty, ...) so
        the machine's load falls on both alike; one warm-up each, then the median of n."""
        out: dict[str, dict[str, tuple[float, int]]] = {"empty": {}, "season": {}}
        clients = {k: self.client("commander", app) for k, app in self.apps.items()}
        for path in SCREENS:
            runs: dict[str, list[float]] = {k: [] for k in clients}
            sizes: dict[str, int] = {}
            for i in range(n + 1):
                for which, call in clients.items():
                    t0 = time.perf_counter()
                    r = call("GET", path)
                    ms = (time.perf_counter() - t0) * 1000.0
                    assert r.status_code == 200, (which, path, r.status_code)
                    sizes[which] = len(r.data)
                    if i:
                        runs[which].append(ms)
            for which in clients:
                out[which][path] = (statistics.median(runs[which]), sizes[which])
        return out

    def _since(self, count: int | None) -> int:
        from sqlalchemy import func, select

        from command.extensions import get_db
        from command.models import LiveEvent

        with self.app.app_context(), get_db().session() as s:
            last = s.scalar(select(func.max(LiveEvent.seq))) or 0
        return 0 if count is None else max(0, last - count)

    def catch_up(self, count: int | None, runs: int = 5) -> dict[str, tuple[float, int, int, int]]:
        """Socket connect + catch-up through the in-process test client, per event (the old
        path, and still that of clients that do not opt in) and in batches, runs interleaved:
        {path: (median ms, events, bytes, messages)}."""
        from flask_socketio import SocketIOTestClient

        from command.extensions import socketio

        since = self._since(count)
        times: dict[str, list[float]] = {"per event": [], "batched": []}
        seen: dict[str, tuple[int, int, int]] = {}
        for _ in range(runs):
            for path in times:
                batch = path == "batched"
                t0 = time.perf_counter()
                auth = {"token": self.tokens["commander"], "since": since, "batch": batch}
                sock = SocketIOTestClient(self.app, socketio, namespace="/live", auth=auth)
                got, messages = [], 0
                for r in sock.get_received("/live"):
                    if r["name"] == "live.batch":
                        page = r["args"][0]
                        got += page["events"]
                        messages += 1
                    elif r["name"] not in ("hello", "live.sync"):
                        got.append(r["args"][0])
                        messages += 1
                    if r["name"] in ("live.batch", "live.sync"):
                        since_page, more = r["args"][0]["last_seq"], r["args"][0]["more"]
                while more:  # the next pages, as static/js/seq.js asks for them
                    ack = sock.emit(
                        "catchup",
                        {"since": since_page, "batch": batch},
                        namespace="/live",
                        callback=True,
                    )
                    since_page, more = ack["last_seq"], ack["more"]
                    if "events" in ack:  # the page in the reply (a batch client)
                        got += ack["events"]
                        messages += 1
                    for r in sock.get_received("/live"):
                        got.append(r["args"][0])
                        messages += 1
                times[path].append((time.perf_counter() - t0) * 1000.0)
                sock.disconnect(namespace="/live")
                seen[path] = (len(got), sum(len(json.dumps(e)) for e in got), messages)
        assert seen["per event"][:2] == seen["batched"][:2], seen
        return {k: (statistics.median(v), *seen[k]) for k, v in times.items()}

    def catch_up_server(
        self, count: int | None, runs: int = 7
    ) -> tuple[int, dict[str, dict[str, Catch]]]:
        """Socket connect + catch-up against real ``hailops run`` processes on this database
        (websocket transport, python-socketio client): from before connecting until the last
        replayed event has arrived.  Each server is asked per event (the old path, still that
        of clients that do not opt in) and in batches, runs interleaved, median of ``runs``;
        one server alone and, when a Redis server answers (``HAILOPS_BENCH_REDIS``), one on
        the Redis message queue (as in production).  The CPU time of the server and of the
        client is measured too: on this shared machine it moves less with the load than the
        wall time.  Returns (events replayed, {server: {path: Catch}})."""
        from sqlalchemy import select

        from command.extensions import get_db
        from command.live import rooms_for
        from command.models import User
        from command.push import catch_up_page
        from command.testing import HailopsServer

        since = self._since(count)
        with self.app.app_context(), get_db().session() as s:
            user = s.scalar(select(User).where(User.username == "commander"))
            replay, page_since, more = [], since, True
            while more:  # every page the client will be sent
                page = catch_up_page(s, page_since, rooms_for(user))
                replay += page.events
                page_since, more = page.last_seq, page.more
            expected, final_seq = len(replay), (replay[-1].seq if replay else 0)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HAILOPS_")}
        env.update(
            HAILOPS_ENV="test",
            HAILOPS_DATABASE_URL=self.url,
            HAILOPS_INSTANCE_PATH=str(self.tmp / "instance"),
            HAILOPS_SECRET_KEY="bench-secret-key-bench-secret-key",
            HAILOPS_SCHEDULER_ENABLED="false",
            PYART_QUIET="1",
            PYTHONUNBUFFERED="1",
            PYTHONPATH=str(ROOT),
        )
        servers = {"alone": env}
        if self.redis_url:
            servers["Redis queue"] = env | {
                "HAILOPS_MESSAGE_QUEUE": self.redis_url,
                "HAILOPS_MESSAGE_QUEUE_CHANNEL": f"hailops-bench-{os.getpid()}",
            }
        out: dict[str, dict[str, Catch]] = {}
        for name, server_env in servers.items():
            server = HailopsServer(name, server_env, self.tmp / "server.log")
            times: dict[str, list[float]] = {"per event": [], "batched": []}
            cpu: dict[str, list[tuple[float, float]]] = {"per event": [], "batched": []}
            messages: dict[str, int] = {}
            try:
                server.wait_ready()
                for _ in range(runs):
                    for path in times:
                        cpu0, mine0 = _cpu_ms(server.proc.pid), time.process_time()
                        ms, got, n = _socket_catch_up(
                            server.url,
                            self.tokens["commander"],
                            since,
                            final_seq,
                            path == "batched",
                        )
                        cpu[path].append(
                            (
                                _cpu_ms(server.proc.pid) - cpu0,
                                (time.process_time() - mine0) * 1000.0,
                            )
                        )
                        assert got >= expected, (name, path, got, expected)
                        times[path].append(ms)
                        messages[path] = n
            finally:
                server.stop()
            out[name] = {
                k: Catch(
                    statistics.median(v),
                    messages[k],
                    statistics.median(c[0] for c in cpu[k]),
                    statistics.median(c[1] for c in cpu[k]),
                )
                for k, v in times.items()
            }
        return expected, out

    def verify(self, full: bool) -> tuple[float, int]:
        from command import audit
        from command.extensions import get_db

        with self.app.app_context(), get_db().session() as s:
            t0 = time.perf_counter()
            result = audit.verify(s, full=full)
            s.commit()
            ms = (time.perf_counter() - t0) * 1000.0
        assert result.ok, result
        return ms, result.checked

    # --- the season ----------------------------------------------------------------------
    def fill(self) -> dict[str, int]:
        from command import audit
        from command.models import AuditRecord

        n = self.n_volumes
        with self.pg() as conn:
            vols = conn.execute(
                "SELECT id, sha256, filename, radar::text, levels::text, "
                "products::text, tracks::text, processing_ms, scan_time "
                "FROM radar_volumes ORDER BY id"
            ).fetchall()
            cells = {
                v[0]: conn.execute(
                    "SELECT cell_id, track_id, feature::text, hail FROM cells "
                    "WHERE volume_id = %s ORDER BY id",
                    (v[0],),
                ).fetchall()
                for v in vols
            }
            ev_rows = conn.execute(
                "SELECT event, rooms::text, payload::text FROM live_events "
                "WHERE event IN ('volume.new', 'operation.update', 'warning.issue')"
            ).fetchall()
            op_row = conn.execute(
                "SELECT cell_id, site_code, county, data::text FROM operations LIMIT 1"
            ).fetchone()
            head = conn.execute("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()[0]
            audit_start = conn.execute("SELECT max(id) FROM audit_log").fetchone()[0]
            end = min(v[8] for v in vols) - timedelta(days=1)
            # Volumes and their cells: every 6 minutes back from a day before the present.
            n_cells = 0
            with conn.cursor().copy(
                "COPY radar_volumes (id, sha256, filename, status, scan_time, "
                "radar, levels, products, tracks, processing_ms, received_at) "
                "FROM STDIN"
            ) as cp:
                for i in range(1, n + 1):
                    v = vols[i % len(vols)]
                    scan = end - STEP * (n - i)
                    cp.write_row(
                        (
                            i,
                            f"{i:064x}",
                            f"h{i}_{v[2]}",
                            "processed",
                            scan,
                            v[3],
                            v[4],
                            v[5],
                            v[6],
                            v[7],
                            scan,
                        )
                    )
            with conn.cursor().copy(
                "COPY cells (id, volume_id, cell_id, track_id, scan_time, "
                "feature, hail, review) FROM STDIN"
            ) as cp:
                for i in range(1, n + 1):
                    v = vols[i % len(vols)]
                    scan = end - STEP * (n - i)
                    for cell_id, track_id, feature, hail in cells[v[0]]:
                        n_cells += 1
                        cp.write_row(
                            (
                                n_cells,
                                i,
                                f"{cell_id}-h{i}",
                                f"{track_id}-h{i // 10}",
                                scan,
                                feature,
                                hail,
                                "new",
                            )
                        )
            # Finished operations (history), older than a week.
            n_ops = max(10, int(SEASON["operations"] * self.scale))
            data = json.loads(op_row[3])
            with conn.cursor().copy(
                "COPY operations (id, cell_id, site_code, county, state, data, "
                "version, created_at, updated_at) FROM STDIN"
            ) as cp:
                for i in range(n_ops):
                    state = ("completed", "expired", "denied", "cancelled")[i % 4]
                    at = end - timedelta(days=7) - STEP * 10 * i
                    d = dict(data, id=f"OP-H{i:06d}", state=state)
                    cp.write_row(
                        (d["id"], op_row[0], op_row[1], op_row[2], state, json.dumps(d), 5, at, at)
                    )
            # Live events: the real payloads, over the season.
            n_events = max(100, int(SEASON["events"] * self.scale))
            with conn.cursor().copy(
                "COPY live_events (at, event, rooms, payload) FROM STDIN"
            ) as cp:
                for i in range(n_events):
                    name, rooms, payload = ev_rows[i % len(ev_rows)]
                    cp.write_row((end - STEP * (n_events - i) / 12, name, rooms, payload))
            # Audit: a valid chain continuing the real one.
            n_audit = max(100, int(SEASON["audit"] * self.scale))
            prev = head
            actions = (
                "volume.ingest",
                "operation.authorize",
                "alert.clearance_pending",
                "operation.report",
                "cell.confirmed",
                "warning.issue",
            )
            with conn.cursor().copy(
                "COPY audit_log (id, at, actor, role, action, object_type, "
                "object_id, before, after, drill_id, prev_hash, hash) "
                "FROM STDIN"
            ) as cp:
                for i in range(n_audit):
                    at = (end - STEP * (n_audit - i) / 5).replace(microsecond=0)
                    rec = AuditRecord(
                        at=at,
                        actor="bench",
                        role="system",
                        action=actions[i % 6],
                        object_type="operation",
                        object_id=f"OP-H{i:06d}",
                        before={"state": "proposed"},
                        after={"state": "authorized", "counties": ["lishi"]},
                        drill_id=None,
                        prev_hash=prev,
                    )
                    rec.hash = audit.record_digest(rec)
                    cp.write_row(
                        (
                            audit_start + 1 + i,
                            at,
                            rec.actor,
                            rec.role,
                            rec.action,
                            rec.object_type,
                            rec.object_id,
                            json.dumps(rec.before),
                            json.dumps(rec.after),
                            None,
                            prev,
                            rec.hash,
                        )
                    )
                    prev = rec.hash
            conn.execute("SELECT setval('audit_log_id_seq', %s)", (audit_start + n_audit,))
            conn.commit()
        with self.pg() as conn:
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE")
        return {
            "volumes": n,
            "cells": n_cells,
            "operations": n_ops,
            "events": n_events,
            "audit": n_audit,
        }

    def append_audit(self, n: int) -> float:
        from command import audit
        from command.extensions import get_db

        t0 = time.perf_counter()
        with self.app.app_context(), get_db().session() as s:
            for i in range(n):
                audit.append(
                    s,
                    actor="bench",
                    role="system",
                    action="bench.step",
                    object_type="operation",
                    object_id=f"NEW{i}",
                    after={"i": i},
                )
                if i % 100 == 99:
                    s.commit()
            s.commit()
        return (time.perf_counter() - t0) * 1000.0


def _socket_catch_up(
    url: str, token: str, since: int, final_seq: int, batch: bool
) -> tuple[float, int, int]:
    """One python-socketio client connecting with ``auth.since`` and, as static/js/seq.js,
    asking for the next pages until none is left; with ``batch`` it opts in to one message
    per page.  Returns (ms until the last replayed event arrived, events, messages)."""
    import threading

    import socketio

    arrived: list[float] = []
    messages = [0]
    done = threading.Event()
    first: list[dict[str, Any]] = []
    synced = threading.Event()

    def took(envs: list[Any]) -> None:
        for env in envs:
            if isinstance(env, dict) and isinstance(env.get("seq"), int):
                arrived.append(time.perf_counter())  # a replayed (stored) event
                if env["seq"] >= final_seq:
                    done.set()

    def on_any(name: str, *args: Any) -> None:
        data = args[0] if args else None
        if name in ("live.sync", "live.batch") and isinstance(data, dict):
            if name == "live.batch":
                messages[0] += 1
                took(data.get("events", []))
            first.append(data)
            synced.set()
        elif name != "hello":
            messages[0] += 1
            took([data])

    client = socketio.Client()
    client.on("*", on_any, namespace="/live")
    t0 = time.perf_counter()
    client.connect(
        url,
        namespaces=["/live"],
        transports=["websocket"],
        wait_timeout=60,
        auth={"token": token, "since": since, "batch": batch},
    )
    # The connect replays one page and says where it stopped (live.sync, or live.batch with
    # the page); the client asks for the next pages until none is left.
    if synced.wait(60) and first[0].get("more"):
        since_page, more = first[0]["last_seq"], True
        while more:
            ack = client.call(
                "catchup", {"since": since_page, "batch": batch}, namespace="/live", timeout=60
            )
            if "events" in ack:
                messages[0] += 1
                took(ack["events"])
            since_page, more = ack["last_seq"], ack["more"]
    if final_seq:
        done.wait(60)
    client.disconnect()
    assert done.is_set() or not final_seq, (len(arrived), final_seq)
    return (
        ((arrived[-1] if arrived else time.perf_counter()) - t0) * 1000.0,
        len(arrived),
        messages[0],
    )


def _cpu_ms(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc (NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


def _redis_url() -> str | None:
    """The Redis server for the message-queue figures, if one answers."""
    url = os.environ.get("HAILOPS_BENCH_REDIS", "redis://127.0.0.1:6379/0")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception:  # noqa: BLE001 - no Redis: those figures are left out
        return None
    return url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--scale",
        type=float,
        default=0.05,
        help="fraction of a season (1 = 40,000 volumes, ~1,000,000 cells)",
    )
    args = parser.parse_args()
    base = os.environ.get("HAILOPS_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
    os.environ.setdefault("PYART_QUIET", "1")
    import logging

    logging.disable(logging.WARNING)
    try:
        import psycopg

        psycopg.connect(_psycopg_url(f"{base}/postgres"), connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001 - no server: report, do not fail make bench
        print(f"skipped: no PostgreSQL at {base} ({type(exc).__name__})")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="hailops-season-"))
    bench = Bench(base, args.scale, tmp)
    bench.redis_url = _redis_url()
    try:
        t0 = time.perf_counter()
        bench.setup()
        empty_catch = bench.catch_up(None)
        empty_served = bench.catch_up_server(None)
        empty_verify = bench.verify(full=True)
        print(f"empty database ready in {time.perf_counter() - t0:.0f} s", flush=True)
        t0 = time.perf_counter()
        bench.clone()
        sizes = bench.fill()
        print(
            f"season at scale {args.scale:g} generated in {time.perf_counter() - t0:.0f} s: "
            + ", ".join(f"{v:,} {k}" for k, v in sizes.items()),
            flush=True,
        )
        bench.make_app("empty")
        measured = bench.screens()
        empty, season = measured["empty"], measured["season"]
        catch = bench.catch_up(1000)
        served = bench.catch_up_server(1000)
        full_ms, full_n = bench.verify(full=True)
        bench.append_audit(1000)
        routine_ms, routine_n = bench.verify(full=False)
    finally:
        try:
            bench.drop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    print(f"\n| request | empty | season (scale {args.scale:g}) | ratio | target 1.5x |")
    print("|---|---|---|---|---|")
    for path in SCREENS:
        (e, es), (s, ss) = empty[path], season[path]
        ratio = s / e if e else float("inf")
        print(
            f"| GET {path} | {e:.0f} ms ({es / 1000:.1f} kB) | {s:.0f} ms ({ss / 1000:.1f} kB) | "
            f"{ratio:.2f}x | {'PASS' if ratio <= 1.5 else 'FAIL'} |"
        )

    def catch_row(label: str, e: Catch, s: Catch, n: tuple[int, int], target: str) -> None:
        def cell(c: Catch, events: int) -> str:
            return (
                f"{c.ms:.0f} ms ({events} events, {c.messages} messages; CPU server "
                f"{c.server_cpu_ms:.0f} ms, client {c.client_cpu_ms:.0f} ms)"
            )

        print(f"| {label} | {cell(e, n[0])} | {cell(s, n[1])} | — | {target} |")

    n_events = (empty_served[0], served[0])
    for server in served[1]:
        where = f"`hailops run`{' on the Redis queue' if server != 'alone' else ''} + websocket"
        old, new = served[1][server]["per event"], served[1][server]["batched"]
        catch_row(
            f"socket connect + catch-up, {where}, per event (clients that do not opt in)",
            empty_served[1][server]["per event"],
            old,
            n_events,
            f"{'PASS' if old.ms < 1000 else 'FAIL'} (< 1 s)",
        )
        catch_row(
            f"socket connect + catch-up, {where}, batched (one message per page)",
            empty_served[1][server]["batched"],
            new,
            n_events,
            f"{'PASS' if new.ms < 1000 else 'FAIL'} (< 1 s); batched / per event = "
            f"{new.ms / old.ms:.2f}x (CPU server + client {new.cpu_ms / old.cpu_ms:.2f}x)",
        )
    if "Redis queue" not in served[1]:
        print(
            "| socket connect + catch-up on the Redis queue | skipped: no Redis at "
            f"{os.environ.get('HAILOPS_BENCH_REDIS', 'redis://127.0.0.1:6379/0')} | | | |"
        )
    for path in ("per event", "batched"):
        (e, en, eb, em), (s_, sn, sb, sm) = empty_catch[path], catch[path]
        ratio = (
            f"batched / per event = {s_ / catch['per event'][0]:.2f}x" if path == "batched" else "—"
        )
        print(
            f"| socket connect + catch-up, in-process test client, {path} | {e:.0f} ms "
            f"({en} events, {eb / 1000:.0f} kB, {em} messages) | {s_:.0f} ms ({sn} events, "
            f"{sb / 1000:.0f} kB, {sm} messages) | — | {ratio} |"
        )
    print(
        f"| audit verify --full | {empty_verify[0]:.0f} ms ({empty_verify[1]} records) | "
        f"{full_ms:.0f} ms ({full_n:,} records) | — | — |"
    )
    print(
        f"| audit verify (routine, after 1,000 new) | — | {routine_ms:.0f} ms ({routine_n:,} "
        f"records) | — | {'PASS' if routine_ms < 2000 else 'FAIL'} (< 2 s) |"
    )
    load = os.getloadavg()
    print(
        f"\nload average while measuring: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
        f"on {os.cpu_count()} CPUs (absolute times scale with it; ratios are interleaved)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
