"""Escaping for every place crawled text leaves the program: CSV, spreadsheets, Markdown, terminals.

Posts are written by the people we monitor. A cell starting with `=` is a
formula to a spreadsheet, a bare CR splits a CSV row, `](` or `<img` in
Markdown is a link or a tracking pixel, and an escape sequence rewrites the
operator's terminal. Each output goes through the one function here for it.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from typing import IO, Iterable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")  # and full-width = + - @
_LEADING_BLANKS = " \u00a0\u3000\ufeff\u200b"


def spreadsheet_safe(value) -> str:
    """A cell value a spreadsheet will not run: text starting (after blanks) with = + - @ TAB CR LF,
    or their full-width forms, gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.lstrip(_LEADING_BLANKS).startswith(FORMULA_START) else text


_CSV_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def write_csv(fh: IO[str], columns: list[str], rows: Iterable[dict], header: bool = True) -> None:
    """Rows as CSV that survives hostile cells: formula-safe, every cell quoted, CRLF line ends.

    Quoting every cell keeps `x;=2+5` one cell where a spreadsheet splits on `;` (Indonesian
    and other locales), and keeps a bare CR in an author inside its cell instead of ending the
    row. Control characters other than TAB, CR and LF (ESC, BEL, C1) are written as `\\x1b`:
    CSV printed to a terminal must not drive it.
    """
    writer = csv.writer(fh, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    if header:
        writer.writerow(columns)
    for row in rows:
        writer.writerow([_CSV_CONTROLS.sub(_escape_control, spreadsheet_safe(_flat(row.get(c)))) for c in columns])


def _escape_control(m: re.Match) -> str:
    return f"\\x{ord(m.group(0)):02x}"


def _flat(value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


# XML 1.0 forbids C0 controls except TAB, LF, CR, and the non-characters U+FFFE/U+FFFF; surrogates
# cannot be encoded at all. openpyxl raises on them, which would lose a whole takedown batch.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_safe(value) -> str:
    """Text an XML file (XLSX, HTML) can hold: forbidden characters become U+FFFD."""
    return _XML_FORBIDDEN.sub("\ufffd", "" if value is None else str(value))


# ---------------------------------------------------------------- terminals

_STEERING = ("Cc", "Cf")  # controls, and format characters: bidi overrides, zero-width, ...


def terminal_safe(text, keep_newlines: bool = False) -> str:
    """`text` with control characters shown as escapes (`\\x1b`, `\\r`, `\\u202e`), never sent raw.

    C0 and C1 controls (ESC, CSI, CR, BEL, ...) would let a post move the cursor, erase
    lines or retitle the window; bidirectional overrides would reorder what is read.
    Newlines (and tabs) are kept only where the caller lays out multi-line text.
    """
    text = "" if text is None else str(text)
    out = []
    for ch in text:
        if keep_newlines and ch in "\n\t":
            out.append(ch)
        elif unicodedata.category(ch) in _STEERING:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "".join(out)


_JSON_CANDIDATES = re.compile("[\x7f-\U0010ffff]")


def json_safe(dumped: str) -> str:
    """JSON text (from json.dumps, which already escapes C0 controls) with C1 controls and format
    characters (bidi, zero-width) as \\u escapes too: the same JSON, and nothing in it can steer a terminal."""
    return _JSON_CANDIDATES.sub(_json_escape, dumped)


def _json_escape(m: re.Match) -> str:
    ch = m.group(0)
    return json.dumps(ch)[1:-1] if unicodedata.category(ch) in _STEERING else ch  # surrogate pairs past U+FFFF


# ---------------------------------------------------------------- Markdown

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()!|~])")
_MD_LINE_START = re.compile(r"^(?:\d+[.)]|[-+#.>=])")
_MD_LINKY = re.compile(r"(?i)\.(?=\w)|@|//|(?<=[a-z]):(?=\S)")


def md_text(value) -> str:
    """Text that Markdown shows as written, on one line: emphasis, links, images, tables and
    HTML cannot start inside it, a line-start marker (`#`, `-`, `1.`) is escaped, and no URL,
    domain or address in it becomes a link (`evil\\.com`, `https\\:\\/\\/`)."""
    text = " ".join(unicodedata.normalize("NFKC", xml_safe(value)).split())  # full-width ． ： are dots and colons
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # Domains, e-mail addresses, `//host` and `scheme:` are what GFM's autolinker looks for:
    # an escaped dot, at-sign, slash or colon is its own token and ends any link.
    text = _MD_LINKY.sub(lambda m: "".join("\\" + c for c in m.group(0)), text)
    return _MD_LINE_START.sub(lambda m: m.group(0)[:-1] + "\\" + m.group(0)[-1], text)


def md_code(value) -> str:
    """A URL or other raw value as a Markdown code span: shown literally, never a link, never HTML."""
    text = " ".join(xml_safe(value).split()).replace("`", "%60").replace("|", "%7C")
    return f"`{text}`" if text else ""
