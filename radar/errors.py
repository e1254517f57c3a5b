"""Exceptions of the radar package.

The core knows no HTTP codes: the shell maps these to its error envelope, the CLI to exit 2.
"""

from __future__ import annotations

from pathlib import Path


class RadarError(Exception):
    """Base class of every error raised on purpose by :mod:`radar`."""


class RadarReadError(RadarError):
    """A radar volume could not be read; ``str()`` is one line naming the file and the reason."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        # One line, whatever the underlying library put in its message.
        self.reason = " ".join(str(reason).split()) or "unknown reason"
        super().__init__(f"{self.path}: {self.reason}")


class SoundingError(RadarError):
    """A sounding could not be read or gives no usable temperature profile."""


class DetectionError(RadarError):
    """Inputs to hail detection are inconsistent (for example H-20 below H0)."""
