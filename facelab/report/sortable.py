"""Long lists on the page as plain HTML tables that sort and filter: one copy of their rows,
readable in print and without script.

:func:`sortable_table` writes every row of a frame (numbers carry their value in ``data-v``) in a
box that scrolls; :data:`TABLE_JS`, put once on an interactive page, sorts every
``table.sortable`` on a header click and shows the search box above it. The report's identity
list, skipped images and stage timings use them (:mod:`facelab.report.html`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["sortable_table", "TABLE_JS"]


def _cell(v, digits: int = 4) -> str:
    """A table cell; numbers carry their value in ``data-v`` for sorting."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return '<td data-v="">—</td>'
    if isinstance(v, (bool,)) or not isinstance(v, (int, float)):
        return f"<td class='t'>{html.escape(str(v))}</td>"
    text = f"{v:,}" if isinstance(v, int) else f"{v:.{digits}f}"
    return f'<td data-v="{v!r}">{text}</td>'


def sortable_table(df: pd.DataFrame, *, table_id: str, titles: Mapping | None = None, search: str = "",
                   digits: int = 4, height: int = 420) -> str:
    """A plain HTML table of every row of ``df``, in a box that scrolls past ``height`` px, with a
    search box (shown by :data:`TABLE_JS`, which also sorts on a header click).

    Numbers carry their value for sorting (``data-v``); ``titles`` renames columns.
    """
    titles = dict(titles or {})
    head = "".join(f"<th>{html.escape(titles.get(c, str(c)))}</th>" for c in df.columns)
    cols = [df[c].to_numpy(dtype=object) for c in df.columns]
    ints = [df[c].dtype.kind in "iu" for c in df.columns]

    def value(v, is_int):
        if is_int and v is not None:
            return int(v)
        return float(v) if isinstance(v, (float, np.floating)) else v

    body = "".join("<tr>" + "".join(_cell(value(col[r], ii), digits) for col, ii in zip(cols, ints)) + "</tr>"
                   for r in range(len(df)))
    box = (f'<input type="search" class="tbl-search" data-table="{html.escape(table_id)}" hidden '
           f'placeholder="{html.escape(search or "search")}">')
    return (f'{box}<div class="scroll" style="max-height:{height}px"><table class="tbl sortable" '
            f'id="{html.escape(table_id)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>')


#: Sorting (click a header: ascending, again: descending; numbers by their ``data-v``) and
#: filtering (the search box above a table) of every ``table.sortable`` on the page.
TABLE_JS = """
document.querySelectorAll('table.sortable').forEach((table) => {
  const body = table.tBodies[0];
  const key = (row, c) => { const td = row.cells[c]; return td.dataset.v !== undefined ? td.dataset.v : td.textContent; };
  table.tHead.querySelectorAll('th').forEach((th, c) => th.addEventListener('click', () => {
    const down = th.classList.contains('asc');
    table.tHead.querySelectorAll('th').forEach((h) => h.classList.remove('asc', 'desc'));
    th.classList.add(down ? 'desc' : 'asc');
    const rows = Array.from(body.rows);
    const numeric = rows.every((r) => r.cells[c].dataset.v !== undefined);
    const val = (r) => { const v = key(r, c); return numeric ? (v === '' ? NaN : parseFloat(v)) : v.toLowerCase(); };
    rows.sort((a, b) => {
      const x = val(a), y = val(b);
      if (numeric && (isNaN(x) || isNaN(y))) return isNaN(x) - isNaN(y);  // blanks last
      return (x < y ? -1 : x > y ? 1 : 0) * (down ? -1 : 1);
    });
    body.append(...rows);
  }));
});
document.querySelectorAll('input.tbl-search').forEach((box) => {
  const table = document.getElementById(box.dataset.table);
  box.hidden = false;
  box.addEventListener('input', () => {
    const q = box.value.trim().toLowerCase();
    for (const row of table.tBodies[0].rows) row.hidden = q !== '' && !row.textContent.toLowerCase().includes(q);
  });
});
"""
