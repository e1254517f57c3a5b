"""A bulletin issued during a drill gave a 500 (found by tests/web/test_csp_browser.py): the
PDF renderer's ``matplotlib.use("Agg")`` ran while another thread was importing pyplot (Py-ART
in the drill runner), and switched the backend of the partially initialised module.  The app
chooses the backend once, before any thread starts, so later ``use("Agg")`` calls touch
nothing."""

from __future__ import annotations

import subprocess
import sys

from command.testing import ROOT

PROBE = """
import sys, types
from command import create_app
create_app({"env": "test", "database_url": "sqlite://", "instance_path": sys.argv[1],
            "secret_key": "x", "scheduler_enabled": False, "message_queue": None})
import matplotlib
# Another thread is half-way through importing pyplot: the module exists, without its names.
sys.modules["matplotlib.pyplot"] = types.ModuleType("matplotlib.pyplot")
matplotlib.use("Agg")  # what render_pdf does in its thread
print("ok", matplotlib.rcParams["backend"].lower())
"""


def test_the_backend_is_chosen_before_any_drawing_thread(tmp_path):
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["ok", "agg"]
