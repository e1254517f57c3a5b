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
        doc = localize_recommendations({"recommendations": [{"reasons": SEEN[:2]}],
                                        "cells": [{"excluded": [{"reason": "offline"}]}]})
        assert doc["recommendations"][0]["reasons"] == SEEN[:2]  # the contract is kept
        assert doc["cells"][0]["excluded"][0]["reason_text"] == "作业点离线"


def test_unknown_reason_is_not_shown_raw(app) -> None:
    with app.test_request_context("/?lang=zh"):
        app.preprocess_request()
        assert localize_reason("something new") == "其他原因（详见英文界面）"
    with app.test_request_context("/?lang=en"):
        app.preprocess_request()
        assert localize_reason("candidate 1 of 3 for this cell") == "candidate 1 of 3 for this cell"
