"""Identifiers found in post text, validated, and masking for display.

A valid NIK or KK in a post is strong evidence of a sample dump; an invalid
16-digit number is not counted. Validation follows the structure of the
numbers: region code (kecamatan) from the Kemendagri list shipped in
`data/` (current and earlier editions, since a NIK never changes when its
owner moves), a real birth or registration date, and a non-zero serial.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import phonenumbers

DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Identifier:
    kind: str  # nik, kk, phone, email, telegram, whatsapp
    start: int
    end: int
    masked: str
    valid: bool


@cache
def region_codes() -> frozenset[str]:
    """Six-digit kecamatan codes of the current list and of earlier editions."""
    codes = set()
    for name in ("wilayah.csv", "wilayah_historis.csv"):
        with open(DATA_DIR / name, encoding="utf-8", newline="") as fh:
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


def phone_is_valid(raw: str) -> bool:
    """An Indonesian number that phonenumbers accepts as valid (mobile or fixed line)."""
    try:
        number = phonenumbers.parse(raw, "ID")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) == "ID"


# ---------------------------------------------------------------- masking

def mask(kind: str, value: str) -> str:
    """Mask one identifier for display: enough to recognise, never enough to use."""
    if kind in ("nik", "kk", "npwp", "card", "number"):
        digits = re.sub(r"\D", "", value)
        if len(digits) <= 8:
            return "*" * len(digits)
        return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]
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


_LONG_NUMBER = re.compile(r"(?<!\d)\d(?:[ .\-]?\d){11,18}(?!\d)")
_EMAIL = re.compile(r"[\w.+\-]{1,64}@[\w\-]{1,63}(?:\.[\w\-]{1,63})+")
_TELEGRAM = re.compile(r"(?:t\.me/|telegram\.me/)([A-Za-z][\w]{3,31})|(?<![\w@])@([A-Za-z][\w]{4,31})\b")
# Candidates for Indonesian phone numbers: 08..., +62 8..., 62 8..., (021) ..., with spaces, dots, dashes.
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])(?:\+62|62|0)[\s.\-]?\(?\d{1,4}\)?(?:[\s.\-]?\d){6,11}(?!\d)")
_WHATSAPP = re.compile(r"wa\.me/(\+?\d{8,15})")


def find_identifiers(text: str) -> list[Identifier]:
    """Every identifier in `text`, validated, with its masked form."""
    found: list[Identifier] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, start: int, end: int, raw: str, valid: bool) -> None:
        if any(s < end and start < e for s, e in taken):
            return
        taken.append((start, end))
        found.append(Identifier(kind, start, end, mask(kind, raw), valid))

    for m in _LONG_NUMBER.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if len(digits) == 16:
            before = text[max(0, m.start() - 24) : m.start()].lower()
            if re.search(r"\b(kk|no\.?\s*kk|kartu keluarga)\b[\s:=.]*$", before) and is_valid_kk(digits):
                add("kk", m.start(), m.end(), digits, True)
            else:
                add("nik", m.start(), m.end(), digits, is_valid_nik(digits))
        elif not digits.startswith(("08", "628")):
            add("number", m.start(), m.end(), digits, False)
    for m in _WHATSAPP.finditer(text):
        add("whatsapp", m.start(), m.end(), m.group(0), True)
    for m in _PHONE_CANDIDATE.finditer(text):
        if phone_is_valid(m.group(0)):
            add("phone", m.start(), m.end(), m.group(0), True)
    for m in _EMAIL.finditer(text):
        add("email", m.start(), m.end(), m.group(0), True)
    for m in _TELEGRAM.finditer(text):
        add("telegram", m.start(), m.end(), m.group(0), True)
    found.sort(key=lambda i: i.start)
    return found


def mask_text(text: str) -> str:
    """`text` with every identity number, phone number and e-mail address masked."""
    pieces = []
    pos = 0
    for ident in find_identifiers(text):
        if ident.kind == "telegram":
            continue  # public seller handles stay readable: reviewers act on them
        pieces.append(text[pos : ident.start])
        pieces.append(ident.masked)
        pos = ident.end
    pieces.append(text[pos:])
    return "".join(pieces)
