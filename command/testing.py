"""Support for tests and benchmarks that need a real server: ``hailops run`` as a child
process on a free loopback port (as ``flask.testing`` serves Flask's own tests)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent


class ServerStartError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def hailops_command() -> list[str]:
    script = Path(sys.executable).with_name("hailops")
    return [str(script)] if script.exists() else [sys.executable, "-m", "command.cli"]


class HailopsServer:
    """One ``hailops run ARGS`` process; its output goes to ``log_path``."""

    def __init__(
        self, name: str, env: dict[str, str], log_path: Path, args: tuple[str, ...] = ()
    ) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log_path = log_path
        with log_path.open("w") as log:
            self.proc = subprocess.Popen(
                [*hailops_command(), "run", "--host", HOST, *args],
                env=env | {"PORT": str(self.port)},
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError(
                    f"server {self.name} exited ({self.proc.returncode}):\n" + self.log_tail()
                )
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 0.5):
                return
            time.sleep(0.2)
        raise ServerStartError(
            f"server {self.name} not listening after {timeout_s:.0f} s:\n" + self.log_tail()
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]
