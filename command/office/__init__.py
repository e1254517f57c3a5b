"""The command center office's own work (the city's notice: liaison, meeting and bulletin
systems, and joint defence with neighbouring cities).

* ``liaisons`` — each member unit's liaison and deputy, audited changes;
* ``meetings`` — plenary and ad hoc meetings, attendance, decisions followed up until done;
* ``ground`` — ground hail reports (降雹实况) with photos stripped of location metadata;
* ``bulletins`` — drafted from the record, edited, issued with a running number, delivered
  to every member unit, confirmed by each liaison and chased while unread;
* ``outbox`` — e-mail to member units and neighbours over SMTP (a job sends it);
* ``season`` — season statistics (figures, charts, CSV/XLSX);
* ``handover`` — storm handover notices to neighbouring cities (联防联控).

Pure rules live in the core (``dispatch.handover``, ``dispatch.season``,
``dispatch.verification``, ``sites.neighbours``); this package is the shell around them.
"""

from __future__ import annotations

OFFICE_ROLES = ("commander",)  # admin is always allowed by roles_required


class OfficeError(ValueError):
    """A rejected office action; ``details`` maps fields to messages."""

    def __init__(self, message: str, details: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.details = details or {}
