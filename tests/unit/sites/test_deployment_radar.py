"""Issue 14 (item 8): the deployment's default radar is the Lüliang CINRAD station Z9358,
labelled with where its position comes from — not a sample location; drills relocate to it."""

from __future__ import annotations

import pytest

from sites.deployment import default_deployment


def test_the_default_radar_is_luliang_z9358_with_its_source() -> None:
    radar = default_deployment().radar
    assert (radar.station_id, radar.radar_type, radar.band) == ("Z9358", "CC", "C")
    assert (radar.lat, radar.lon, radar.alt_m) == (37.5183, 111.1439, 1000.0)
    assert radar.sample is False
    assert "station table" in radar.source and "../shared/data/README.md" in radar.source
    assert "吕梁" in radar.name and "Z9358" in radar.name


def test_a_drill_from_a_distant_radar_relocates_to_the_deployment_radar(monkeypatch) -> None:
    """The drills' relocation target is the deployment's radar (read by command.drill)."""
    from datetime import UTC, datetime

    import command.drill as drill

    captured = {}

    class _Stop(Exception):
        pass

    def fake_record(**kwargs):
        captured.update(kwargs)
        raise _Stop

    monkeypatch.setattr(drill, "DrillRecord", fake_record)
    monkeypatch.setattr(drill, "preflight", lambda session, auto_approve: [])
    from types import SimpleNamespace

    event = SimpleNamespace(
        name="far", radar={"lat": -35.66, "lon": 149.51},
        volumes=[{"scan_time": datetime(2018, 12, 20, 6, 6, tzinfo=UTC).isoformat()}],
    )  # fmt: skip
    with pytest.raises(_Stop):
        drill.create_drill(None, event, speed=60.0, started_by="test")
    target = captured["relocate_to"]
    assert (target["lat"], target["lon"], target["alt_m"]) == (37.5183, 111.1439, 1000.0)
