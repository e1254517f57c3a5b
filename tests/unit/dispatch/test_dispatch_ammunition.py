"""The ammunition ledger: every movement kept, the stock never negative (issue 5)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.ammunition import AmmunitionLedger, EntryKind
from dispatch.errors import AmmunitionError, ValidationFailed
from tests.unit.dispatch.dispatch_factories import at


def ledger() -> AmmunitionLedger:
    return AmmunitionLedger.from_stock("T-01", {"37mm_shell": 50, "rocket_wr98": 4}, at(0))


def test_restock_report_adjust_add_up() -> None:
    book = ledger().restock("37mm_shell", 100, at(1), "depot", reference="DN-7")
    book = book.consume(
        {"37mm_shell": 30, "rocket_wr98": 2}, at(2), "op-lishi", reference="op-1:report"
    )
    book = book.adjust("rocket_wr98", -1, at(3), "root", note="dud found at inventory")
    assert book.balances() == {"37mm_shell": 120, "rocket_wr98": 1}
    assert [e.kind for e in book.entries] == [
        EntryKind.INITIAL, EntryKind.INITIAL, EntryKind.RESTOCK, EntryKind.REPORT,
        EntryKind.REPORT, EntryKind.ADJUST,
    ]  # fmt: skip


def test_a_report_claiming_more_than_stock_is_refused_with_a_clear_message() -> None:
    book = ledger()
    with pytest.raises(AmmunitionError) as err:
        book.consume({"37mm_shell": 10, "rocket_wr98": 6}, at(1), "op-lishi")
    assert str(err.value) == (
        "site T-01: report refused, stock would go negative "
        "(rocket_wr98: 6 requested but only 4 in stock)"
    )
    assert book.balances() == {"37mm_shell": 50, "rocket_wr98": 4}  # nothing half-applied


def test_unknown_type_has_no_stock() -> None:
    with pytest.raises(AmmunitionError, match="rocket_bl1a: 1 requested but only 0"):
        ledger().consume({"rocket_bl1a": 1}, at(1), "op")


def test_adjustment_cannot_go_negative_and_needs_a_note() -> None:
    with pytest.raises(AmmunitionError):
        ledger().adjust("rocket_wr98", -5, at(1), "root", note="lost")
    with pytest.raises(ValidationFailed):
        ledger().adjust("rocket_wr98", -1, at(1), "root", note=" ")
    with pytest.raises(ValidationFailed):
        ledger().restock("rocket_wr98", 0, at(1), "depot")
    with pytest.raises(ValidationFailed):
        ledger().consume({"rocket_wr98": -1}, at(1), "op")


def test_same_reference_is_counted_once() -> None:
    book = ledger().restock("37mm_shell", 10, at(1), "depot", reference="DN-1")
    assert book.restock("37mm_shell", 10, at(2), "depot", reference="DN-1") is book
    assert book.balance("37mm_shell") == 60


@given(
    st.lists(
        st.tuples(st.sampled_from(["restock", "consume", "adjust"]), st.integers(-30, 30)),
        max_size=40,
    )
)
def test_stock_never_goes_negative(moves: list[tuple[str, int]]) -> None:
    book = ledger()
    for n, (kind, amount) in enumerate(moves):
        try:
            if kind == "restock":
                book = book.restock("rocket_wr98", amount, at(n), "depot")
            elif kind == "consume":
                book = book.consume({"rocket_wr98": amount}, at(n), "op")
            else:
                book = book.adjust("rocket_wr98", amount, at(n), "root", note="count")
        except (AmmunitionError, ValidationFailed):
            pass
        assert book.balance("rocket_wr98") >= 0
