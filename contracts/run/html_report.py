"""`contracts run --html PATH`: the run's coverage as one self-contained page (no script, no CDN),
where every cell the run did not reach is red at a glance.

A grid per dimension (rows: operations, catalogues or request types; columns: statuses, codes or
transitions): green with the count where reached, red where not, amber where this target cannot be
reached (the reason on hover and in the cell), grey where the contract says no request provokes it.
Every text is escaped, so whatever bytes a target answered cannot break the page.
"""
from __future__ import annotations

import html
from typing import Any

from .coverage import ERRORS

TITLES = {"statuses": "Operations × documented statuses", "errors": "Documented error codes",
          "transitions": "Lifecycle transitions per request type", "events": "Webhook event transitions per type"}

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1b1b1b; }
h1 { font-size: 1.4rem; margin: 0 0 .3rem; } h2 { font-size: 1.1rem; margin: 1.6rem 0 .4rem; }
.meta { color: #555; margin-bottom: 1rem; }
.summary td, .summary th { padding: .2rem .8rem; text-align: left; }
table.grid { border-collapse: collapse; margin-bottom: .5rem; }
table.grid th, table.grid td { border: 1px solid #ccc; padding: .25rem .45rem; font-size: 12px; }
table.grid th.col { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; text-align: left; }
table.grid th.row { text-align: left; white-space: nowrap; }
td.hit { background: #c8ecc9; } td.miss { background: #e53935; color: #fff; font-weight: 600; }
td.unreached { background: #ffcc80; } td.unprovokable { background: #e0e0e0; color: #666; }
td.none { background: #fafafa; }
.chips { display: flex; flex-wrap: wrap; gap: .25rem; margin: .2rem 0 .6rem; }
.chips span { padding: .1rem .4rem; border-radius: .2rem; font-size: 12px; }
.chips .hit { background: #c8ecc9; } .chips .miss { background: #e53935; color: #fff; font-weight: 600; }
.chips .unprovokable { background: #e0e0e0; color: #666; } .chips .unreached { background: #ffcc80; }
.legend span { padding: .1rem .5rem; margin-right: .4rem; font-size: 12px; }
"""


def _state(cell: dict[str, Any]) -> str:
    if cell["count"]:
        return "hit"
    if cell.get("unprovokable"):
        return "unprovokable"
    return "unreached" if cell.get("unreached") else "miss"


def _cell_text(cell: dict[str, Any]) -> str:
    return str(cell["count"]) if cell["count"] else "n/a" if cell.get("unprovokable") else "0"


def _why(cell: dict[str, Any]) -> str:
    return cell.get("unprovokable") or cell.get("unreached") or f"{cell['count']} time(s)"


def _grid(name: str, dim: dict[str, Any]) -> str:
    columns = list(dict.fromkeys(c["column"] for c in dim["cells"]))
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    for cell in dim["cells"]:
        rows.setdefault(cell["group"], {})[cell["column"]] = cell
    out = [f'<table class="grid" data-dimension="{html.escape(name)}"><tr><th></th>']
    out += [f'<th class="col">{html.escape(c)}</th>' for c in columns]
    out.append("</tr>")
    for group, cells in rows.items():
        out.append(f'<tr><th class="row">{html.escape(group)}</th>')
        for column in columns:
            cell = cells.get(column)
            if cell is None:
                out.append('<td class="none" title="not documented here"></td>')
                continue
            out.append(f'<td class="{_state(cell)}" data-cell="{html.escape(cell["label"])}" '
                       f'title="{html.escape(cell["label"] + " — " + _why(cell))}">{_cell_text(cell)}</td>')
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def _chips(name: str, dim: dict[str, Any]) -> str:
    groups: dict[str, list[dict[str, Any]]] = {}
    for cell in dim["cells"]:
        groups.setdefault(cell["group"], []).append(cell)
    out = [f'<div data-dimension="{html.escape(name)}">']
    for group, cells in groups.items():
        out.append(f"<h3>{html.escape(group)}</h3><div class=\"chips\">")
        out += [f'<span class="{_state(c)}" data-cell="{html.escape(c["label"])}" '
                f'title="{html.escape(c["label"] + " — " + _why(c))}">{html.escape(c["column"])}: {_cell_text(c)}</span>'
                for c in cells]
        out.append("</div>")
    out.append("</div>")
    return "".join(out)


def render(coverage: dict[str, Any], meta: dict[str, Any]) -> str:
    """The page for a run's `coverage` object and its meta (base URL, seed)."""
    rows = "".join(
        f'<tr data-summary="{html.escape(name)}"><th>{html.escape(TITLES.get(name, name))}</th>'
        f'<td>{dim["percent"]}%</td><td>{dim["reached"]} / {dim["total"]}</td></tr>'
        for name, dim in coverage["dimensions"].items())
    sections = "".join(
        f'<h2>{html.escape(TITLES.get(name, name))} — {dim["percent"]}%</h2>'
        + (_chips(name, dim) if name == ERRORS else _grid(name, dim))
        for name, dim in coverage["dimensions"].items())
    states = "".join(f"<tr><th>{html.escape(t)}</th><td>{html.escape(', '.join(s) or '—')}</td></tr>"
                     for t, s in (coverage.get("states") or {}).items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>contracts run — coverage {coverage['percent']}%</title>
<style>{STYLE}</style></head><body>
<h1>Coverage: <span id="overall">{coverage['percent']}%</span> ({coverage['reached']} / {coverage['total']})</h1>
<div class="meta">{html.escape(str(meta.get('baseUrl', '')))} · seed {html.escape(str(meta.get('seed', '')))}
 · {'conformant' if meta.get('conformant') else 'violations found'}</div>
<div class="legend"><span class="hit" style="background:#c8ecc9">reached (count)</span>
<span style="background:#e53935;color:#fff">not reached</span>
<span style="background:#ffcc80">cannot be reached on this target</span>
<span style="background:#e0e0e0">no request provokes it</span></div>
<table class="summary">{rows}</table>
<h2>States reached per request type</h2><table class="summary" id="states">{states}</table>
{sections}
</body></html>
"""


def write(path: str, coverage: dict[str, Any], meta: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(render(coverage, meta))
