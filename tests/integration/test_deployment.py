"""Issue 12: the reference deployment runs the chain — nginx (TLS, sticky sessions) in front of
two `hailops serve` web processes (gunicorn gthread), one `hailops scheduler`, PostgreSQL and
the Redis message queue, in production mode.  A volume dropped into the incoming directory
(write-then-rename) reaches live clients on both web processes as `volume.new`; a proposal
made through the proxy reaches a client on the other process.  Runs in the PostgreSQL CI pass
(it needs PostgreSQL, Redis and Debian's nginx)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
import urllib3

from tests.unit.radar.radar_paths import canberra_volumes

pytestmark = [pytest.mark.slow, pytest.mark.db]  # reads HAILOPS_TEST_DATABASE_URL itself
REPO = Path(__file__).resolve().parents[2]
PG = os.environ.get("HAILOPS_TEST_DATABASE_URL", "")
REDIS = os.environ.get("HAILOPS_TEST_REDIS_URL", "")
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.2)
    raise AssertionError(f"port {port} not listening:\n" + log.read_text(errors="replace")[-3000:])


def _nginx_conf(tmp: Path, https_port: int, web_ports: list[int]) -> Path:
    """The reference config (deploy/nginx/hailops.conf) with this run's ports and a
    self-signed certificate, wrapped in a minimal nginx.conf."""
    site = (REPO / "deploy" / "nginx" / "hailops.conf").read_text()
    upstream = "".join(f"    server 127.0.0.1:{p};\n" for p in web_ports)
    site = site.replace("    server 127.0.0.1:5001;\n    server 127.0.0.1:5002;\n", upstream)
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{_port()};")
    site = site.replace("/etc/ssl/hailops/fullchain.pem", str(tmp / "cert.pem"))
    site = site.replace("/etc/ssl/hailops/privkey.pem", str(tmp / "key.pem"))
    assert "ip_hash;" in site and str(web_ports[1]) in site
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(tmp / "key.pem"),
            "-out",
            str(tmp / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    (tmp / "site.conf").write_text(site)
    conf = tmp / "nginx.conf"
    conf.write_text(f"""daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
    include {tmp}/site.conf;
}}
""")
    return conf


def _token(app: Any, username: str) -> str:
    from sqlalchemy import select

    from command.auth import issue_token
    from command.extensions import get_db
    from command.models import User

    with app.app_context(), get_db().session() as s:
        token = issue_token(s, s.scalar(select(User).where(User.username == username)))
        s.commit()
    return token


class Watcher:
    """A Socket.IO client recording when each event name first arrives."""

    def __init__(self, url: str, token: str, transports: list[str]) -> None:
        self.seen: dict[str, list[tuple[float, Any]]] = {}
        session = requests.Session()
        session.verify = os.environ["REQUESTS_CA_BUNDLE"]  # the test's self-signed certificate
        self.client = socketio.Client(ssl_verify=False, http_session=session, reconnection=False)
        self.client.on("*", self._any, namespace="/live")
        self.client.connect(
            url, namespaces=["/live"], transports=transports, auth={"token": token}, wait_timeout=30
        )

    def _any(self, name: str, data: Any = None) -> None:
        self.seen.setdefault(name, []).append((time.monotonic(), data))

    def wait(self, name: str, timeout_s: float) -> float:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.seen.get(name):
                return self.seen[name][0][0]
            time.sleep(0.02)
        raise AssertionError(f"{name} not received; got {sorted(self.seen)}")


@pytest.mark.skipif(
    not PG.startswith("postgresql") or not REDIS or NGINX is None,
    reason="needs PostgreSQL (HAILOPS_TEST_DATABASE_URL), Redis "
    "(HAILOPS_TEST_REDIS_URL) and nginx: runs in the PostgreSQL CI pass",
)
def test_two_web_processes_behind_nginx_one_scheduler_run_the_chain(
    app, app_config, users, seeded, tmp_path, monkeypatch
) -> None:
    urllib3.disable_warnings()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "cert.pem"))
    incoming = Path(app_config["instance_path"]) / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PYART_QUIET": "1",
        "HAILOPS_ENV": "production",
        "HAILOPS_SECRET_KEY": secrets.token_hex(32),
        "HAILOPS_DATABASE_URL": PG,
        "HAILOPS_MESSAGE_QUEUE": REDIS,
        "HAILOPS_MESSAGE_QUEUE_CHANNEL": f"hailops-deploy-{uuid.uuid4().hex[:8]}",
        "HAILOPS_INSTANCE_PATH": str(app_config["instance_path"]),
        "HAILOPS_RADAR_POLL_SECONDS": "3600",  # only filesystem events bring volumes in
        "HAILOPS_SCHEDULER_ENABLED": "false",
    }
    cli = [sys.executable, "-m", "command.cli"]
    procs: list[subprocess.Popen[bytes]] = []
    web_ports, https_port = [_port(), _port()], _port()
    try:
        for i, port in enumerate(web_ports):
            log = tmp_path / f"web{i}.log"
            procs.append(
                subprocess.Popen(
                    [*cli, "serve", "--port", str(port), "--threads", "32"],
                    env=env,
                    stdout=log.open("w"),
                    stderr=subprocess.STDOUT,
                )
            )
            _wait_port(port, procs[-1], log)
        sched_log = tmp_path / "scheduler.log"
        procs.append(
            subprocess.Popen(
                [*cli, "scheduler"], env=env, stdout=sched_log.open("w"), stderr=subprocess.STDOUT
            )
        )
        conf = _nginx_conf(tmp_path, https_port, web_ports)
        procs.append(
            subprocess.Popen(
                [NGINX, "-p", str(tmp_path), "-c", str(conf)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
        )
        subprocess.run(
            [NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)], check=True, capture_output=True
        )
        _wait_port(https_port, procs[-1], conf)
        proxy = f"https://127.0.0.1:{https_port}"

        # The scheduler's heartbeat makes /healthz (through the proxy) healthy.
        deadline = time.monotonic() + 90
        while requests.get(f"{proxy}/healthz", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, sched_log.read_text()[-3000:]
            time.sleep(0.5)

        commander, county = _token(app, "commander"), _token(app, "county_operator")
        # Through the proxy: a long-polling client (sticky sessions: no 400) and a WebSocket
        # client; directly on the second web process: a commander's client.
        polling = Watcher(proxy, commander, ["polling"])
        ws = Watcher(proxy, commander, ["websocket"])
        direct = Watcher(f"http://127.0.0.1:{web_ports[1]}", commander, ["websocket"])
        time.sleep(1.0)

        # The chain: a volume arrives (written, then renamed) ...
        part = incoming / "40_20181220_060630.pvol.h5.part"
        shutil.copyfile(canberra_volumes()[0], part)
        arrived = time.monotonic()
        part.rename(incoming / "40_20181220_060630.pvol.h5")
        first_ms = (direct.wait("volume.new", 120) - arrived) * 1000
        for w in (polling, ws):
            w.wait("volume.new", 30)
        # ... a second (warm) volume the same way.
        part = incoming / "40_20181220_061230.pvol.h5.part"
        shutil.copyfile(canberra_volumes()[1], part)
        before = len(direct.seen["volume.new"])
        arrived = time.monotonic()
        part.rename(incoming / "40_20181220_061230.pvol.h5")
        deadline = time.monotonic() + 60
        while len(direct.seen["volume.new"]) == before:
            assert time.monotonic() < deadline, "second volume.new not received"
            time.sleep(0.02)
        warm_ms = (direct.seen["volume.new"][before][0] - arrived) * 1000
        print(f"\nfile -> volume.new at a client: first {first_ms:.0f} ms, warm {warm_ms:.0f} ms")

        # A proposal through the proxy reaches the client on the other process.
        now = datetime.now(UTC)
        resp = requests.post(
            f"{proxy}/api/operations",
            timeout=30,
            json={
                "cell_id": "C-DEPLOY",
                "site_code": "LS-01",
                "window": [now.isoformat(), (now + timedelta(minutes=20)).isoformat()],
                "azimuth_deg": 10.0,
                "elevation_deg": 60.0,
                "quantity": {"37mm_shell": 5},
                "max_altitude_m": 6000.0,
            },
            headers={"Authorization": f"Bearer {commander}"},
        )
        assert resp.status_code == 201, resp.text
        direct.wait("operation.update", 30)
        assert (
            requests.get(
                f"{proxy}/api/me", timeout=10, headers={"Authorization": f"Bearer {county}"}
            ).status_code
            == 200
        )
        for w in (polling, ws, direct):
            w.client.disconnect()
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=20)
            if p.poll() is None:
                p.kill()
