"""Concurrent writers (a job thread and web requests) append to one unbroken audit chain."""

from __future__ import annotations

import threading

from command import audit


def test_concurrent_appends_keep_one_chain(app, db_session):
    db = app.extensions["hailops_db"]
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(15):
                with db.session() as s:
                    # read first (as a transition loads its operation), then append
                    audit.verify(s)
                    audit.append(s, actor=f"w{n}", role="system", action="test.concurrent",
                                 object_type="test", object_id=f"{n}-{i}")
                    s.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    result = audit.verify(db_session)
    assert result.ok and result.checked == 60
