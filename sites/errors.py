"""Exceptions of the ``sites`` package.

The core knows no HTTP codes: the shell maps :class:`SitesError` subclasses to its JSON error
envelope, and can use :attr:`RegistryValidationError.problems` as the ``details``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass


class SitesError(Exception):
    """Base of every error raised by the ``sites`` package."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one place of an input file.

    ``where`` names the record the way a person finds it in the file: ``"row 3"`` (CSV, the
    header is row 1, as in a spreadsheet), ``"feature 5"`` (GeoJSON, the first feature is
    feature 1) or ``"file"`` for problems with the file as a whole.  ``field`` is the field
    path inside the record, e.g. ``"lat"`` or ``"equipment[2].range_km"`` (1-based items).
    """

    where: str
    field: str
    message: str

    def __str__(self) -> str:
        field = f" {self.field}" if self.field else ""
        return f"{self.where}{field}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class RegistryValidationError(SitesError):
    """A site registry was rejected as a whole; ``problems`` lists everything found wrong."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__(self._format())

    def _format(self) -> str:
        count = len(self.problems)
        head = f"site registry rejected: {count} problem{'s' if count != 1 else ''}"
        return "\n".join([head, *(f"  - {problem}" for problem in self.problems)])

    def __str__(self) -> str:
        return self._format()


class DeploymentError(SitesError):
    """The deployment's data files are missing, unreadable or inconsistent."""


class UnknownCountyError(SitesError, KeyError):
    """A county key that the deployment does not know."""

    def __str__(self) -> str:
        return f"unknown county {self.args[0]!r}" if self.args else "unknown county"
