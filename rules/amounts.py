"""Prices and volumes in posts, read into numbers.

Sellers write `Rp150rb`, `1,5jt`, `5 k per lembar`, `$500`, `0.5 BTC`;
volumes as `279 juta`, `1M rows`, `100k`, `388.502 baris`, `4 GB`. The
separators of Indonesian and English numbers differ, so a separator
followed by exactly three digits is read as thousands, any other as the
decimal point.
"""

from __future__ import annotations

import re

_NUMBER = r"(?<!\d)(?<!\d[.,])\d{1,15}(?:[.,]\d{1,3}){0,6}"  # starts a number, never inside one: linear on long digit runs
_MULTIPLIERS = {
    "rb": 1e3, "ribu": 1e3, "k": 1e3, "jt": 1e6, "juta": 1e6, "m": 1e6, "mil": 1e6, "million": 1e6,
    "miliar": 1e9, "milyar": 1e9, "billion": 1e9, "b": 1e9, "cr": 1e7, "crore": 1e7,
}
_BYTES = {"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12}

PRICE = re.compile(
    rf"(?i)(?=[\drRuU$])(?:\brp\.?\s?(?P<idr>{_NUMBER})\s?(?P<idr_mult>rb|ribu|k|jt|juta)?\b"
    rf"|\b(?P<idr2>{_NUMBER})\s?(?P<idr2_mult>rb|ribu|jt|juta|k)\b(?=\s*(?:/|per\b))"
    rf"|(?:\$|\busd\s?)\s?(?P<usd>{_NUMBER})\s?(?P<usd_mult>k|m)?\b"
    rf"|\b(?P<amount>{_NUMBER})\s?(?P<amount_mult>k|m)?\s?(?P<unit>usd|btc|eth|usdt|xmr|rm|\$)(?![\w])"
    rf"|\brm\s?(?P<rm>{_NUMBER}))"
)
VOLUME = re.compile(
    rf"(?i)(?=\d)(?:\b(?P<count>{_NUMBER})\s?(?P<mult>juta|jt|ribu|rb|miliar|milyar|million|billion|mil|m|k|b|cr|crore)\b(?!\s*(?:/|per\b))"
    rf"|\b(?P<plain>\d{{1,3}}(?:[.,]\d{{3}}){{1,4}})\s*(?=(?:data|baris|rows|records|users|akun|accounts|nasabah|penduduk|foto|lines|nomor)\b)"
    rf"|\b(?P<size>{_NUMBER})\s?(?P<unit>kb|mb|gb|tb)\b)"
)


def parse_number(raw: str) -> float | None:
    """'350.000' -> 350000, '1,5' -> 1.5, '3,000' -> 3000, '0.5' -> 0.5, '1.000.000' -> 1000000."""
    parts = re.split(r"([.,])", raw)
    digits = parts[0]
    for i in range(1, len(parts), 2):
        group = parts[i + 1]
        is_last = i + 2 >= len(parts)
        if len(group) == 3 and not (is_last and digits == "0"):
            digits += group
        elif is_last:
            digits += "." + group
        else:
            return None
    try:
        return float(digits)
    except ValueError:
        return None


def _fmt(value: float) -> str:
    return f"{value:.8f}".rstrip("0").rstrip(".")


def _scaled(raw: str | None, multiplier: str | None, table: dict) -> float | None:
    value = parse_number(raw) if raw else None
    if value is None:
        return None
    return value * table.get((multiplier or "").lower(), 1.0)


def find_prices(text: str) -> list[tuple[int, int, str]]:
    """(start, end, value) of each price, value like 'IDR 150000' or 'BTC 0.5'."""
    out = []
    for m in PRICE.finditer(text):
        if m.group("idr"):
            currency, value = "IDR", _scaled(m.group("idr"), m.group("idr_mult"), _MULTIPLIERS)
        elif m.group("idr2"):
            currency, value = "IDR", _scaled(m.group("idr2"), m.group("idr2_mult"), _MULTIPLIERS)
        elif m.group("usd"):
            currency, value = "USD", _scaled(m.group("usd"), m.group("usd_mult"), _MULTIPLIERS)
        elif m.group("amount"):
            unit = m.group("unit").upper()
            currency = {"$": "USD", "RM": "MYR"}.get(unit, unit)
            value = _scaled(m.group("amount"), m.group("amount_mult"), _MULTIPLIERS)
        else:
            currency, value = "MYR", _scaled(m.group("rm"), None, _MULTIPLIERS)
        if value is not None:
            out.append((m.start(), m.end(), f"{currency} {_fmt(value)}"))
    return out


def find_volumes(text: str) -> list[tuple[int, int, str]]:
    """(start, end, value) of each volume, value like '279000000 records' or '4000000000 bytes'."""
    out = []
    for m in VOLUME.finditer(text):
        if m.group("count"):
            value, unit = _scaled(m.group("count"), m.group("mult"), _MULTIPLIERS), "records"
        elif m.group("plain"):
            value, unit = parse_number(m.group("plain")), "records"
        else:
            value, unit = _scaled(m.group("size"), m.group("unit"), _BYTES), "bytes"
        if value is not None:
            out.append((m.start(), m.end(), f"{_fmt(value)} {unit}"))
    return out
