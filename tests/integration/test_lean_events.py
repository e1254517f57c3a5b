"""Issue 16: a ``volume.new`` event carried the whole volume (~260 KB, 90 % nowcast
polygons) into every socket, every catch-up and the stored event.  Now it is a summary with
the URL of the full volume, which serves exactly what the event used to carry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sqlalchemy import select

from command.ingest import poll_incoming
from command.models import CellRecord, LiveEvent

EVENT = sorted((Path(__file__).resolve().parents[2] / "radar" / "data" / "events"
                / "canberra_20181220").glob("*.h5"))


def test_volume_new_is_a_summary_with_the_url_of_the_volume(app, db_session, client, users):
    from tests.conftest import login

    incoming = app.config["HAILOPS"].incoming
    incoming.mkdir(parents=True, exist_ok=True)
    for path in EVENT:
        shutil.copy(path, incoming / path.name)
    assert [o.status for o in poll_incoming(app)] == ["processed", "processed"]
    events = db_session.scalars(select(LiveEvent).where(LiveEvent.event == "volume.new")
                                .order_by(LiveEvent.seq)).all()
    assert len(events) == 2
    last = events[-1].payload
    assert len(json.dumps(last)) < 4000, len(json.dumps(last))
    assert "cells" not in last and "tracks" not in last
    cells = db_session.scalars(select(CellRecord).where(
        CellRecord.volume_id == last["volume_id"])).all()
    assert last["cell_count"] == len(cells)
    assert last["hail_cell_count"] == sum(c.hail for c in cells) > 0
    assert set(last["hail_track_ids"]) == {c.track_id for c in cells if c.hail}
    login(client, users["forecaster"])
    full = client.get(last["url"]).get_json()
    assert full["volume_id"] == last["volume_id"] and len(full["cells"]) == len(cells)
    assert any("nowcast" in t for t in full["tracks"])
    assert full["products"] == last["products"]
