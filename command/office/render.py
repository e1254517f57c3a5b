"""Rendering a bulletin: the official-notice HTML (one template for page, archive and
e-mail) and a PDF made the way the drill report makes its PDF (matplotlib ``PdfPages``),
with a CJK font so the Chinese text is drawn."""

from __future__ import annotations

import io
import textwrap
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

from command.models import BulletinRecord
from command.timefmt import BEIJING

PAPER_CSS_FILE = Path(__file__).resolve().parents[2] / "static" / "css" / "office.css"
CJK_FAMILIES = (
    "Noto Serif CJK SC",
    "Noto Sans CJK SC",
    "Source Han Serif SC",
    "WenQuanYi Zen Hei",
    "SimSun",
    "Microsoft YaHei",
)


def notice_context(b: BulletinRecord, prefix: str, office_name: str) -> dict[str, Any]:
    from command.office.bulletins import AUTHORITY_ZH, STATE_ZH, county_name, number_text

    state_labels = {
        "completed": "已完成",
        "denied": "空域被拒",
        "cancelled": "已取消",
        "expired": "已过期",
        "recalled": "已撤回",
    }
    when = b.issued_at or datetime.now(BEIJING)
    return {
        "b": b,
        "docno": number_text(prefix, b.year, b.number),
        "office_name": office_name,
        "cname": county_name,
        "auth_zh": AUTHORITY_ZH,
        "state_names": STATE_ZH,
        "state_zh": lambda s: state_labels.get(s, s),
        "issued_on": when.astimezone(BEIJING).strftime("%Y年%m月%d日"),
    }


def paper_css() -> str:
    css = PAPER_CSS_FILE.read_text(encoding="utf-8")
    return "\n".join(line for line in css.splitlines() if line.startswith(".notice-paper"))


def render_html(b: BulletinRecord, prefix: str, office_name: str) -> str:
    from flask import render_template

    return render_template(
        "office/bulletin_doc.html", paper_css=paper_css(), **notice_context(b, prefix, office_name)
    )


def _cjk_font() -> Any:
    from matplotlib import font_manager

    for family in CJK_FAMILIES:
        try:
            path = font_manager.findfont(
                font_manager.FontProperties(family=family), fallback_to_default=False
            )
        except ValueError:
            continue
        return font_manager.FontProperties(fname=path)
    return font_manager.FontProperties()  # no CJK font installed: glyphs will be missing


def pdf_lines(html_text: str) -> list[tuple[str, str]]:
    """The notice as (style, text) lines, from its HTML (block elements become lines)."""
    from html.parser import HTMLParser

    class P(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.lines: list[tuple[str, str]] = []
            self.buf: list[str] = []
            self.style = "p"
            self.skip = False

        def flush(self) -> None:
            text = "".join(self.buf).strip()
            if text:
                self.lines.append((self.style, " ".join(text.split())))
            self.buf = []

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            cls = dict(attrs).get("class") or ""
            if tag in ("style", "title", "head"):
                self.skip = True
            if tag in ("p", "h3", "h4", "div", "tr", "hr"):
                self.flush()
                self.style = {"h3": "title", "h4": "heading"}.get(tag, "p")
                if "masthead" in cls:
                    self.style = "masthead"
                elif "docno" in cls:
                    self.style = "docno"
                elif "sign" in cls:
                    self.style = "sign"
                elif tag == "tr":
                    self.style = "row"
                elif tag == "hr":
                    self.lines.append(("rule", ""))
            if tag in ("td", "th") and self.buf:
                self.buf.append(" | ")
            if tag == "br":
                self.flush()

        def handle_endtag(self, tag: str) -> None:
            if tag in ("style", "title", "head"):
                self.skip = False
            if tag in ("p", "h3", "h4", "div", "tr"):
                self.flush()

        def handle_data(self, data: str) -> None:
            if not self.skip:
                self.buf.append(data)

    p = P()
    p.feed(html_text)
    p.flush()
    return p.lines


def render_pdf(html_text: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.lines import Line2D

    font = _cjk_font()
    buf = io.BytesIO()
    sizes = {
        "masthead": 20,
        "docno": 11,
        "title": 14,
        "heading": 11.5,
        "p": 10.5,
        "row": 8.5,
        "sign": 10.5,
    }
    widths = {
        "masthead": 20,
        "title": 30,
        "heading": 40,
        "p": 40,
        "row": 62,
        "docno": 50,
        "sign": 50,
    }
    with warnings.catch_warnings(), PdfPages(buf) as pdf:
        warnings.simplefilter("ignore")  # missing glyphs when no CJK font is installed
        fig, y = None, 0.0
        for style, text in pdf_lines(html_text):
            pieces = (
                [text]
                if style in ("rule",)
                else (textwrap.wrap(text, widths.get(style, 40), break_long_words=True) or [""])
            )
            for k, piece in enumerate(pieces):
                step = sizes.get(style, 10.5) * 1.9 / 842
                if fig is None or y - step < 0.06:
                    if fig is not None:
                        pdf.savefig(fig)
                        plt.close(fig)
                    fig, y = plt.figure(figsize=(8.27, 11.69)), 0.94
                if style == "rule":
                    fig.add_artist(Line2D([0.1, 0.9], [y, y], color="#c00", linewidth=2))
                    y -= 0.02
                    continue
                x, ha = 0.1, "left"
                if style in ("masthead", "docno", "title"):
                    x, ha = 0.5, "center"
                elif style == "sign":
                    x, ha = 0.9, "right"
                elif style == "p" and k == 0:
                    x = 0.13
                fig.text(
                    x,
                    y,
                    piece,
                    ha=ha,
                    va="top",
                    fontproperties=font,
                    fontsize=sizes.get(style, 10.5),
                    color="#c00" if style == "masthead" else "black",
                    weight="bold" if style in ("masthead", "title", "heading") else "normal",
                )
                y -= step
        if fig is not None:
            pdf.savefig(fig)
            plt.close(fig)
    return buf.getvalue()
