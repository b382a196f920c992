"""HTML tables readable at a glance: fixed precision, best value per column marked."""

from __future__ import annotations

import html
import math

import pandas as pd


def _format(value, digits: int, style: str | None = None, reason: str = "") -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return (
                f'<span class="reason">not computed: {html.escape(reason)}</span>'
                if reason
                else "not computed"
            )
        if style:
            return style.format(value)
        # values too small for the fixed precision (learning rates, p-values) keep their digits
        return f"{value:.2g}" if value != 0 and abs(value) < 10**-digits else f"{value:.{digits}f}"
    return html.escape(str(value))


def html_table(
    frame: pd.DataFrame,
    best: dict[str, str] | None = None,
    digits: int = 3,
    caption: str | None = None,
    formats: dict[str, str] | None = None,
) -> str:
    """Render ``frame`` as an HTML table (inside a horizontally scrollable wrapper).

    ``best`` maps a column to ``"max"`` or ``"min"``: the best cell(s) of that column get
    the ``best`` class (bold), so the winner per column is visible without reading numbers.
    ``formats`` maps a column to a format string (e.g. ``"{:.2g}"`` for p-values).
    A column ``<name>_note`` holds, per row, why ``<name>`` could not be computed: its text
    follows "not computed" in that cell, and the note column itself is not shown.
    """
    notes = {
        c[: -len("_note")]: c
        for c in frame.columns
        if c.endswith("_note") and c[: -len("_note")] in frame.columns
    }
    reasons = {column: frame[note].fillna("").astype(str) for column, note in notes.items()}
    frame = frame.drop(columns=list(notes.values()))
    best = best or {}
    formats = formats or {}
    winners = {}
    for column, direction in best.items():
        if (
            column in frame.columns
            and pd.api.types.is_numeric_dtype(frame[column])
            and frame[column].notna().any()
        ):
            target = frame[column].max() if direction == "max" else frame[column].min()
            winners[column] = frame[column] == target
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for position in range(len(frame)):
        cells = []
        for column in frame.columns:
            value = frame[column].iloc[position]
            marked = column in winners and bool(winners[column].iloc[position])
            opening = '<td class="best">' if marked else "<td>"
            reason = reasons[column].iloc[position] if column in reasons else ""
            cells.append(f"{opening}{_format(value, digits, formats.get(column), reason)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    caption_html = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    table = (
        f"<table>{caption_html}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return f'<div class="table-wrap">{table}</div>'
