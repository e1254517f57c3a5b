"""Benchmark: a broadcast status change reaching 200 live Socket.IO clients (issue 6, "Scale").

Target: with the server on this machine, 200 clients connected to ``/live`` receive a
broadcast ``site.status`` with p95 latency <= 250 ms.  One receipt's latency runs from just
before ``PATCH /api/sites/<code>/readiness`` is sent to the moment that client's handler runs;
the clients and the clock live in this process, the server is a separate ``hailops run``.  It
therefore includes the HTTP request, the commit (site row, audit record, event row) and the
fan-out to every socket — what an operator waiting for the map to turn would see.

Phase 1 — one server process, SQLite in a temporary directory.  Reference first, in the same
run and against the same server: the same status changes with one connected client.  Then 200
clients.  Prints p50/p95/max, p95 / 250 ms with PASS/FAIL, and the ratio to the reference, so
the figure says what the fan-out costs on this machine and not only how fast the machine is.

Phase 2 — two server processes sharing the database and joined through the Redis message
queue, 100 clients on each; status changes sent alternately through A and through B.  Prints
per process whether every client received every event, and p95 latency per route (A->B ...).

Clients: python-socketio ``AsyncClient`` on one asyncio loop (websocket transport, API tokens
from ``hailops users token``), spread over the roles that join room ``all``; the admin sends.
Each status change is sent alone (the next one waits until every client has it, or 5 s) so a
fan-out is never measured on top of the previous one.

``--demo`` serves with ``hailops run --demo``: the demo drill (real radar processing) then runs
beside the measurement.  By default it does not, so the figure is repeatable.

Exits 0 whatever the figures (``make bench`` reports, CI tests); exits 1 only when a server
process cannot be started.
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
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import redis
import socketio

from command.testing import ROOT, HailopsServer, ServerStartError, hailops_command

NAMESPACE = "/live"

TARGET_MS = 250.0
N_CLIENTS = 200
N_EVENTS = 20
GAP_S = 0.25  # quiet time between two status changes
RECEIVE_TIMEOUT_S = 5.0  # a receipt later than this counts as missing
BUDGET_S = 150.0  # whole run, so that `make bench` ends in < 3 min even when receipts go missing
_deadline = time.monotonic() + BUDGET_S


def remaining_s() -> float:
    return _deadline - time.monotonic()
CONNECT_BATCH = 20  # connections opened at once (each one commits the token's last use)
REDIS_URL = "redis://127.0.0.1:6379/5"
READERS = ("commander", "forecaster", "atc", "military", "member")  # all join room `all`
SENDER = "admin"


ServerError = ServerStartError  # a process did not come up (the message has its log tail)


def deployment_env(workdir: Path) -> dict[str, str]:
    """The environment of every process of the benchmark's deployment (nothing inherited
    from the caller's ``HAILOPS_*``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAILOPS_")}
    env.update(
        HAILOPS_ENV="demo",
        HAILOPS_DATABASE_URL=f"sqlite:///{workdir / 'hailops.sqlite3'}",
        HAILOPS_INSTANCE_PATH=str(workdir / "instance"),
        PYART_QUIET="1",
        PYTHONUNBUFFERED="1",
    )
    return env


