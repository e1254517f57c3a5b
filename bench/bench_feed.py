"""Benchmark: radar file arrival -> ``volume.new`` at a live client (issue 12, "A feed that
loses nothing").

Targets: <= 5 s for the first volume after a start, <= 2 s warm.  One ``hailops run`` process
(web + scheduler, SQLite in a temporary directory, the default ``HAILOPS_RADAR_POLL_SECONDS``
of 30 s so only filesystem events bring a volume in quickly, ``HAILOPS_RADAR_SETTLE_S`` 1 s);
a python-socketio client with an API token.  A volume is written under a temporary name and
renamed (the documented convention); the clock starts at the rename and stops when the
client's handler runs.  The first volume is dropped as soon as the client is connected, while
the scheduler may still be warming its reading process up (the worst case after a start);
the second one after the first has arrived.

Reference, in the same run: the same volumes detected in this process (``detect_volume``):
the first call of a process (Py-ART imported then) and a warm call, so the ratios say what
the feed adds beyond reading and detecting.

Exits 0 whatever the figures; 1 only when the server cannot be started.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import socketio

from command.testing import ROOT, HailopsServer, ServerStartError

sys.path.insert(0, str(ROOT))
from bench.bench_live import deployment_env, hailops  # noqa: E402
from radar.detect import detect_volume  # noqa: E402
from radar.levels import levels_from_values  # noqa: E402

VOLUMES = sorted((ROOT / "radar" / "data" / "events" / "canberra_20181220").glob("*.pvol.h5"))
FIRST_TARGET_S, WARM_TARGET_S = 5.0, 2.0


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="hailops-bench-feed-") as tmp:
        workdir = Path(tmp)
        env = deployment_env(workdir) | {"HAILOPS_ENV": "test", "HAILOPS_RADAR_SETTLE_S": "1.0"}
        hailops(env, "db", "upgrade")
        hailops(env, "seed", "--demo-accounts")
        token = hailops(env, "users", "token", "commander", "--name", "bench").strip()
        spawned = time.monotonic()
        server = HailopsServer("feed", env, workdir / "server.log")
        try:
            server.wait_ready(120)
        except ServerStartError as exc:
            print(exc)
            return 1
        try:
            arrived = threading.Event()
            client = socketio.Client(reconnection=False)
            client.on("volume.new", lambda env: arrived.set(), namespace="/live")
            client.connect(
                server.url,
                namespaces=["/live"],
                transports=["websocket"],
                auth={"token": token},
                wait_timeout=30,
            )
            incoming = workdir / "instance" / "incoming"
            incoming.mkdir(parents=True, exist_ok=True)
            figures = []
            first_drop_after_s = time.monotonic() - spawned
            for path in VOLUMES:
                arrived.clear()
                part = incoming / (path.name + ".part")
                shutil.copyfile(path, part)
                started = time.monotonic()
                part.rename(incoming / path.name)
                ok = arrived.wait(120)
                figures.append(time.monotonic() - started if ok else float("inf"))
            client.disconnect()
        finally:
            server.stop()
        warm_lines = [
            line.split("INFO ", 1)[-1]
            for line in server.log_tail(1_000_000).splitlines()
            if " warm in " in line
        ]
    levels = levels_from_values(4300.0, 7600.0, source="bench")
    t = time.monotonic()
    detect_volume(VOLUMES[0], levels)  # the first call of a process: Py-ART is imported
    cold_reference = time.monotonic() - t
    t = time.monotonic()
    detect_volume(VOLUMES[1], levels)
    warm_reference = time.monotonic() - t
    first, warm = figures
    print(
        f"file -> volume.new at a client: first {first:.2f} s (target {FIRST_TARGET_S:.0f} s, "
        f"{'PASS' if first <= FIRST_TARGET_S else 'FAIL'}; dropped {first_drop_after_s:.1f} s "
        f"after the server was started), warm {warm:.2f} s "
        f"(target {WARM_TARGET_S:.0f} s, {'PASS' if warm <= WARM_TARGET_S else 'FAIL'})"
    )
    print(f"server: {'; '.join(warm_lines) or 'no warm-up logged'}")
    print(
        f"reference: detect_volume in this process, first call {cold_reference:.2f} s, warm "
        f"{warm_reference:.2f} s; first / first call = {first / cold_reference:.2f}, "
        f"warm / warm call = {warm / warm_reference:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
