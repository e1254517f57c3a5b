"""Issue 12: nothing lost under races — real concurrent HTTP requests (threads, each with its
own client and database connection; meaningful on PostgreSQL, where CI runs them too).

Stock never goes negative, one Idempotency-Key counts once even when sent twice at once, keys
are scoped to user and endpoint, and ATC and military may grant at the same moment."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from command.models import AmmunitionEntry, OperationRecord

SITE = "LS-01"  # sample site in Lishi: 37 mm gun, 200 shells
TRIALS = int(os.environ.get("HAILOPS_RACE_TRIALS", "3"))  # more for the closing figures


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


def _token(app: Any, username: str) -> str:
    from command.auth import issue_token
    from command.extensions import get_db
    from command.models import User

    with app.app_context(), get_db().session() as s:
        token = issue_token(s, s.scalar(select(User).where(User.username == username)))
        s.commit()
    return token


@pytest.fixture
def api(app: Any, users: Any, seeded: Any) -> Callable[..., Any]:
    """Bearer-token calls; every call gets a fresh test client (safe from any thread)."""
    tokens = {
        n: _token(app, n) for n in ("commander", "atc", "military", "county_operator", "forecaster")
    }

    def call(who: str, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {tokens[who]}"}
        if key:
            headers["Idempotency-Key"] = key
        return app.test_client().open(path, method=method, json=body, headers=headers)

    return call


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together by a barrier; their responses in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, fn: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[i] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(isinstance(r, BaseException) for r in results), results
    return results


def _propose(api: Any, rounds: int, who: str = "commander", key: str | None = None) -> Any:
    now = datetime.now(UTC)
    return api(
        who,
        "POST",
        "/api/operations",
        {
            "cell_id": "C-RACE",
            "site_code": SITE,
            "window": [_iso(now - timedelta(minutes=1)), _iso(now + timedelta(minutes=30))],
            "azimuth_deg": 10.0,
            "elevation_deg": 60.0,
            "quantity": {"37mm_shell": rounds},
            "max_altitude_m": 6000.0,
        },
        key=key,
    )


def _requested(api: Any, rounds: int) -> str:
    resp = _propose(api, rounds)
    assert resp.status_code == 201, resp.get_json()
    oid = resp.get_json()["id"]
    for who, action in [("commander", "authorize"), ("commander", "request-clearance")]:
        r = api(who, "POST", f"/api/operations/{oid}/{action}", {})
        assert r.status_code == 200, r.get_json()
    return str(oid)


def _firing(api: Any, rounds: int) -> str:
    oid = _requested(api, rounds)
    for who, action in [
        ("atc", "grant"),
        ("military", "grant"),
        ("commander", "order"),
        ("county_operator", "acknowledge"),
        ("county_operator", "start-firing"),
    ]:
        r = api(who, "POST", f"/api/operations/{oid}/{action}", {})
        assert r.status_code == 200, (action, r.get_json())
    return oid


def _stock(api: Any) -> int:
    return int(api("commander", "GET", f"/api/sites/{SITE}").get_json()["ammunition"]["37mm_shell"])


def _report(api: Any, oid: str, rounds: int) -> Callable[[], Any]:
    now = datetime.now(UTC)
    body = {
        "started_at": _iso(now - timedelta(minutes=1)),
        "ended_at": _iso(now),
        "rounds": {"37mm_shell": rounds},
        "observation": "none",
    }
    return lambda: api("county_operator", "POST", f"/api/operations/{oid}/report", body)


def test_concurrent_firing_reports_never_take_the_stock_negative(
    app: Any, api: Any, db_session: Any
) -> None:
    """Two reports at one site whose sum exceeds the stock: exactly one is accepted."""
    for _ in range(TRIALS):
        if _stock(api) < 4:  # many trials halve the stock away: restock
            restocked = api(
                "commander",
                "POST",
                f"/api/sites/{SITE}/restock",
                {"ammo_type": "37mm_shell", "count": 200},
            )
            assert restocked.status_code == 200
        stock = _stock(api)
        rounds = stock // 2 + 1  # each fits alone, both together do not
        first, second = _firing(api, rounds), _firing(api, rounds)
        responses = at_once(_report(api, first, rounds), _report(api, second, rounds))
        codes = sorted(r.status_code for r in responses)
        assert codes == [200, 409], [r.get_json() for r in responses]
        assert _stock(api) == stock - rounds >= 0
    ledger_sum = db_session.scalar(
        select(func.sum(AmmunitionEntry.delta)).where(
            AmmunitionEntry.site_code == SITE, AmmunitionEntry.ammo_type == "37mm_shell"
        )
    )
    assert ledger_sum == _stock(api) >= 0


def test_one_restock_key_sent_twice_at_once_counts_once(api: Any) -> None:
    for trial in range(TRIALS):
        before = _stock(api)
        key = f"delivery-note-{trial}"

        def restock(key: str = key) -> Any:
            body = {"ammo_type": "37mm_shell", "count": 7}
            return api("commander", "POST", f"/api/sites/{SITE}/restock", body, key=key)

        responses = at_once(restock, restock)
        assert [r.status_code for r in responses] == [200, 200]
        assert _stock(api) == before + 7


def test_one_proposal_key_sent_twice_at_once_gives_one_operation(api: Any, db_session: Any) -> None:
    for trial in range(TRIALS):
        key = f"p-{trial}"
        responses = at_once(*(lambda key=key: _propose(api, 5, key=key) for _ in range(2)))
        assert [r.status_code for r in responses] == [201, 201], [r.get_json() for r in responses]
        assert responses[0].get_json()["id"] == responses[1].get_json()["id"]
    assert db_session.scalar(select(func.count()).select_from(OperationRecord)) == TRIALS


def test_idempotency_keys_are_scoped_to_user_and_endpoint(api: Any, db_session: Any) -> None:
    mine = _propose(api, 5, who="forecaster", key="shared-key")
    theirs = _propose(api, 5, who="commander", key="shared-key")
    assert mine.status_code == theirs.status_code == 201
    assert mine.get_json()["id"] != theirs.get_json()["id"]
    assert db_session.scalar(select(func.count()).select_from(OperationRecord)) == 2
    # The same key on another endpoint is another request: the restock is counted.
    before = _stock(api)
    r = api(
        "commander",
        "POST",
        f"/api/sites/{SITE}/restock",
        {"ammo_type": "37mm_shell", "count": 3},
        key="shared-key",
    )
    assert r.status_code == 200 and _stock(api) == before + 3
    # The same user, endpoint and key: a replay, not a second operation.
    again = _propose(api, 5, who="commander", key="shared-key")
    assert again.get_json()["id"] == theirs.get_json()["id"]


def test_simultaneous_atc_and_military_grants_both_succeed(api: Any) -> None:
    for _ in range(TRIALS):
        oid = _requested(api, 5)
        responses = at_once(
            lambda: api("atc", "POST", f"/api/operations/{oid}/grant", {}),  # noqa: B023
            lambda: api("military", "POST", f"/api/operations/{oid}/grant", {}),  # noqa: B023
        )
        assert [r.status_code for r in responses] == [200, 200], [r.get_json() for r in responses]
        final = api("commander", "GET", f"/api/operations/{oid}").get_json()
        assert final["state"] == "cleared"
