"""Storms: one name and one review state per track, carried across scans (issue 11).

The tracker follows a thunderstorm from volume to volume under one track id (``T0003``);
each volume gives it a new cell (``C20181220T061230-04``).  People talk about the storm: the
forecaster confirms or dismisses it once, and everyone sees one name for it — "风暴 3" /
"Storm 3" (the number of its track id), or the name the forecaster gave it — on the map, in
every console, in recommendations, operations, warnings, the drill report and bulletins.

* At ingest (:func:`link_storms`) each new cell is linked to its storm (created at the
  track's first scan) and inherits the storm's review (:func:`dispatch.review.carried_review`:
  a dismissed storm that crosses into hail or severe hail goes back to review, audited).
* :func:`review_storm` and :func:`rename_storm` change a storm: persisted, audited (who,
  when, note), then announced by the caller's route.
* :func:`storm_name` is the one name; :func:`storm_json` what the API adds (``storm_name``
  and ``storm``) — fields are only ever added to existing JSON, never renamed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from flask import current_app, has_app_context, has_request_context
from flask_babel import force_locale, pgettext
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from command import audit
from command.models import CellRecord, RadarVolume, StormTrack
from dispatch.review import Review, StormReview, carried_review

_TRACK_NUMBER = re.compile(r"T0*(\d+)")
NAME_MAX = 64


def number_of_track(track_id: str | None) -> int | None:
    """``T0003`` → 3 (``None`` for an id of another form)."""
    m = _TRACK_NUMBER.fullmatch(track_id or "")
    return int(m[1]) if m else None


def name_template(lang: str | None = None) -> str:
    """The default name with a ``{number}`` placeholder, from the catalogue ("风暴 {number}"):
    the server fills it here, the browser from the served vocabulary (kind ``storm``)."""
    if lang is None and has_request_context():
        return str(pgettext("storm", "Storm {number}"))
    if not has_app_context():  # e.g. a report built by a script: the catalogue itself
        from pathlib import Path

        from babel.support import Translations

        catalogue = Translations.load(str(Path(__file__).parent / "translations"), [lang or "zh"])
        return str(catalogue.pgettext("storm", "Storm {number}"))
    # Outside a request (the feed, drills, reports): the deployment's language.
    with force_locale(lang or current_app.config["HAILOPS"].default_locale):
        return str(pgettext("storm", "Storm {number}"))


def storm_name(
    storm: StormTrack | None = None,
    *,
    track_id: str | None = None,
    fallback: str = "",
    lang: str | None = None,
) -> str:
    """The storm's one name: the forecaster's, else "风暴 <number>"; a cell without a storm
    row but with a track id gets the same default name (the number is the track's); without
    either, ``fallback`` (e.g. the cell id of an untracked late scan)."""
    if storm is not None and storm.name:
        return storm.name
    number = storm.number if storm is not None else number_of_track(track_id)
    if number is None:
        return fallback
    return name_template(lang).format(number=number)


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def storm_json(
    storm: StormTrack | None, *, track_id: str | None = None, fallback: str = ""
) -> dict[str, Any]:
    """``{"storm_name": ..., "storm": {...}}``: what an API object about a cell or an operation
    gains (``storm`` is ``None`` for a cell with no stored storm)."""
    name = storm_name(storm, track_id=track_id, fallback=fallback)
    if storm is None:
        return {"storm_name": name, "storm": None}
    return {
        "storm_name": name,
        "storm": {
            "id": storm.id,
            "track_id": storm.track_id,
            "number": storm.number,
            "name": storm.name,
            "review": storm.review,
            "reviewed_by": storm.reviewed_by,
            "reviewed_at": _iso(storm.reviewed_at),
            "review_note": storm.review_note,
            "reopened": storm.reopened,
            "parent_track_id": storm.parent_track_id,
            "first_seen": _iso(storm.first_seen),
            "last_seen": _iso(storm.last_seen),
        },
    }


def storm_ref(storm: StormTrack | None) -> dict[str, Any] | None:
    """The storm in a pushed event: language-neutral (the browser words the default name
    from the served vocabulary; a pushed event goes to users of both languages)."""
    if storm is None:
        return None
    return {
        "id": storm.id,
        "track_id": storm.track_id,
        "number": storm.number,
        "name": storm.name,
        "review": storm.review,
    }


# --- ingest ----------------------------------------------------------------------------------
def _mesh(cell: CellRecord) -> float | None:
    value = (cell.feature or {}).get("properties", {}).get("mesh_mm")
    return None if value is None else float(value)


def link_storms(
    session: Session,
    cells: Iterable[CellRecord],
    tracks: Mapping[str, Any],
    drill_id: str | None,
    at: datetime,
) -> list[StormTrack]:
    """Link each new cell to its storm (created at the track's first scan) and give it the
    storm's review; ``tracks`` maps a track id to the tracker's :class:`Track` (its first
    scan time and parent).  A dismissed storm that crossed into hail or severe hail goes back
    to review, audited (caller commits).  Returns the storms that reopened."""
    with session.no_autoflush:  # new cells are inserted once, already linked
        return _link(
            session, [c for c in cells if c.track_id and c.track_id in tracks], tracks, drill_id, at
        )


def _link(
    session: Session,
    cells: list[CellRecord],
    tracks: Mapping[str, Any],
    drill_id: str | None,
    at: datetime,
) -> list[StormTrack]:
    key = drill_id or ""
    if not cells:
        return []
    ids = sorted({c.track_id for c in cells if c.track_id})
    existing = {
        (s.track_id, s.first_seen): s
        for s in session.scalars(
            select(StormTrack).where(StormTrack.drill_key == key, StormTrack.track_id.in_(ids))
        )
    }
    wanted = {t: number_of_track(t) for t in ids if (t, tracks[t].first_time) not in existing}
    taken = (
        set(
            session.scalars(
                select(StormTrack.number).where(
                    StormTrack.drill_key == key,
                    StormTrack.number.in_([n for n in wanted.values() if n is not None]),
                )
            )
        )
        if wanted
        else set()
    )
    top: int | None = None
    reopened: list[StormTrack] = []
    seen: list[dict[str, Any]] = []
    for cell in cells:
        track = tracks[cell.track_id or ""]
        storm = existing.get((track.id, track.first_time))
        if storm is None:
            number = wanted.get(track.id)
            if number is None or number in taken:  # a restarted tracker's id: the next free
                if top is None:
                    top = (
                        session.scalar(
                            select(func.max(StormTrack.number)).where(StormTrack.drill_key == key)
                        )
                        or 0
                    )
                top = number = max(top, *taken) + 1 if taken else top + 1
            taken.add(number)
            storm = StormTrack(
                track_id=track.id,
                drill_id=drill_id,
                drill_key=key,
                first_seen=track.first_time,
                last_seen=cell.scan_time,
                last_cell_id=cell.cell_id,
                number=number,
                parent_track_id=track.parent_id,
                review=Review.NEW.value,
                updated_at=at,
            )
            session.add(storm)
            existing[(track.id, track.first_time)] = storm
        else:
            carried = carried_review(
                StormReview(Review(storm.review), storm.reviewed_hail, storm.reviewed_mesh_mm),
                bool(cell.hail),
                _mesh(cell),
            )
            if carried.reopened is not None:
                before = {"review": storm.review, "reviewed_by": storm.reviewed_by}
                storm.review, storm.reopened = carried.state.value, carried.reopened.value
                storm.updated_at = at
                reopened.append(storm)
                session.flush()
                audit.append(
                    session,
                    actor="radar-feed",
                    role="system",
                    action="storm.reopen",
                    object_type="storm",
                    object_id=str(storm.id),
                    drill_id=drill_id,
                    at=at,
                    before=before,
                    after={
                        "review": storm.review,
                        "reopened": storm.reopened,
                        "cell_id": cell.cell_id,
                        "track_id": storm.track_id,
                        "hail": bool(cell.hail),
                        "mesh_mm": _mesh(cell),
                    },
                )
            seen.append({"id": storm.id, "last_seen": cell.scan_time, "last_cell_id": cell.cell_id})
        cell.storm = storm
        cell.review = storm.review
        if storm.review != Review.NEW.value:
            cell.reviewed_by, cell.review_reason = storm.reviewed_by, storm.review_note
    session.flush()
    if seen:
        # One executemany for the storms seen again (the unit of work would send one UPDATE
        # per storm: ~0.2 ms each, 100 ms at 500 cells), and the loaded objects told.
        session.execute(update(StormTrack), seen)
        for row in seen:
            storm = session.get(StormTrack, row["id"])
            if storm is not None:
                set_committed_value(storm, "last_seen", row["last_seen"])
                set_committed_value(storm, "last_cell_id", row["last_cell_id"])
    return reopened


# --- the forecaster's decisions ------------------------------------------------------------
def storm_of_cell(session: Session, cell: CellRecord) -> StormTrack | None:
    """The cell's storm; a tracked cell stored without one (before this existed, or written
    by hand) gets it now, so reviewing it reviews its storm."""
    if cell.storm is not None or not cell.track_id:
        return cell.storm
    key = cell.drill_id or ""
    storm = session.scalars(
        select(StormTrack)
        .where(StormTrack.drill_key == key, StormTrack.track_id == cell.track_id)
        .order_by(StormTrack.first_seen.desc())
        .limit(1)
    ).first()
    if storm is None:
        first = (
            session.scalar(
                select(func.min(CellRecord.scan_time)).where(
                    CellRecord.track_id == cell.track_id,
                    CellRecord.drill_id.is_(None)
                    if cell.drill_id is None
                    else CellRecord.drill_id == cell.drill_id,
                )
            )
            or cell.scan_time
        )
        number = number_of_track(cell.track_id)
        if number is None or session.scalar(
            select(StormTrack.id)
            .where(StormTrack.drill_key == key, StormTrack.number == number)
            .limit(1)
        ):
            number = (
                session.scalar(
                    select(func.max(StormTrack.number)).where(StormTrack.drill_key == key)
                )
                or 0
            ) + 1
        storm = StormTrack(
            track_id=cell.track_id,
            drill_id=cell.drill_id,
            drill_key=key,
            first_seen=first,
            last_seen=cell.scan_time,
            last_cell_id=cell.cell_id,
            number=number,
            review=cell.review or Review.NEW.value,
            reviewed_by=cell.reviewed_by,
            review_note=cell.review_reason,
            updated_at=cell.scan_time,
        )
        session.add(storm)
        session.flush()
    cell.storm = storm
    return storm


def latest_cell(session: Session, storm: StormTrack) -> CellRecord | None:
    return session.scalars(
        select(CellRecord)
        .where(CellRecord.storm_id == storm.id)
        .order_by(CellRecord.scan_time.desc(), CellRecord.id.desc())
        .limit(1)
    ).first()


def review_storm(
    session: Session,
    storm: StormTrack,
    decision: Review,
    note: str,
    *,
    actor: str,
    role: str,
    at: datetime,
) -> CellRecord | None:
    """The forecaster confirms or dismisses the storm: stored on the storm (who, when, note,
    and what the storm was — its latest scan's hail verdict and MESH — for the reopening
    rule), given to its latest cell, audited (caller announces and commits).  Returns that
    latest cell."""
    cell = latest_cell(session, storm)
    before = {"review": storm.review, "reviewed_by": storm.reviewed_by, "note": storm.review_note}
    storm.review, storm.reviewed_by, storm.reviewed_at = decision.value, actor, at
    storm.review_note, storm.reopened = note, None
    storm.reviewed_hail = None if cell is None else bool(cell.hail)
    storm.reviewed_mesh_mm = None if cell is None else _mesh(cell)
    storm.updated_at = at
    if cell is not None:
        cell.review, cell.reviewed_by, cell.review_reason = decision.value, actor, note
    session.flush()
    audit.append(
        session,
        actor=actor,
        role=role,
        action=f"storm.{decision.value}",
        object_type="storm",
        object_id=str(storm.id),
        drill_id=storm.drill_id,
        at=at,
        before=before,
        after={
            "review": decision.value,
            "note": note,
            "track_id": storm.track_id,
            "storm_name": storm_name(storm),
            "cell_id": None if cell is None else cell.cell_id,
            "hail": storm.reviewed_hail,
            "mesh_mm": storm.reviewed_mesh_mm,
        },
    )
    return cell


def rename_storm(
    session: Session, storm: StormTrack, name: str | None, *, actor: str, role: str, at: datetime
) -> None:
    """The forecaster names the storm (``None``/empty: back to the default name); audited."""
    before = {"name": storm.name}
    storm.name = (name or "").strip()[:NAME_MAX] or None
    storm.updated_at = at
    session.flush()
    audit.append(
        session,
        actor=actor,
        role=role,
        action="storm.rename",
        object_type="storm",
        object_id=str(storm.id),
        drill_id=storm.drill_id,
        at=at,
        before=before,
        after={"name": storm.name, "track_id": storm.track_id},
    )


# --- look-ups ----------------------------------------------------------------------------------
def storms_of_cells(
    session: Session, cell_ids: Iterable[str], drill_id: str | None
) -> dict[str, tuple[str | None, StormTrack | None]]:
    """``cell_id -> (track_id, storm)`` for cells of one world (the latest record wins)."""
    wanted = sorted({c for c in cell_ids if c})
    out: dict[str, tuple[str | None, StormTrack | None]] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(CellRecord.cell_id, CellRecord.track_id, StormTrack)
            .outerjoin(StormTrack, StormTrack.id == CellRecord.storm_id)
            .where(
                CellRecord.cell_id.in_(wanted[start : start + 500]),
                CellRecord.drill_id.is_(None)
                if drill_id is None
                else CellRecord.drill_id == drill_id,
            )
            .order_by(CellRecord.id)
        )
        for cell_id, track_id, storm in rows:
            out[cell_id] = (track_id, storm)
    return out


def storm_json_of_cell(
    found: Mapping[str, tuple[str | None, StormTrack | None]], cell_id: str
) -> dict[str, Any]:
    """What :func:`storm_json` gives for one cell id of :func:`storms_of_cells` (an unknown
    cell, e.g. a manual proposal's ``manual``: no storm, no name)."""
    if cell_id not in found:
        return {"storm_name": None, "storm": None}
    track_id, storm = found[cell_id]
    return storm_json(storm, track_id=track_id, fallback=cell_id)


def storms_of_volume(session: Session, vol: RadarVolume) -> dict[int, StormTrack]:
    """The storms of a volume's cells by id (one query)."""
    ids = {c.storm_id for c in vol.cells if c.storm_id}
    if not ids:
        return {}
    return {s.id: s for s in session.scalars(select(StormTrack).where(StormTrack.id.in_(ids)))}
