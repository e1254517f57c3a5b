"""Benchmark: which production server — gunicorn threads + simple-websocket, or gevent
(issue 12, "measure and choose", following Flask-SocketIO's deployment guide).

Each arm is one web process (web only, as behind the proxy in production; the same prepared
database; the Redis message queue when Redis answers, as in production):

* ``gthread`` — the production default, ``hailops serve`` (gunicorn, one worker of the
  threaded class with ``--threads 100``; WebSocket through simple-websocket; no patching).
* ``gthread-400`` — the same with ``--threads 400`` (each open WebSocket holds a thread of
  gthread's pool, so the pool size caps the sockets a process can hold).
* ``gevent`` — ``gunicorn -k gevent -w 1 --worker-connections 1000 wsgi:app`` with
  ``HAILOPS_SOCKETIO_ASYNC_MODE=gevent`` (the worker monkey-patches the standard library
  before it imports the app; WebSocket through simple-websocket's gevent mode).

Measured against each, from this process (python-socketio ``AsyncClient``s and aiohttp on
one asyncio loop, API tokens, loopback only, every loop bounded in count and time):

1. ``--clients`` (80) Socket.IO clients connect to ``/live`` (websocket transport): time.
2. ``--events`` (10) broadcast status changes (``PATCH /api/sites/<code>/readiness``), each
   sent alone once the previous one reached every client: receipt latency p50/p95, PATCH
   round trip.
3. HTTP while those sockets stay open: ``--http-workers`` (16) concurrent loops of GET
   ``/api/sites``, ``/api/volumes``, ``/healthz`` for ``--http-seconds`` (6): requests/s,
   p50/p95, errors.
4. Capacity: ``--extra`` (40) more clients (120 in all, beyond gthread's 100 threads): how
   many connect within 15 s, and whether ``/healthz`` still answers within 5 s.

Prints each figure for every arm and each arm's ratio to ``gthread`` (the production default,
measured in the same run against the same database; with ``--rounds N`` each round starts
with another arm).  Exits 0 whatever
the figures; 1 only when a server cannot be started.  If gevent is not installed, the gevent
arm is reported as not run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import redis

from command.testing import HOST, ROOT, free_port, hailops_command

sys.path.insert(0, str(ROOT))
from bench.bench_live import (  # noqa: E402
    READERS,
    SENDER,
    Fanout,
    connect_all,
    deployment_env,
    disconnect_all,
    hailops,
    latencies_ms,
    make_clients,
    site_codes,
    summary,
)

REDIS_URL = "redis://127.0.0.1:6379/4"
RECEIVE_TIMEOUT_S = 5.0
GAP_S = 0.2
CAPACITY_WAIT_S = 15.0
HEALTH_TIMEOUT_S = 5.0
HTTP_PATHS = ("/api/sites", "/api/volumes", "/healthz")


class WebProcess:
    """One web server process of an arm; its log goes to ``log_path``."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log_path = log_path
        argv = [a.replace("{port}", str(self.port)) for a in argv]
        with log_path.open("w") as log:
            self.proc = subprocess.Popen(
                argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )

    async def wait_ready(self, http: aiohttp.ClientSession, timeout_s: float = 120.0) -> None:
        """Until ``/healthz`` answers (gunicorn listens before its worker has the app)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited ({self.proc.returncode}):\n"
                    + self.log_path.read_text(errors="replace")[-3000:]
                )
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, OSError):
                async with http.get(
                    self.url + "/healthz", timeout=aiohttp.ClientTimeout(total=2)
                ) as resp:
                    await resp.read()
                    return
            await asyncio.sleep(0.3)
        raise RuntimeError(f"{self.name} not answering after {timeout_s:.0f} s")

    def resources(self) -> dict[str, float]:
        """Threads and resident memory of the process and its children (gunicorn's worker)."""
        pids = [self.proc.pid]
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
            pids += [int(p) for p in children.split()]
        threads, rss_kb = 0, 0
        for pid in pids:
            with contextlib.suppress(OSError, KeyError, ValueError):
                status = Path(f"/proc/{pid}/status").read_text().splitlines()
                fields = dict(line.split(":", 1) for line in status if ":" in line)
                threads += int(fields["Threads"])
                rss_kb += int(fields["VmRSS"].split()[0])
        return {"threads": threads, "rss_mb": rss_kb / 1024}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def error_lines(self) -> list[str]:
        return [
            line.strip()
            for line in self.log_path.read_text(errors="replace").splitlines()
            if any(m in line for m in ("Traceback", "[ERROR]", " ERROR ", "CRITICAL"))
        ]


def arms(env: dict[str, str], workdir: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    venv_bin = Path(sys.executable).parent
    gunicorn = str(venv_bin / "gunicorn") if (venv_bin / "gunicorn").exists() else "gunicorn"
    serve = [*hailops_command(), "serve", "--host", HOST, "--port", "{port}", "--threads"]
    return {
        "gthread": ([*serve, "100"], env),  # the production default
        "gthread-400": ([*serve, "400"], env),
        "gevent": (
            [
                gunicorn,
                "-k",
                "gevent",
                "-w",
                "1",
                "--worker-connections",
                "1000",
                "-b",
                f"{HOST}:{{port}}",
                "--timeout",
                "60",
                "--graceful-timeout",
                "20",
                "--keep-alive",
                "5",
                "--log-level",
                "warning",
                "wsgi:app",
            ],
            env | {"HAILOPS_SOCKETIO_ASYNC_MODE": "gevent"},
        ),
    }


# --- measurements ----------------------------------------------------------------------------
async def broadcast(
    http: aiohttp.ClientSession,
    server: WebProcess,
    token: str,
    key: tuple[str, str],
    fanout: Fanout,
    expected: int,
) -> float:
    code, readiness = key
    fanout.arm(key, expected)
    t0 = time.perf_counter()
    async with http.patch(
        f"{server.url}/api/sites/{code}/readiness",
        json={"readiness": readiness},
        headers={"Authorization": f"Bearer {token}"},
    ) as resp:
        await resp.read()
        fanout.http_ms.append((time.perf_counter() - t0) * 1000.0)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(fanout.done.wait(), RECEIVE_TIMEOUT_S)
    await asyncio.sleep(GAP_S)
    return t0


async def http_load(
    http: aiohttp.ClientSession, server: WebProcess, token: str, workers: int, seconds: float
) -> dict[str, Any]:
    """``workers`` concurrent request loops for ``seconds``: throughput and latency."""
    stop_at = time.monotonic() + seconds
    latencies: list[float] = []
    errors = 0

    async def loop(i: int) -> None:
        nonlocal errors
        n = i
        while time.monotonic() < stop_at:
            path = HTTP_PATHS[n % len(HTTP_PATHS)]
            n += 1
            t0 = time.perf_counter()
            try:
                async with http.get(
                    server.url + path,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=aiohttp.ClientTimeout(total=10),
                ) as resp:
                    await resp.read()
                    if resp.status >= 500 or resp.status == 429:
                        errors += 1
                        continue
            except (aiohttp.ClientError, TimeoutError, OSError):
                errors += 1
                continue
            latencies.append((time.perf_counter() - t0) * 1000.0)

    started = time.perf_counter()
    await asyncio.gather(*(loop(i) for i in range(workers)))
    elapsed = time.perf_counter() - started
    return {
        "rps": len(latencies) / elapsed,
        "lat": summary(latencies),
        "errors": errors,
        "n": len(latencies),
    }


async def health_ms(http: aiohttp.ClientSession, server: WebProcess) -> float | None:
    t0 = time.perf_counter()
    try:
        async with http.get(
            server.url + "/healthz", timeout=aiohttp.ClientTimeout(total=HEALTH_TIMEOUT_S)
        ) as resp:
            await resp.read()
    except (aiohttp.ClientError, TimeoutError, OSError):
        return None
    return (time.perf_counter() - t0) * 1000.0


async def measure(
    server: WebProcess,
    tokens: dict[str, str],
    codes: list[str],
    args: argparse.Namespace,
    run_no: int,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    fanout = Fanout()
    connector = aiohttp.TCPConnector(limit=args.http_workers + 8)
    async with aiohttp.ClientSession(connector=connector) as http:
        await server.wait_ready(http)
        clients = make_clients(server, tokens, args.clients, fanout)
        out["connect_s"] = await connect_all(clients)
        live = [c for c in clients if c.connected]
        out["connected"] = len(live)
        await asyncio.sleep(1.0)
        # Every measured run really changes the sites' readiness (alternately).
        readiness = ("ready", "standby")[run_no % 2]
        await broadcast(http, server, tokens[SENDER], (codes[-1], readiness), fanout, len(live))
        fanout.http_ms.clear()
        sent = {}
        for code in codes[: args.events]:
            key = (code, readiness)
            sent[key] = await broadcast(http, server, tokens[SENDER], key, fanout, len(live))
        got, missing = latencies_ms(live, sent)
        out["push"], out["push_missing"] = summary(got), missing
        out["patch"] = summary(fanout.http_ms)
        out["http"] = await http_load(
            http, server, tokens["commander"], args.http_workers, args.http_seconds
        )
        out["resources"] = server.resources()
        # Capacity: more clients than gthread has threads.
        extra = make_clients(server, tokens, args.extra, fanout)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(connect_all(extra), CAPACITY_WAIT_S)
        out["extra_connected"] = sum(c.connected for c in extra)
        out["health_ms_full"] = await health_ms(http, server)
        await asyncio.wait_for(disconnect_all(extra + clients), 60)
    return out


# --- report ----------------------------------------------------------------------------------
def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or not np.isfinite(a) or not np.isfinite(b) or b == 0:
        return "n/a"
    return f"{a / b:.2f}"


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    """One column per arm, then each arm's ratio to the production default (gthread)."""
    names = list(results)
    others = [n for n in names if n != "gthread"]
    print(
        f"  {'':38s}"
        + "".join(f"{n:>13s}" for n in names)
        + "".join(f"{n + '/gthread':>20s}" for n in others)
    )

    def row(label: str, key: Any, fmt: str = "{:.1f}") -> None:
        values = {n: key(results[n]) for n in names}
        cells = "".join(
            f"{'n/a' if values[n] is None else fmt.format(values[n]):>13s}" for n in names
        )
        ratios = "".join(f"{ratio(values[n], values.get('gthread')):>20s}" for n in others)
        print(f"  {label:38s}{cells}{ratios}")

    row(f"connect {args.clients} clients (s)", lambda x: x["connect_s"], "{:.2f}")
    row("  connected", lambda x: x["connected"], "{:.0f}")
    row("push to every client p50 (ms)", lambda x: x["push"]["p50"])
    row("push to every client p95 (ms)", lambda x: x["push"]["p95"])
    row("  receipts missing", lambda x: x["push_missing"], "{:.0f}")
    row("PATCH round trip p50 (ms)", lambda x: x["patch"]["p50"])
    row(f"HTTP GET, {args.http_workers} loops: req/s", lambda x: x["http"]["rps"])
    row("HTTP GET p50 (ms)", lambda x: x["http"]["lat"]["p50"])
    row("HTTP GET p95 (ms)", lambda x: x["http"]["lat"]["p95"])
    row("  HTTP errors", lambda x: x["http"]["errors"], "{:.0f}")
    row("threads (process + worker)", lambda x: x["resources"]["threads"], "{:.0f}")
    row("RSS (MB, process + worker)", lambda x: x["resources"]["rss_mb"], "{:.0f}")
    row(f"{args.extra} more clients: connected", lambda x: x["extra_connected"], "{:.0f}")
    row(f"  then /healthz (ms; n/a = > {HEALTH_TIMEOUT_S:g} s)", lambda x: x["health_ms_full"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=80)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--http-workers", type=int, default=16)
    parser.add_argument("--http-seconds", type=float, default=6.0)
    parser.add_argument("--extra", type=int, default=40)
    parser.add_argument(
        "--rounds", type=int, default=1, help="measure each arm this many times, alternating"
    )
    parser.add_argument(
        "--database-url", default=None, help="an empty PostgreSQL database to use instead of SQLite"
    )
    parser.add_argument("--no-redis", action="store_true")
    parser.add_argument(
        "--arms", default="gthread,gthread-400,gevent", help="comma-separated, gthread first"
    )
    parser.add_argument("--keep", action="store_true", help="keep the logs and database")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="hailops-bench-server-"))
    try:
        env = deployment_env(workdir) | {"HAILOPS_SCHEDULER_ENABLED": "false"}
        if args.database_url:
            env["HAILOPS_DATABASE_URL"] = args.database_url
        hailops(env, "db", "upgrade")
        hailops(env, "seed", "--demo-accounts")
        tokens = {
            user: hailops(env, "users", "token", user, "--name", "bench").strip()
            for user in (*READERS, SENDER)
        }
        mq = "none (one process)"
        if not args.no_redis:
            try:
                redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
                env |= {
                    "HAILOPS_MESSAGE_QUEUE": REDIS_URL,
                    "HAILOPS_MESSAGE_QUEUE_CHANNEL": f"hailops-bench-server-{os.getpid()}",
                }
                mq = f"Redis {REDIS_URL}"
            except redis.RedisError:
                pass
        codes = site_codes(env)
        args.events = min(args.events, len(codes) - 1)
        try:
            import gevent  # noqa: F401

            have_gevent = True
        except ImportError:
            have_gevent = False
        db = "PostgreSQL" if env["HAILOPS_DATABASE_URL"].startswith("postgresql") else "SQLite"
        print(
            f"== one web process per arm, {db}, message queue {mq}; {args.clients} clients, "
            f"{args.events} broadcasts, {args.http_workers} HTTP loops x "
            f"{args.http_seconds:g} s, +{args.extra} clients; load avg "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        results: dict[str, list[dict[str, Any]]] = {}
        run_no = 0
        for round_no in range(max(1, args.rounds)):
            order = list(arms(env, workdir).items())
            shift = round_no % len(order)  # each round starts with another arm (order effects)
            for name, (argv_, arm_env) in order[shift:] + order[:shift]:
                if name not in args.arms.split(",") or (name == "gevent" and not have_gevent):
                    continue
                server = WebProcess(name, argv_, arm_env, workdir / f"{name}-{round_no}.log")
                run_no += 1
                try:
                    results.setdefault(name, []).append(
                        asyncio.run(measure(server, tokens, codes, args, run_no))
                    )
                except RuntimeError as exc:
                    print(f"bench_server: {exc}", file=sys.stderr)
                    return 1
                finally:
                    server.stop()
                problems = server.error_lines()
                if problems:
                    print(
                        f"  {name}: {len(problems)} error lines in its log, e.g. "
                        f"{problems[0][:160]}"
                    )
        if not have_gevent:
            print("  gevent arm not run: gevent is not installed (pip install gevent)")
        for round_no in range(max(1, args.rounds)):
            print(f"-- round {round_no + 1}")
            report({n: r[round_no] for n, r in results.items()}, args)
    finally:
        if args.keep:
            print(f"  kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        print(f"  ({time.perf_counter() - started:.0f} s; readers {', '.join(READERS)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
