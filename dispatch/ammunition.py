"""The ammunition ledger of one site: every round accounted, the stock never negative.

Ammunition is a civil explosive, tracked from warehouse to site.  The stock of a type is the
sum of its ledger entries: an initial count, restocks (+), firing reports (−) and signed
adjustments (inventory corrections).  A movement that would take any stock below zero is
refused with :class:`~dispatch.errors.AmmunitionError` and changes nothing.

Idempotency: a movement carrying a ``reference`` (e.g. ``"op-17:report"`` or a delivery note
number) that the ledger already holds for the same kind is a replay and returns the ledger
unchanged, so a retried request never counts twice.  The shell stores one row per entry
(``command.models.AmmunitionEntry`` has exactly these columns).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from dispatch.errors import AmmunitionError, ValidationFailed


class EntryKind(enum.StrEnum):
    INITIAL = "initial"
    RESTOCK = "restock"
    REPORT = "report"
    ADJUST = "adjust"


@dataclass(frozen=True)
class LedgerEntry:
    site_code: str
    ammo_type: str
    delta: int
    kind: EntryKind
    at: datetime
    actor: str
    reference: str | None = None
    note: str = ""


@dataclass(frozen=True)
class AmmunitionLedger:
    """All ammunition movements of one site, oldest first."""

    site_code: str
    entries: tuple[LedgerEntry, ...] = ()

    @classmethod
    def from_stock(
        cls, site_code: str, stock: Mapping[str, int], at: datetime, actor: str = "system"
    ) -> AmmunitionLedger:
        """A ledger opened with one ``initial`` entry per type (e.g. from ``Site.ammunition``)."""
        errors = {f"stock.{t}": "must be a whole number >= 0" for t, n in stock.items() if n < 0}
        if errors:
            raise ValidationFailed(errors)
        entries = tuple(
            LedgerEntry(site_code, ammo_type, count, EntryKind.INITIAL, at, actor)
            for ammo_type, count in sorted(stock.items())
        )
        return cls(site_code, entries)

    def balance(self, ammo_type: str) -> int:
        return sum(e.delta for e in self.entries if e.ammo_type == ammo_type)

    def balances(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for entry in self.entries:
            totals[entry.ammo_type] = totals.get(entry.ammo_type, 0) + entry.delta
        return totals

    def has_reference(self, kind: EntryKind, reference: str | None) -> bool:
        return reference is not None and any(
            e.kind == kind and e.reference == reference for e in self.entries
        )

    def _append(
        self,
        deltas: Mapping[str, int],
        kind: EntryKind,
        at: datetime,
        actor: str,
        reference: str | None,
        note: str,
    ) -> AmmunitionLedger:
        if self.has_reference(kind, reference):
            return self  # a retried movement: already counted once
        balances = self.balances()
        short = {
            t: (balances.get(t, 0), -d) for t, d in deltas.items() if balances.get(t, 0) + d < 0
        }
        if short:
            detail = ", ".join(
                f"{t}: {need} requested but only {have} in stock"
                for t, (have, need) in sorted(short.items())
            )
            raise AmmunitionError(
                f"site {self.site_code}: {kind.value} refused, stock would go negative ({detail})"
            )
        new = tuple(
            LedgerEntry(self.site_code, t, d, kind, at, actor, reference, note)
            for t, d in sorted(deltas.items())
            if d != 0
        )
        return AmmunitionLedger(self.site_code, self.entries + new)

    def restock(
        self, ammo_type: str, count: int, at: datetime, actor: str, reference: str | None = None
    ) -> AmmunitionLedger:
        """Add ``count`` (> 0) rounds or rockets of ``ammo_type``."""
        if count <= 0:
            raise ValidationFailed({"count": "a restock must add at least one"})
        return self._append({ammo_type: count}, EntryKind.RESTOCK, at, actor, reference, "")

    def consume(
        self, rounds: Mapping[str, int], at: datetime, actor: str, reference: str | None = None
    ) -> AmmunitionLedger:
        """Take a firing report's rounds off the stock, all types at once or none.

        Raises :class:`AmmunitionError` naming every type whose report exceeds the stock.
        """
        errors = {f"rounds.{t}": "must be a whole number >= 0" for t, n in rounds.items() if n < 0}
        if errors:
            raise ValidationFailed(errors)
        return self._append(
            {t: -n for t, n in rounds.items()}, EntryKind.REPORT, at, actor, reference, ""
        )

    def adjust(
        self,
        ammo_type: str,
        delta: int,
        at: datetime,
        actor: str,
        note: str,
        reference: str | None = None,
    ) -> AmmunitionLedger:
        """A signed inventory correction with a mandatory ``note`` saying why."""
        errors: dict[str, str] = {}
        if delta == 0:
            errors["delta"] = "an adjustment must change the stock"
        if not note.strip():
            errors["note"] = "say why the stock is adjusted"
        if errors:
            raise ValidationFailed(errors)
        return self._append({ammo_type: delta}, EntryKind.ADJUST, at, actor, reference, note)
