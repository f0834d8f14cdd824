"""Identifiers found in post text, validated, and masking for display.

A valid NIK or KK in a post is strong evidence of a sample dump; an invalid
16-digit number is not counted. Validation follows the structure of the
numbers: region code (kecamatan) from the Kemendagri list shipped in
`data/` (current and earlier editions, since a NIK never changes when its
owner moves), a real birth or registration date, and a non-zero serial.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import phonenumbers
from stdnum import luhn
from stdnum.id import npwp as stdnum_npwp

from .amounts import find_prices, find_volumes
from .crypto import ADDRESS, address_kind

DATA_DIR = files("rules") / "data"
"""A Traversable: read with its own `open`, so the lists load from a zipped egg too."""


KINDS = ("nik", "kk", "npwp", "card", "number", "phone", "email", "telegram", "whatsapp", "btc", "eth", "tron", "price", "volume")
MASKED_KINDS = ("nik", "kk", "npwp", "card", "number", "phone", "whatsapp", "email")
"""Kinds whose value is personal data and is masked wherever it is shown."""


@dataclass(frozen=True)
class Identifier:
    kind: str  # one of KINDS
    start: int
    end: int
    masked: str  # what may be shown: masked for MASKED_KINDS, the text itself otherwise
    valid: bool  # passed its validation (checksum, region code, date, ...)
    value: str | None = None  # prices and volumes read into numbers: "IDR 150000", "279000000 records"


@cache
def region_codes() -> frozenset[str]:
    """Six-digit kecamatan codes of the current list and of earlier editions."""
    codes = set()
    for name in ("wilayah.csv", "wilayah_historis.csv"):
        with (DATA_DIR / name).open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                if row["level"] == "3":
                    codes.add(row["code_plain"])
    return frozenset(codes)


def _real_date(day: int, month: int, yy: int) -> bool:
    for century in (1900, 2000):
        try:
            dt.date(century + yy, month, day)
            return True
        except ValueError:
            continue
    return False


def _region_date_serial(number: str, *, female_offset: bool) -> bool:
    if len(number) != 16 or not number.isdigit():
        return False
    if number[:6] not in region_codes():
        return False
    day, month, yy = int(number[6:8]), int(number[8:10]), int(number[10:12])
    if female_offset and day > 40:
        day -= 40
    if not _real_date(day, month, yy):
        return False
    return number[12:] != "0000"


def is_valid_nik(number: str) -> bool:
    """NIK: region code, birth date DDMMYY (day + 40 for women), serial 0001-9999."""
    return _region_date_serial(number, female_offset=True)


def is_valid_kk(number: str) -> bool:
    """KK: region code, registration date DDMMYY (no +40), serial 0001-9999."""
    return _region_date_serial(number, female_offset=False)


def is_valid_npwp(number: str) -> bool:
    """NPWP: 15 digits with a Luhn check over the first 9; or 16 digits, a NIK or '0' + the old number.

    python-stdnum checks the 15- and '0'-prefixed forms; a 16-digit NPWP of a
    person is a NIK, checked here because stdnum's NIK tables reject valid
    codes of provinces 65 and 92-96.
    """
    digits = re.sub(r"\D", "", number)
    if len(digits) == 16 and not digits.startswith("0"):
        return is_valid_nik(digits)
    return stdnum_npwp.is_valid(digits)


_CARD_PREFIX = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|6(?:011|5)|35)")


def is_valid_card(number: str) -> bool:
    digits = re.sub(r"\D", "", number)
    return 13 <= len(digits) <= 19 and bool(_CARD_PREFIX.match(digits)) and luhn.is_valid(digits)


def phone_is_valid(raw: str) -> bool:
    """An Indonesian number that phonenumbers accepts as valid (mobile or fixed line)."""
    try:
        number = phonenumbers.parse(raw, "ID")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) == "ID"


# ---------------------------------------------------------------- masking

def mask(kind: str, value: str) -> str:
    """Mask one identifier for display: enough to recognise, never enough to use.

    Numbers keep at most a quarter of their digits at each end (a NIK shows
    4 + 4 of 16: `3171********0001`); phone numbers their operator prefix and
    last two digits; e-mail addresses the first letter and the domain.
    """
    if kind in ("nik", "kk", "npwp", "card", "number"):
        digits = re.sub(r"\D", "", value)
        keep = min(4, len(digits) // 4)
        return digits[:keep] + "*" * (len(digits) - 2 * keep) + (digits[-keep:] if keep else "")
    if kind == "phone":
        digits = re.sub(r"\D", "", value)
        if len(digits) <= 6:
            return "*" * len(digits)
        return digits[:4] + "*" * (len(digits) - 6) + digits[-2:]
    if kind == "whatsapp":
        return "wa.me/" + mask("phone", value)
    if kind == "email":
        local, _, domain = value.partition("@")
        return (local[:1] + "***@" + domain) if domain else "***"
    return value


# 12 or more digits, single spaces, dots or dashes between them allowed, of any length: nothing long
# escapes masking. A run made of several 12+ digit numbers (a dump's column) is split into them.
_LONG_NUMBER = re.compile(r"(?<!\d)\d(?:[ .\-]?\d){11,}(?!\d)")
_SEPARATOR = re.compile(r"[ .\-]")
_EMAIL = re.compile(r"[\w.+\-]{1,64}@[\w\-]{1,63}(?:\.[\w\-]{1,63})*\.[A-Za-z]{2,24}(?![A-Za-z])")
_TELEGRAM = re.compile(r"(?:t\.me/|telegram\.me/)([A-Za-z][\w]{3,31})|(?<![\w@])@([A-Za-z][\w]{4,31})\b")
# Candidates for Indonesian phone numbers: 08..., +62 8..., 62 8..., (021) ..., with spaces, dots, dashes.
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])(?:\+62|62|0)[\s.\-]?\(?\d{1,4}\)?(?:[\s.\-]?\d){6,11}(?!\d)")
_WHATSAPP = re.compile(r"wa\.me/(\+?\d{8,15})")


_DIGIT = re.compile(r"\d")
_ANY_LONG_DIGITS = re.compile(r"(?<!\d)\d(?:[ .\-]?\d){9,}(?!\d)")
_NPWP15 = re.compile(r"(?<![\d.])\d{2}\.\d{3}\.\d{3}\.\d-\d{3}\.\d{3}(?![\d.])")
_KK_BEFORE = re.compile(r"\b(?:kk|no\.?\s*kk|nomor\s*kk|kartu keluarga)\b[\s:=.]*$")
_NPWP_BEFORE = re.compile(r"\bnpwp\b[\s:=.]*$")
_CARD_BEFORE = re.compile(r"\b(?:cc|card|kartu kredit|credit|debit|visa|master(?:card)?|amex|cvv)\b")


def _long_numbers(m: re.Match) -> list[tuple[int, int]]:
    """Spans of the numbers in a long digit run: its parts if each has 12+ digits, else the whole run."""
    parts, pos = [], m.start()
    for piece in _SEPARATOR.split(m.group(0)):
        parts.append((pos, pos + len(piece)))
        pos += len(piece) + 1
    if len(parts) > 1 and all(e - s >= 12 for s, e in parts):
        return parts
    return [m.span()]


def _long_number(text: str, start: int, end: int) -> tuple[str, bool]:
    """The kind and validity of a long number, from its shape and the words before it."""
    return _classify(re.sub(r"\D", "", text[start:end]), text[max(0, start - 30) : start].lower())


def _classify(digits: str, before: str) -> tuple[str, bool]:
    if len(digits) > 19:
        return "number", False
    if _CARD_BEFORE.search(before) and is_valid_card(digits):
        return "card", True
    if len(digits) == 16:
        if _KK_BEFORE.search(before):
            return "kk", is_valid_kk(digits)
        if _NPWP_BEFORE.search(before):
            return "npwp", is_valid_npwp(digits)
        if not is_valid_nik(digits) and is_valid_card(digits):
            return "card", True
        return "nik", is_valid_nik(digits)
    if len(digits) == 15 and _NPWP_BEFORE.search(before):
        return "npwp", is_valid_npwp(digits)
    if is_valid_card(digits):
        return "card", True
    return "number", False


def _find_numbers(text: str, add) -> None:
    """Every identifier made of digits: NPWP, WhatsApp links, NIK/KK/cards, phones, prices, volumes."""
    for m in _NPWP15.finditer(text):
        add("npwp", m.start(), m.end(), m.group(0), is_valid_npwp(m.group(0)))
    for m in _WHATSAPP.finditer(text):
        add("whatsapp", m.start(), m.end(), m.group(0), phone_is_valid(m.group(1)))
    for m in _LONG_NUMBER.finditer(text):
        for start, end in _long_numbers(m):
            digits = re.sub(r"\D", "", text[start:end])
            kind, valid = _long_number(text, start, end)
            if kind == "number" and digits.startswith(("08", "628")) and len(digits) <= 14 and phone_is_valid(digits):
                continue  # a phone number, read below
            add(kind, start, end, digits, valid)
    for m in _PHONE_CANDIDATE.finditer(text):
        if phone_is_valid(m.group(0)):
            add("phone", m.start(), m.end(), m.group(0), True)
    for start, end, value in find_prices(text):
        add("price", start, end, text[start:end], True, value)
    for start, end, value in find_volumes(text):
        add("volume", start, end, text[start:end], True, value)
    for m in _ANY_LONG_DIGITS.finditer(text):  # anything else that could be a glued or odd personal number
        add("number", m.start(), m.end(), m.group(0), False)


# ---------------------------------------------------------------- numbers written to escape a regex
# Hostile posts break numbers up so that a plain pattern misses them: two spaces, tabs, line
# breaks, slashes, commas, colons, underscores, brackets, middle dots, emoji or zero-width
# characters between digit groups, combining marks on digits, full-width, superscript or other
# Unicode digits. `find_identifiers` first folds every digit to ASCII (one character for one, so
# positions hold). A cluster of digits joined by such characters is then read again with invisible
# characters dropped and every other gap as one space, and the halves of a valid NIK or KK are
# paired across longer gaps and words; what is found is masked over its whole original span.
# Amount lists, real dates and addresses (`150.000 - 200.000`, `29/11/2026 10:00`,
# `127.0.0.1:8080`) stay readable unless their digits hold a valid identity number.
_CLUSTER = re.compile(r"\d(?:[\W_]{0,8}\d)*")
_CLUSTER_PART = re.compile(r"\d+|[\W_]+")
_AMOUNT = re.compile(r"[1-9]\d{0,2}(?:[.,]\d{3})+")
_IP_PORT = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?")
_DATE_TIME = re.compile(r"\d{1,4}([/.\-])\d{1,2}\1\d{1,4}(?:[ ,T]{1,3}\d{1,2}[:.]\d{2}(?:[:.]\d{2})?)?")
_INVISIBLE_CATEGORIES = {"Cf", "Mn", "Me"}


def _cluster_view(cluster: str, offset: int) -> tuple[str, list[int], list[str]] | None:
    """(view, origin of each view character, visible pieces) of an odd cluster; None if plain.

    `cluster` comes from text whose digits are ASCII (see `_DIGIT_FOLD`)."""
    view: list[str] = []
    origin: list[int] = []
    pieces: list[str] = [""]
    odd = False
    for m in _CLUSTER_PART.finditer(cluster):
        part = m.group(0)
        if part[0].isdigit():  # find_identifiers folded every digit to ASCII already
            view.extend(part)
            origin.extend(range(offset + m.start(), offset + m.end()))
            pieces[-1] += part
            continue
        visible = "".join(c for c in part if unicodedata.category(c) not in _INVISIBLE_CATEGORIES)
        if not visible:  # only invisible characters: the digits around it are one group
            odd = True
            continue
        if len(visible) > 4:  # a real break between two numbers
            view.append("|")
        elif visible in (" ", ".", "-"):
            view.append(visible)
            pieces[-1] += visible
            origin.append(offset + m.start())
            continue
        else:
            view.append(" ")
            odd = True
        origin.append(offset + m.start())
        pieces.append("")
    return ("".join(view), origin, pieces) if odd else None


def _readable_numbers(cluster: str, pieces: list[str]) -> bool:
    """Amount lists (every piece grouped in thousands), real dates and times, and IP addresses with a
    port, which reviewers need to read."""
    return (all(_AMOUNT.fullmatch(p.strip(" .-")) for p in pieces) or _is_real_date(cluster)
            or bool(_IP_PORT.fullmatch(cluster)))


def _is_real_date(cluster: str) -> bool:
    if not _DATE_TIME.fullmatch(cluster):
        return False
    a, b, c, *time = (int(n) for n in re.findall(r"\d+", cluster))
    day_first = 1 <= a <= 31 and 1 <= b <= 12 and (c < 100 or 1900 <= c <= 2100)
    year_first = 1900 <= a <= 2100 and 1 <= b <= 12 and 1 <= c <= 31
    limits = (23, 59, 59)
    return (day_first or year_first) and all(v <= limits[i] for i, v in enumerate(time))


def _holds_identity_number(digits: str) -> bool:
    windows = (digits[i : i + 16] for i in range(0, max(0, len(digits) - 15)))
    return any(is_valid_nik(w) or is_valid_kk(w) for w in windows)


def _hidden_numbers(text: str) -> list[Identifier]:
    """Long numbers of `text` that only a read of odd digit clusters finds (see above)."""
    out = []
    for m in _CLUSTER.finditer(text):
        if len(m.group(0)) < 10 or m.group(0).isascii() and _LONG_NUMBER.fullmatch(m.group(0)):
            continue
        read = _cluster_view(m.group(0), m.start())
        if read is None:
            continue
        view, origin, pieces = read
        all_digits = re.sub(r"\D", "", view)
        if len(all_digits) < 10 or (_readable_numbers(m.group(0), pieces) and not _holds_identity_number(all_digits)):
            continue
        taken: list[tuple[int, int]] = []
        for n in (*_LONG_NUMBER.finditer(view), *_ANY_LONG_DIGITS.finditer(view)):
            for vs, ve in _long_numbers(n) if n.re is _LONG_NUMBER else [n.span()]:
                if any(vs < e and s < ve for s, e in taken):
                    continue
                taken.append((vs, ve))
                digits = re.sub(r"\D", "", view[vs:ve])
                start, end = origin[vs], origin[ve - 1] + 1
                kind, valid = _classify(digits, text[max(0, start - 30) : start].lower())
                if n.re is _ANY_LONG_DIGITS and kind != "nik":
                    kind, valid = "number", False
                out.append(Identifier(kind, start, end, mask(kind, digits), valid))
    return out


_MARKS = "[\u00ad\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u20d0-\u20ff\ufe00-\ufe0f\ufe20-\ufe2f\ufeff]*"
_GROUP = re.compile(rf"\d(?:{_MARKS}[ .\-]?{_MARKS}\d)*")  # digits with single separators, marks and invisibles between
_DIGIT_RUN = re.compile(r"\d+")
_PAIR_GAP = 40  # characters (words, line breaks, anything) between two halves of one number


def _split_identity_numbers(text: str) -> list[Identifier]:
    """Digit groups that together make a valid NIK or KK though words or long gaps stand between
    them (`11061715 dan 08901234`, one half per line, `11  01  01     010100 0001`): each group is
    masked. The number is taken to start inside the first group, so this stays linear."""
    if sum(map(len, _DIGIT_RUN.findall(text))) < 16:
        return []  # most posts: too few digits to hold a number at all
    groups = [(m.start(), m.end(), g if g.isdigit() else re.sub(r"\D", "", g)) for m in _GROUP.finditer(text)
              if (g := m.group(0))]
    out: dict[int, Identifier] = {}
    for i in range(len(groups) - 1):
        digits = groups[i][2]
        if len(digits) >= 16:
            continue  # a whole number in one group: the other passes read it
        for j in range(i + 1, min(i + 16, len(groups))):
            if groups[j][0] - groups[j - 1][1] > _PAIR_GAP:
                break
            digits += groups[j][2]
            if len(digits) < 16:
                continue
            windows = (digits[o : o + 16] for o in range(0, min(len(groups[i][2]), len(digits) - 15)))
            if any(is_valid_nik(w) or is_valid_kk(w) for w in windows):
                for k in range(i, j + 1):
                    start, end, group = groups[k]
                    out[start] = Identifier("nik", start, end, mask("number", group) if len(group) >= 4 else "*" * len(group), True)
                break
            if len(digits) - 15 >= len(groups[i][2]):
                break  # every start inside the first group was tried
    return list(out.values())


def _merge_hidden(found: list[Identifier], hidden: list[Identifier]) -> list[Identifier]:
    """`found` with each hidden number added, replacing what it overlaps unless a masked identifier covers it."""
    for h in hidden:
        if any(f.kind in MASKED_KINDS and f.start <= h.start and f.end >= h.end for f in found):
            continue
        found = [f for f in found if f.end <= h.start or f.start >= h.end]
        found.append(h)
    return found


def find_identifiers(text: str) -> list[Identifier]:
    """Every identifier in `text`, validated, with the form that may be shown.

    Numbers that fail validation stay in the list (valid=False, masked) so
    that they are masked on screen, but they are not evidence.
    """
    if not text.isascii():  # every kind of digit (full-width, superscript, circled, ...) read as ASCII, same positions
        text = text.translate(_DIGIT_FOLD)
    found: list[Identifier] = []
    starts: list[int] = []  # sorted, non-overlapping spans already taken
    ends: list[int] = []

    def add(kind: str, start: int, end: int, raw: str, valid: bool, value: str | None = None) -> None:
        i = bisect.bisect_right(starts, start)
        if (i > 0 and ends[i - 1] > start) or (i < len(starts) and starts[i] < end):
            return  # overlaps an identifier found by an earlier, more specific pass
        starts.insert(i, start)
        ends.insert(i, end)
        found.append(Identifier(kind, start, end, mask(kind, raw), valid, value))

    has_digits = _DIGIT.search(text) is not None
    if has_digits or "0x" in text:
        for m in ADDRESS.finditer(text):
            kind, valid = address_kind(m)
            add(kind, m.start(), m.end(), m.group(0), valid)
    if "@" in text:
        for m in _EMAIL.finditer(text):  # before numbers: digits glued to an address are masked with it
            add("email", m.start(), m.end(), m.group(0), True)
    if has_digits:
        _find_numbers(text, add)
    if "@" in text or ".me/" in text:
        for m in _TELEGRAM.finditer(text):
            add("telegram", m.start(), m.end(), m.group(0), True)
    if has_digits:
        hidden = _hidden_numbers(text) + _split_identity_numbers(text)
        if hidden:
            found = _merge_hidden(found, hidden)
        # A wallet- or handle-shaped span (unmasked kinds) must not shelter an identity number inside it.
        found = [Identifier("number", f.start, f.end, mask("number", text[f.start:f.end]), False)
                 if f.kind not in MASKED_KINDS and _shelters_identity_number(text[f.start:f.end]) else f for f in found]
    found.sort(key=lambda i: i.start)
    return found


_LONG_DIGITS_INSIDE = re.compile(r"\d{16,}")


def _shelters_identity_number(span: str) -> bool:
    return any(_holds_identity_number(m.group(0)) for m in _LONG_DIGITS_INSIDE.finditer(span))


class _DigitFold(dict):
    """str.translate table mapping every non-ASCII character with a digit value to its ASCII digit."""

    def __missing__(self, code: int) -> str:
        value = unicodedata.digit(chr(code), None)
        self[code] = result = chr(code) if value is None else str(value)  # one character for one: positions hold
        return result


_DIGIT_FOLD = _DigitFold()


def mask_text(text: str, identifiers: list[Identifier] | None = None, start: int = 0, end: int | None = None) -> str:
    """`text[start:end]` with every identity, card and phone number and e-mail address masked.

    Seller handles, wallets and prices stay readable: reviewers act on them.
    `identifiers` are those of the whole `text`, if already found.
    """
    end = len(text) if end is None else end
    if identifiers is None:
        identifiers = find_identifiers(text)
    pieces = []
    pos = start
    for ident in identifiers:
        if ident.kind not in MASKED_KINDS or ident.end <= start or ident.start >= end:
            continue
        pieces.append(text[pos : max(pos, ident.start)])
        pieces.append(ident.masked)
        pos = max(pos, ident.end)
    pieces.append(text[pos:end] if pos < end else "")
    return "".join(pieces)


def masked_excerpt(text: str, limit: int) -> str:
    """The first `limit` characters of `text`, masked as `mask_text` masks (a number cut at the edge is still
    masked), whitespace collapsed, "…" when there was more: what alerts, digests and exports quote of a post."""
    text = text or ""
    return " ".join(mask_text(text, None, 0, min(len(text), limit)).split()) + ("…" if len(text) > limit else "")


def mask_value(value, keep: tuple[str, ...] = ()):
    """`value` with every string in it masked (lists, tuples and dict values too): for whole rows
    shown or exported, where a title, an author, a URL or a post id can carry a number as well.

    `keep` names a dict's keys whose values this program wrote itself (its own timestamps, ids and
    scores): they are left as they are, since masking reads `2026-12-06T03:25:48+00:00` as a number.
    """
    if keep and isinstance(value, dict):
        return {k: v if k in keep else mask_value(v) for k, v in value.items()}
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, (list, tuple)):
        return type(value)(mask_value(v) for v in value)
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    return value
