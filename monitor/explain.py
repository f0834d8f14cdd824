"""Showing an analysis to a person: the text with matched words marked and identifiers masked."""

from __future__ import annotations

import click

from rules import Analysis
from rules.identifiers import MASKED_KINDS
from rules.reasons import sentences

from .escaping import terminal_safe


def segments(text: str, spans, identifiers) -> list[tuple[str, bool]]:
    """`text` cut into (piece, matched) runs: `spans` are (start, end) of matched words, and the
    personal numbers among `identifiers` are replaced by their masked form. The page and the
    terminal both show text through this."""
    marked = bytearray(len(text))
    for start, end in spans:
        marked[max(0, start) : min(end, len(text))] = b"\x01" * max(0, min(end, len(text)) - max(0, start))
    masked_at = {i.start: i for i in identifiers if i.kind in MASKED_KINDS}
    out: list[tuple[str, bool]] = []
    pos = 0
    while pos < len(text):
        ident = masked_at.get(pos)
        if ident is not None:
            out.append((ident.masked, bool(marked[pos])))
            pos = ident.end
            continue
        end = pos + 1
        while end < len(text) and marked[end] == marked[pos] and end not in masked_at:
            end += 1
        out.append((text[pos:end], bool(marked[pos])))
        pos = end
    return out


def highlighted(text: str, analysis: Analysis, color: bool) -> str:
    """`text` with matched words marked (bold colour, or [[...]] without colour) and numbers masked."""
    on, off = ("\x1b[1;33m", "\x1b[0m") if color else ("[[", "]]")
    pieces = segments(text, [(m.start, m.end) for m in analysis.matches], analysis.identifiers)
    out: list[str] = []
    for i, (piece, hit) in enumerate(pieces):
        before = pieces[i - 1][1] if i else False
        if hit and not before:
            out.append(on)
        elif before and not hit:
            out.append(off)
        out.append(terminal_safe(piece, keep_newlines=True))  # a post must not drive the terminal
    if pieces and pieces[-1][1]:
        out.append(off)
    return "".join(out)


def describe(text: str, analysis: Analysis, color: bool, lang: str = "en") -> str:
    """A full, human-readable explanation of one analysis; the reasons in `lang`."""
    lines = [highlighted(text, analysis, color), ""]
    verdict = f"{analysis.label.upper()}  score {analysis.score}  severity {analysis.severity}  lang {analysis.lang}"
    lines.append(click.style(verdict, bold=True) if color else verdict)
    if analysis.categories:
        lines.append("categories: " + ", ".join(analysis.categories))
    lines.append("")
    lines.append("why:")
    why = sentences(analysis.reason_parts, lang, analysis.reasons)
    lines.extend(f"  - {terminal_safe(r)}" for r in why or ["no rule fired"])
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
            lines.append(f"  {i.kind:<9} {terminal_safe(i.masked + value)}  {'valid' if i.valid else 'INVALID'}")
    return "\n".join(lines)
