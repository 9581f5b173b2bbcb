"""The shell every facelab HTML page shares: the report, the audit page and the cluster page.

One document skeleton (header, a sticky nav built from the sections, the sections as cards) and the
CSS of that skeleton, so the three pages look alike and a change to the frame is made once. Each page
adds its own rules after :data:`BASE_CSS` (later rules win, so a page may also override one).
"""

from __future__ import annotations

import html
from collections.abc import Iterable

__all__ = ["BASE_CSS", "render_shell"]

#: The frame's CSS; ``{width}`` is the content column's maximum width in px.
BASE_CSS = """\
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1d232a; background: #fafbfc; }
header { background: #1f3a5f; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px 0; font-size: 24px; }
header p { margin: 0; opacity: .85; }
nav { position: sticky; top: 0; background: #fff; border-bottom: 1px solid #dde3ea; padding: 8px 32px; z-index: 1; }
nav a { margin-right: 16px; color: #1f3a5f; text-decoration: none; font-size: 14px; }
main { max-width: WIDTHpx; margin: 0 auto; padding: 8px 32px 48px; }
section { background: #fff; border: 1px solid #e3e8ee; border-radius: 8px; padding: 8px 24px 16px; margin: 18px 0; }
h2 { color: #1f3a5f; font-size: 20px; border-bottom: 1px solid #eef1f5; padding-bottom: 6px; }
table.tbl { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
table.tbl th, table.tbl td { padding: 4px 10px; border-bottom: 1px solid #eef1f5; text-align: right; }
table.tbl th { background: #f3f6f9; }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; }
.kpi { background: #f3f6f9; border-radius: 6px; padding: 10px 16px; min-width: 120px; }
.kpi b { display: block; font-size: 22px; color: #1f3a5f; }
.kpi span { font-size: 12px; color: #5a6572; }
.warn { color: #a33; }
"""


def render_shell(*, title: str, subtitle: str, sections: Iterable[tuple[str, str, str]], css: str = "",
                 head: str = "", tail: str = "", width: int = 1100, intro: str = "") -> str:
    """A whole self-contained page.

    Parameters
    ----------
    title, subtitle : str
        Plain text (escaped here) for the header and the document title.
    sections : iterable of (id, title, body_html)
        In page order; each becomes a card and a link in the nav.
    css : str
        The page's own rules, after :data:`BASE_CSS`.
    head, tail : str
        HTML put at the end of ``<head>`` (scripts, styles) and the end of ``<body>``.
    width : int
        Maximum width of the content column, px.
    intro : str
        HTML at the top of the content column, before the first section.
    """
    sections = list(sections)
    nav = "".join(f'<a href="#{html.escape(i)}">{html.escape(t)}</a>' for i, t, _ in sections)
    body = "\n".join(f'<section id="{html.escape(i)}"><h2>{html.escape(t)}</h2>{b}</section>' for i, t, b in sections)
    title, subtitle = html.escape(title), html.escape(subtitle)
    style = BASE_CSS.replace("WIDTH", str(int(width))) + css
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{title}</title>\n'
            f"<style>\n{style}</style>{head}</head>\n<body>\n"
            f"<header><h1>{title}</h1><p>{subtitle}</p></header>\n<nav>{nav}</nav>\n<main>\n{intro}{body}\n</main>\n"
            f"{tail}\n</body></html>\n")