def hailops(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([*hailops_command(), *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise ServerError(f"hailops {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


class Server(HailopsServer):
    """One ``hailops run`` process of the benchmark, with its resource figures."""

    def __init__(self, name: str, env: dict[str, str], log_path: Path, demo: bool) -> None:
        super().__init__(name, env, log_path, ("--demo",) if demo else ())

    def resources(self) -> str:
        """Threads, resident memory and open descriptors of the server process (Linux)."""
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text().splitlines()
            fields = dict(line.split(":", 1) for line in status if ":" in line)
            fds = len(os.listdir(f"/proc/{self.proc.pid}/fd"))
        except OSError:
            return "resources unavailable"
        rss_mb = int(fields["VmRSS"].split()[0]) / 1024
        return f"{fields['Threads'].strip()} threads, RSS {rss_mb:.0f} MB, {fds} open fds"

    def problems(self) -> list[str]:
        """Log lines that are errors or tracebacks (the dev-server banner is expected)."""
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if any(m in line for m in ("Traceback", " ERROR ", " CRITICAL ", "Exception",
                                       "Error:")):
                out.append(line.strip())
        return out


@contextlib.contextmanager
def running(servers: list[Server]) -> Iterator[list[Server]]:
    try:
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        for server in servers:
            server.stop()


# --- clients ---------------------------------------------------------------------------------
class Fanout:
    """Counts the receipts of the status change in flight; wakes the sender when all are in."""

    def __init__(self) -> None:
        self.key: tuple[str, str] | None = None
        self.expected = 0
        self.count = 0
        self.done = asyncio.Event()
        self.http_ms: list[float] = []  # PATCH round trips (request, commit, response)

    def arm(self, key: tuple[str, str], expected: int) -> None:
        self.key, self.expected, self.count = key, expected, 0
        self.done.clear()

    def hit(self, key: tuple[str, str]) -> None:
        if key == self.key:
            self.count += 1
            if self.count >= self.expected:
                self.done.set()


class LiveClient:
    """A machine client of ``/live`` that timestamps every ``site.status`` it receives."""

    def __init__(self, server: Server, token: str, fanout: Fanout) -> None:
        self.server = server
        self.token = token
        self.fanout = fanout
        self.received: dict[tuple[str, str], float] = {}
        self.duplicates = 0
        self.other: Counter[str] = Counter()
        self.error: str | None = None
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("site.status", self._on_status, namespace=NAMESPACE)
        self.sio.on("*", self._on_other, namespace=NAMESPACE)

    def _on_status(self, env: dict[str, Any]) -> None:
        now = time.perf_counter()
        key = (env["data"]["code"], env["data"]["readiness"])
        if key in self.received:
            self.duplicates += 1
            return
        self.received[key] = now
        self.fanout.hit(key)

    def _on_other(self, event: str, _env: Any = None) -> None:
        self.other[event] += 1

    async def connect(self) -> None:
        try:
            await self.sio.connect(self.server.url, namespaces=[NAMESPACE],
                                   auth={"token": self.token}, transports=["websocket"],
                                   wait_timeout=15)
        except (socketio.exceptions.ConnectionError, OSError, TimeoutError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"

    @property
    def connected(self) -> bool:
        return self.error is None and self.sio.connected

    async def disconnect(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.sio.disconnect(), 5)


async def connect_all(clients: list[LiveClient]) -> float:
    t0 = time.perf_counter()
    for i in range(0, len(clients), CONNECT_BATCH):
        await asyncio.gather(*(c.connect() for c in clients[i:i + CONNECT_BATCH]))
    return time.perf_counter() - t0


async def disconnect_all(clients: list[LiveClient]) -> None:
    for i in range(0, len(clients), CONNECT_BATCH):
        await asyncio.gather(*(c.disconnect() for c in clients[i:i + CONNECT_BATCH]))


def make_clients(server: Server, tokens: dict[str, str], n: int, fanout: Fanout) -> list[LiveClient]:
    return [LiveClient(server, tokens[READERS[i % len(READERS)]], fanout) for i in range(n)]


# --- status changes and figures --------------------------------------------------------------
async def change_status(http: aiohttp.ClientSession, via: Server, token: str, key: tuple[str, str],
                        fanout: Fanout, expected: int) -> float:
    """Send one status change through ``via``; returns the send time.  Returns once every
    expected client has it (or after the receive timeout) and a short quiet gap."""
    code, readiness = key
    fanout.arm(key, expected)
    t0 = time.perf_counter()
    async with http.patch(f"{via.url}/api/sites/{code}/readiness", json={"readiness": readiness},
                          headers={"Authorization": f"Bearer {token}"}) as resp:
        body = await resp.text()
        fanout.http_ms.append((time.perf_counter() - t0) * 1000.0)
        if resp.status != 200:
            print(f"  PATCH {code} via {via.name}: HTTP {resp.status} {body[:200]}")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(fanout.done.wait(), max(0.1, min(RECEIVE_TIMEOUT_S, remaining_s())))
    await asyncio.sleep(GAP_S)
    return t0


def latencies_ms(clients: list[LiveClient], sent: dict[tuple[str, str], float]) -> tuple[list[float], int]:
    got, missing = [], 0
    for client in clients:
        for key, t0 in sent.items():
            if key in client.received:
                got.append((client.received[key] - t0) * 1000.0)
            else:
                missing += 1
    return got, missing


def spread_ms(clients: list[LiveClient], sent: dict[tuple[str, str], float]) -> list[float]:
    """Per status change: first to last receipt over all clients (the fan-out's own cost)."""
    out = []
    for key in sent:
        times = [c.received[key] for c in clients if key in c.received]
        if times:
            out.append((max(times) - min(times)) * 1000.0)
    return out


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "max": float("nan")}
    arr = np.asarray(values)
    return {"p50": float(np.percentile(arr, 50)), "p95": float(np.percentile(arr, 95)),
            "max": float(arr.max())}


def fmt(s: dict[str, float]) -> str:
    return f"p50 {s['p50']:7.1f} ms   p95 {s['p95']:7.1f} ms   max {s['max']:7.1f} ms"


def report_connections(label: str, clients: list[LiveClient], seconds: float) -> None:
    ok = sum(c.connected for c in clients)
    print(f"  {label}: {ok}/{len(clients)} connected in {seconds:.1f} s")
    errors = Counter(c.error for c in clients if c.error)
    for error, n in errors.most_common(3):
        print(f"    {n} x {error}")


# --- phases ----------------------------------------------------------------------------------
async def phase_one(server: Server, tokens: dict[str, str], codes: list[str], n_clients: int,
                    n_events: int) -> dict[str, Any]:
    fanout = Fanout()
    async with aiohttp.ClientSession() as http:
        # Reference: one client, same server, same status changes.
        ref = make_clients(server, tokens, 1, fanout)
        report_connections("reference", ref, await connect_all(ref))
        await change_status(http, server, tokens[SENDER], (codes[-1], "standby"), fanout, 1)
        sent = {}
        for code in codes[:n_events]:
            if remaining_s() < 0:
                print(f"  time budget ({BUDGET_S:.0f} s) spent: stopped after {len(sent)} changes")
                break
            key = (code, "standby")
            sent[key] = await change_status(http, server, tokens[SENDER], key, fanout, len(ref))
        ref_ms, ref_missing = latencies_ms(ref, sent)
        ref_http = summary(fanout.http_ms[1:])
        await disconnect_all(ref)

        clients = make_clients(server, tokens, n_clients, fanout)
        report_connections(f"{n_clients} clients", clients, await connect_all(clients))
        await asyncio.sleep(1.0)  # let the connect-time commits settle
        print(f"  server with {n_clients} clients: {server.resources()}")
        live = [c for c in clients if c.connected]
        await change_status(http, server, tokens[SENDER], (codes[-1], "ready"), fanout, len(live))
        fanout.http_ms.clear()
        sent = {}
        for code in codes[:n_events]:
            if remaining_s() < 0:
                print(f"  time budget ({BUDGET_S:.0f} s) spent: stopped after {len(sent)} changes")
                break
            key = (code, "ready")
            sent[key] = await change_status(http, server, tokens[SENDER], key, fanout, len(live))
        many_ms, many_missing = latencies_ms(clients, sent)
        many_http, many_spread = summary(fanout.http_ms), summary(spread_ms(clients, sent))
        duplicates = sum(c.duplicates for c in clients)
        others = sum((c.other for c in clients), Counter())
        await disconnect_all(clients)
    return {"ref": summary(ref_ms), "ref_n": len(ref_ms), "ref_missing": ref_missing,
            "many": summary(many_ms), "many_n": len(many_ms), "many_missing": many_missing,
            "duplicates": duplicates, "others": others, "ref_http": ref_http,
            "many_http": many_http, "many_spread": many_spread}


async def phase_two(a: Server, b: Server, tokens: dict[str, str], codes: list[str],
                    n_per_server: int, n_events: int) -> dict[str, Any]:
    fanout = Fanout()
    async with aiohttp.ClientSession() as http:
        on = {a.name: make_clients(a, tokens, n_per_server, fanout),
              b.name: make_clients(b, tokens, n_per_server, fanout)}
        for name, clients in on.items():
            report_connections(f"process {name}", clients, await connect_all(clients))
        await asyncio.sleep(1.0)
        for server in (a, b):
            print(f"  server {server.name} with {n_per_server} clients: {server.resources()}")
        everyone = [c for clients in on.values() for c in clients]
        expected = sum(c.connected for c in everyone)
        for i, via in enumerate((a, b)):  # warm-up through each process (not measured)
            await change_status(http, via, tokens[SENDER], (codes[-1 - i], "offline"), fanout,
                                expected)
        sent: dict[str, dict[tuple[str, str], float]] = {a.name: {}, b.name: {}}
        for i, code in enumerate(codes[:n_events]):
            if remaining_s() < 0:
                print(f"  time budget ({BUDGET_S:.0f} s) spent: stopped after {i} changes")
                break
            via = a if i % 2 == 0 else b
            key = (code, "standby")
            sent[via.name][key] = await change_status(http, via, tokens[SENDER], key, fanout,
                                                      expected)
        result: dict[str, Any] = {"routes": {}, "processes": {}}
        all_ms: list[float] = []
        for dest, clients in on.items():
            n_sent = sum(len(s) for s in sent.values())
            missed_clients = sum(1 for c in clients
                                 if any(k not in c.received for s in sent.values() for k in s))
            received = sum(1 for c in clients for s in sent.values() for k in s
                           if k in c.received)
            result["processes"][dest] = {"clients": len(clients),
                                         "connected": sum(c.connected for c in clients),
                                         "expected": len(clients) * n_sent,
                                         "received": received, "clients_missing": missed_clients,
                                         "duplicates": sum(c.duplicates for c in clients)}
            for origin, keys in sent.items():
                ms, missing = latencies_ms(clients, keys)
                all_ms += ms
                result["routes"][f"{origin}->{dest}"] = (summary(ms), len(ms), missing)
        result["all"] = summary(all_ms)
        await disconnect_all(everyone)
    return result


# --- main ------------------------------------------------------------------------------------
def prepare(workdir: Path) -> tuple[dict[str, str], dict[str, str]]:
    env = deployment_env(workdir)
    hailops(env, "db", "upgrade")
    hailops(env, "seed", "--demo-accounts")
    tokens = {user: hailops(env, "users", "token", user, "--name", "bench").strip()
              for user in (*READERS, SENDER)}
    return env, tokens


def site_codes(env: dict[str, str]) -> list[str]:
    """The registry's site codes, read from the database the servers will use."""
    from sqlalchemy import create_engine, text

    engine = create_engine(env["HAILOPS_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return sorted(conn.execute(text("SELECT code FROM sites")).scalars())
    finally:
        engine.dispose()


def print_problems(servers: list[Server]) -> None:
    for server in servers:
        problems = server.problems()
        print(f"  server {server.name} log: {len(problems)} error lines (--keep keeps the logs)")
        for line in problems[:8]:
            print(f"    {line[:200]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=N_CLIENTS)
    parser.add_argument("--events", type=int, default=N_EVENTS)
    parser.add_argument("--demo", action="store_true", help="serve with `hailops run --demo`")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, database)")
    args = parser.parse_args(argv)
    n_clients, n_events = max(2, args.clients), max(1, args.events)

    global _deadline
    started = time.perf_counter()
    _deadline = time.monotonic() + BUDGET_S
    workdir = Path(tempfile.mkdtemp(prefix="hailops-bench-live-"))
    try:
        env, tokens = prepare(workdir)
        codes = site_codes(env)
        n_events = min(n_events, len(codes) - 2)  # two codes kept for warm-ups

        print(f"== phase 1: one server (SQLite), reference 1 client, then {n_clients} clients, "
              f"{n_events} broadcast status changes{' (--demo)' if args.demo else ''}")
        one = Server("single", env, workdir / "single.log", args.demo)
        with running([one]):
            p1 = asyncio.run(phase_one(one, tokens, codes, n_clients, n_events))
        print(f"  reference, 1 client:  {fmt(p1['ref'])}   ({p1['ref_n']} receipts, "
              f"{p1['ref_missing']} missing)")
        print(f"  {n_clients} clients:        {fmt(p1['many'])}   ({p1['many_n']} receipts, "
              f"{p1['many_missing']} missing, {p1['duplicates']} duplicates)")
        ratio = p1["many"]["p95"] / TARGET_MS
        ok = ratio <= 1.0 and p1["many_missing"] == 0
        print(f"  p95 / {TARGET_MS:.0f} ms = {ratio:.2f}  {'PASS' if ok else 'FAIL'}"
              + ("" if p1["many_missing"] == 0 else "  (receipts missing)"))
        print(f"  p95 / reference p95 = {p1['many']['p95'] / p1['ref']['p95']:.1f}x   "
              f"p50 / reference p50 = {p1['many']['p50'] / p1['ref']['p50']:.1f}x")
        print(f"  where the time goes: PATCH round trip (request + commit) with 1 client "
              f"p50 {p1['ref_http']['p50']:.1f} / max {p1['ref_http']['max']:.1f} ms, with "
              f"{n_clients} p50 {p1['many_http']['p50']:.1f} / max {p1['many_http']['max']:.1f} ms; "
              f"fan-out first-to-last receipt p50 {p1['many_spread']['p50']:.1f} / "
              f"max {p1['many_spread']['max']:.1f} ms")
        if p1["others"]:
            print(f"  other events received: {dict(p1['others'])}")
        print_problems([one])

        print(f"== phase 2: two servers joined through Redis ({REDIS_URL}), "
              f"{n_clients // 2} clients on each, {n_events} status changes alternately via A and B")
        try:
            redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
        except redis.RedisError as exc:
            print(f"  Redis unreachable ({exc}): phase 2 FAIL")
            return 0
        mq_env = env | {"HAILOPS_MESSAGE_QUEUE": REDIS_URL}
        a = Server("A", mq_env, workdir / "A.log", args.demo)
        b = Server("B", mq_env | {"HAILOPS_SCHEDULER_ENABLED": "false"}, workdir / "B.log", False)
        with running([a, b]):
            p2 = asyncio.run(phase_two(a, b, tokens, codes, n_clients // 2, n_events))
        every = True
        for name, p in p2["processes"].items():
            complete = (p["received"] == p["expected"] == p["clients"] * n_events
                        and p["connected"] == p["clients"])
            every &= complete
            print(f"  clients on {name}: {p['connected']}/{p['clients']} connected, "
                  f"{p['received']}/{p['expected']} receipts, {p['clients_missing']} clients "
                  f"missed an event, {p['duplicates']} duplicates  "
                  f"{'complete' if complete else 'INCOMPLETE'}")
        for route, (s, n, missing) in p2["routes"].items():
            print(f"  {route}: {fmt(s)}   ({n} receipts, {missing} missing)")
        print(f"  all routes: {fmt(p2['all'])}   p95 / {TARGET_MS:.0f} ms = "
              f"{p2['all']['p95'] / TARGET_MS:.2f}")
        print(f"  every client on either process received every event: "
              f"{'yes  PASS' if every else 'no  FAIL'}")
        print_problems([a, b])
    except ServerError as exc:
        print(f"bench_live: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"  kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        print(f"  ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
