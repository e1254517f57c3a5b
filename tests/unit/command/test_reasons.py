"""Issue 11: recommendation and exclusion reasons are shown in Chinese with Beijing times,
never as the core's English sentences with UTC ISO times."""

from __future__ import annotations

import re

from command.reasons import localize_reason, localize_recommendations

SEEN = [  # as the new user saw them in the commander console
    "threat 0.72: rank 2 of 11 cells",
    "in the engagement area 2026-11-29T22:49:39Z–2026-11-29T22:59:39Z (10 min; 10 min in all "
    "within 40 min)",
    "candidate 2 of 2 for this cell",
    "aim 175.6° / 45.0° at 6.6 km: seeding height 5950 m (flat-fire)",
    "aim needs 33.4° at 6.6 km (flat-fire), below the minimum elevation 45°: set to the minimum, "
    "rounds burst above the layer's mid-height",
    "never in range within 40 min: closest approach 23.1 km, range 8 km",
    "never in the engagement area within 40 min: the path passes 5.2 km away, within range but "
    "outside the safe sectors or through a no-fire area",
    "offline",
    "no ammunition for its WR-98; 37mm 高炮 ceiling 5330 m ASL (4 km above the site) is below "
    "the seeding layer bottom (H0 5400 m)",
]


def test_every_reason_the_user_saw_is_worded_in_chinese(app) -> None:
    with app.test_request_context("/?lang=zh"):
        app.preprocess_request()
        for english in SEEN:
            text = localize_reason(english)
            assert not re.search(r"[A-Za-z]{4,}", text.replace("WR-98", "")), (english, text)
            assert "其他原因" not in text, english
        assert "06:49–06:59" in localize_reason(SEEN[1])  # Beijing time, not UTC
        doc = localize_recommendations(
            {
                "recommendations": [{"reasons": SEEN[:2]}],
                "cells": [{"excluded": [{"reason": "offline"}]}],
            }
        )
        assert doc["recommendations"][0]["reasons"] == SEEN[:2]  # the contract is kept
        assert doc["cells"][0]["excluded"][0]["reason_text"] == "作业点离线"


def test_unknown_reason_is_not_shown_raw(app) -> None:
    with app.test_request_context("/?lang=zh"):
        app.preprocess_request()
        assert localize_reason("something new") == "其他原因（详见英文界面）"
    with app.test_request_context("/?lang=en"):
        app.preprocess_request()
        assert localize_reason("candidate 1 of 3 for this cell") == "candidate 1 of 3 for this cell"


def test_reasons_are_worded_from_their_codes_never_parsed_back(app) -> None:
    """Issue 11: reasons were matched back out of the English, so a model name with "; " or
    parentheses fell back to the generic text, and an equipment without a model showed its raw
    kind code.  The core now gives each reason as data (``reason_details``) and the console
    words it from its code."""
    from dispatch.recommend import recommendations_to_json
    from tests.unit.dispatch.test_dispatch_recommend import cell_at, run
    from tests.unit.sites.factories import make_equipment, make_rocket, make_site

    model = "WR-98; 改进型 (双联)"
    unnamed_gun = make_site(
        code="T-01", equipment=(make_equipment(model=""),), ammunition={"rocket_wr98": 5}
    )
    low_rocket = make_site(
        code="T-02",
        equipment=(make_rocket(model=model, ceiling_km=2.0),),
        ammunition={"rocket_wr98": 5},
    )
    clipped = make_site(code="T-03")  # recommended, its aim clipped to the minimum elevation
    doc = recommendations_to_json(run([cell_at(0.0, 7.0)], [unnamed_gun, low_rocket, clipped]))
    excluded = {e["site_code"]: e for e in doc["cells"][0]["excluded"]}
    with app.test_request_context("/?lang=zh"):
        app.preprocess_request()
        localize_recommendations(doc)
    texts = {code: e["reason_text"] for code, e in excluded.items()}
    assert model in texts["T-02"] and "其他原因" not in texts["T-02"], texts
    assert "37mm 高炮" in texts["T-01"] and "gun_37mm" not in texts["T-01"], texts
    # The contract keeps the English sentences; the data rides along.
    assert excluded["T-01"]["reason"] == "no ammunition for its gun_37mm"
    assert excluded["T-02"]["reason_details"][0]["code"] == "below_seeding_layer"
    (rec,) = doc["recommendations"]
    assert rec["site_code"] == "T-03"
    for text in rec["reasons_text"] + list(texts.values()):
        assert "其他原因" not in text
        assert not re.search(r"[A-Za-z]{4,}", text.replace(model, "")), text
        assert not re.search(r"\d{4}-\d{2}-\d{2}T", text), text  # Beijing time, never ISO UTC
    assert any("最小仰角" in t for t in rec["reasons_text"]), rec["reasons_text"]


def test_every_reason_code_of_the_core_is_worded(app) -> None:
    """A reason the core adds must be worded too (no generic text, no English left)."""
    import string

    from command.reasons import word_reason
    from dispatch.reasons import TEMPLATES, TIME_PARAMS

    with app.test_request_context("/?lang=zh"):
        app.preprocess_request()
        for code, template in TEMPLATES.items():
            names = [f for _t, f, _s, _c in string.Formatter().parse(template) if f]
            params = {n: "2026-07-01T08:30:00Z" if n in TIME_PARAMS else "7" for n in names}
            text = word_reason({"code": code, "params": params})
            assert "其他原因" not in text and not re.search(r"[A-Za-z]{4,}", text), (code, text)
