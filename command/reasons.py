"""Recommendation and exclusion reasons in the user's language.

The core (``dispatch.recommend``) states its reasons in English for the command line and the
JSON contract of ``hailops dispatch recommend``, and the same reasons as data
(``reason_details``: a code and its values, :mod:`dispatch.reasons`).  The consoles word each
from its code through the translation catalogue, times in Beijing time, an equipment without a
model by its kind's name — nothing is parsed back out of the English.  Documents without
``reason_details`` (written before it existed) fall back to matching the known sentences; an
unknown sentence is never shown raw in Chinese (a generic label stands in, and the API keeps
the English in ``reasons``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from command.timefmt import BEIJING

_ISO = r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)"
_NUM = r"(-?\d+(?:\.\d+)?)"


def _hm(iso: str) -> str:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(BEIJING).strftime("%H:%M")


_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(rf"threat {_NUM}: rank (\d+) of (\d+) cells"),
        lambda m: _("threat %(t)s: rank %(r)s of %(n)s cells", t=m[1], r=m[2], n=m[3]),
    ),
    (
        re.compile(
            rf"in the engagement area {_ISO}–{_ISO} \({_NUM} min; {_NUM} min in all within "
            rf"{_NUM} min\)"
        ),
        lambda m: _(
            "in the engagement area %(a)s–%(b)s (%(s)s min; %(t)s min in all within %(w)s min)",
            a=_hm(m[1]),
            b=_hm(m[2]),
            s=m[3],
            t=m[4],
            w=m[5],
        ),
    ),
    (
        re.compile(r"candidate (\d+) of (\d+) for this cell"),
        lambda m: _("candidate %(k)s of %(n)s for this cell", k=m[1], n=m[2]),
    ),
    (
        re.compile(rf"aim {_NUM}° / {_NUM}° at {_NUM} km: seeding height {_NUM} m \(flat-fire\)"),
        lambda m: _(
            "aim %(a)s° / %(e)s° at %(d)s km: seeding height %(h)s m ASL",
            a=m[1],
            e=m[2],
            d=m[3],
            h=m[4],
        ),
    ),
    (
        re.compile(
            rf"aim needs {_NUM}° at {_NUM} km \(flat-fire\), below the minimum elevation "
            rf"{_NUM}°"
        ),
        lambda m: _(
            "aim needs %(n)s° at %(d)s km, below the minimum elevation %(m)s°: set to the "
            "minimum, rounds burst above the layer's mid-height",
            n=m[1],
            d=m[2],
            m=m[3],
        ),
    ),
    (
        re.compile(
            rf"aim needs {_NUM}° at {_NUM} km \(flat-fire\), above the maximum elevation "
            rf"{_NUM}°"
        ),
        lambda m: _(
            "aim needs %(n)s° at %(d)s km, above the maximum elevation %(m)s°: set to the maximum",
            n=m[1],
            d=m[2],
            m=m[3],
        ),
    ),
    (
        re.compile(rf"never in the engagement area within {_NUM} min: the path passes {_NUM} km"),
        lambda m: _(
            "never in the engagement area within %(w)s min: the path passes %(d)s km away, "
            "within range but outside the safe sectors or through a no-fire area",
            w=m[1],
            d=m[2],
        ),
    ),
    (
        re.compile(
            rf"never in range within {_NUM} min: closest approach {_NUM} km, range {_NUM} km"
        ),
        lambda m: _(
            "never in range within %(w)s min: closest approach %(d)s km, range %(r)s km",
            w=m[1],
            d=m[2],
            r=m[3],
        ),
    ),
    (
        re.compile(r"no ammunition for its (.+)$"),
        lambda m: _("no ammunition for its %(eq)s", eq=m[1]),
    ),
    (
        re.compile(
            rf"(.+) ceiling {_NUM} m ASL \({_NUM} km above the site\) is below the seeding "
            rf"layer bottom \(H0 {_NUM} m\)"
        ),
        lambda m: _(
            "%(eq)s ceiling %(c)s m ASL is below the seeding layer bottom (H0 %(h)s m)",
            eq=m[1],
            c=m[2],
            h=m[4],
        ),
    ),
    (
        re.compile(
            rf"re-engagement cooldown {_NUM} min after its last firing \(ended {_ISO}\): "
            rf"ready again at {_ISO}"
        ),
        lambda m: _(
            "re-engagement cooldown %(n)s min after its last firing (ended %(a)s): ready "
            "again at %(b)s",
            n=m[1],
            a=_hm(m[2]),
            b=_hm(m[3]),
        ),
    ),
    (re.compile(r"^offline$"), lambda m: _("site offline")),
    (
        re.compile(r"^already engaged in another operation$"),
        lambda m: _("already engaged in another operation"),
    ),
    (re.compile(r"^out of ammunition$"), lambda m: _("out of ammunition")),
]


def _split(text: str) -> list[str]:
    """Split on "; " outside parentheses (a reason's own "(10 min; 10 min …)" stays whole)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and text.startswith("; ", i):
            out.append(text[start:i])
            start = i + 2
    out.append(text[start:])
    return out


def localize_reason(text: str) -> str:
    """One reason (possibly several joined by "; ") in the user's language."""
    parts = []
    for piece in _split(text):
        for pattern, word in _PATTERNS:
            m = pattern.search(piece)
            if m:
                parts.append(word(m))
                break
        else:
            parts.append(_("other reason (details in English view)"))
    return str(_("; ")).join(parts)


def _words(p: dict[str, str]) -> dict[str, Callable[[], str]]:
    """Each reason code worded from the catalogue (``p``: its params, times already BJT)."""
    return {
        "threat_rank": lambda: _(
            "threat %(t)s: rank %(r)s of %(n)s cells", t=p["threat"], r=p["rank"], n=p["cells"]
        ),
        "engagement_window": lambda: _(
            "in the engagement area %(a)s–%(b)s (%(s)s min; %(t)s min in all within %(w)s min)",
            a=p["start"],
            b=p["end"],
            s=p["stay"],
            t=p["in_range"],
            w=p["window"],
        ),
        "candidate_rank": lambda: _(
            "candidate %(k)s of %(n)s for this cell", k=p["rank"], n=p["candidates"]
        ),
        "aim": lambda: _(
            "aim %(a)s° / %(e)s° at %(d)s km: seeding height %(h)s m ASL",
            a=p["azimuth"],
            e=p["elevation"],
            d=p["distance"],
            h=p["height"],
        ),
        "aim_below_minimum": lambda: _(
            "aim needs %(n)s° at %(d)s km, below the minimum elevation %(m)s°: set to the "
            "minimum, rounds burst above the layer's mid-height",
            n=p["needed"],
            d=p["distance"],
            m=p["limit"],
        ),
        "aim_above_maximum": lambda: _(
            "aim needs %(n)s° at %(d)s km, above the maximum elevation %(m)s°: set to the maximum",
            n=p["needed"],
            d=p["distance"],
            m=p["limit"],
        ),
        "never_in_area": lambda: _(
            "never in the engagement area within %(w)s min: the path passes %(d)s km away, "
            "within range but outside the safe sectors or through a no-fire area",
            w=p["window"],
            d=p["distance"],
        ),
        "never_in_range": lambda: _(
            "never in range within %(w)s min: closest approach %(d)s km, range %(r)s km",
            w=p["window"],
            d=p["distance"],
            r=p["range"],
        ),
        "no_ammunition": lambda: _("no ammunition for its %(eq)s", eq=p["equipment"]),
        "below_seeding_layer": lambda: _(
            "%(eq)s ceiling %(c)s m ASL is below the seeding layer bottom (H0 %(h)s m)",
            eq=p["equipment"],
            c=p["ceiling"],
            h=p["h0"],
        ),
        "offline": lambda: _("site offline"),
        "engaged": lambda: _("already engaged in another operation"),
        "out_of_ammunition": lambda: _("out of ammunition"),
        "cooldown": lambda: _(
            "re-engagement cooldown %(n)s min after its last firing (ended %(a)s): ready "
            "again at %(b)s",
            n=p["cooldown"],
            a=p["ended"],
            b=p["ready"],
        ),
    }


def word_reason(detail: dict[str, Any]) -> str:
    """One reason given as data (``{"code", "params", "equipment_kind"?}``) in the user's
    language."""
    from command.vocabulary import equipment_label
    from dispatch.reasons import TIME_PARAMS

    params = {str(k): str(v) for k, v in (detail.get("params") or {}).items()}
    for key in TIME_PARAMS & params.keys():
        params[key] = _hm(params[key])
    if detail.get("equipment_kind"):
        params["equipment"] = equipment_label(str(detail["equipment_kind"]))
    word = _words(params).get(str(detail.get("code")))
    try:
        if word is not None:
            return word()
    except KeyError:  # a param missing: never a half-worded sentence
        pass
    return str(_("other reason (details in English view)"))


def localize_recommendations(doc: dict[str, Any]) -> dict[str, Any]:
    """Adds ``reasons_text`` to each recommendation and ``reason_text`` to each exclusion
    (the English fields stay as they are: the JSON contract only grows)."""
    for r in doc.get("recommendations", []):
        details = r.get("reason_details")
        r["reasons_text"] = (
            [word_reason(d) for d in details]
            if details
            else [localize_reason(x) for x in r.get("reasons", [])]
        )
    for c in doc.get("cells", []):
        for e in c.get("excluded", []):
            details = e.get("reason_details")
            e["reason_text"] = (
                _("; ").join(word_reason(d) for d in details)
                if details
                else localize_reason(e.get("reason", ""))
            )
    return doc
