"""Showing an analysis to a person: the text with matched words marked and identifiers masked."""

from __future__ import annotations

import click

from rules import Analysis
from rules.identifiers import MASKED_KINDS


def highlighted(text: str, analysis: Analysis, color: bool) -> str:
    """`text` with matched words marked (bold colour, or [[...]] without colour) and numbers masked."""
    masked = {i.start: i for i in analysis.identifiers if i.kind in MASKED_KINDS}
    marked = [False] * (len(text) + 1)
    for m in analysis.matches:
        for pos in range(m.start, min(m.end, len(text))):
            marked[pos] = True
    out: list[str] = []
    inside = False
    pos = 0

    def toggle(on: bool) -> None:
        nonlocal inside
        if on != inside:
            out.append(("\x1b[1;33m" if on else "\x1b[0m") if color else ("[[" if on else "]]"))
            inside = on

    while pos < len(text):
        toggle(marked[pos])
        ident = masked.get(pos)
        if ident is not None:
            out.append(ident.masked)
            pos = ident.end
            continue
        out.append(text[pos])
        pos += 1
    toggle(False)
    return "".join(out)


def describe(text: str, analysis: Analysis, color: bool) -> str:
    """A full, human-readable explanation of one analysis."""
    lines = [highlighted(text, analysis, color), ""]
    verdict = f"{analysis.label.upper()}  score {analysis.score}  severity {analysis.severity}  lang {analysis.lang}"
    lines.append(click.style(verdict, bold=True) if color else verdict)
    if analysis.categories:
        lines.append("categories: " + ", ".join(analysis.categories))
    lines.append("")
    lines.append("why:")
    lines.extend(f"  - {r}" for r in analysis.reasons or ["no rule fired"])
    if analysis.matches:
        lines.append("")
        lines.append("rules that fired:")
        for m in analysis.matches:
            note = f"  (neutralised by {m.neutralised_by})" if m.neutralised_by else ""
            what = f"{m.label}/{m.category}" if m.category else m.label
            lines.append(f"  {m.rule_id:<28} {what:<30} {m.start}-{m.end} {m.text!r}{note}")
    if analysis.context:
        lines.append("")
        lines.append("context:")
        for c in analysis.context:
            lines.append(f"  {c.category:<9} {c.rule_id:<24} trigger {c.trigger!r} covers {c.scope_start}-{c.scope_end}")
    if analysis.identifiers:
        lines.append("")
        lines.append("identifiers:")
        for i in analysis.identifiers:
            value = f" = {i.value}" if i.value else ""
            lines.append(f"  {i.kind:<9} {i.masked}{value}  {'valid' if i.valid else 'INVALID'}")
    return "\n".join(lines)
