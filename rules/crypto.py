"""Validation of cryptocurrency addresses sellers ask to be paid to.

A string that looks like an address but fails its checksum is a typo or
noise, not a lead: Bitcoin base58check and bech32/bech32m, Tron (USDT-TRC20)
base58check with its 0x41 prefix. Ethereum addresses are checked for shape
only (EIP-55 needs Keccak, which the standard library does not have).
"""

from __future__ import annotations

import hashlib
import re

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

ADDRESS = re.compile(
    r"(?<![\w])(?:"
    r"(?P<btc>[13][1-9A-HJ-NP-Za-km-z]{25,34})"
    r"|(?P<bech32>bc1[02-9ac-hj-np-z]{11,71})"
    r"|(?P<eth>0x[0-9a-fA-F]{40})"
    r"|(?P<tron>T[1-9A-HJ-NP-Za-km-z]{33})"
    r")(?![\w])"
)


def _b58decode(value: str) -> bytes | None:
    number = 0
    for ch in value:
        if ch not in _B58_INDEX:
            return None
        number = number * 58 + _B58_INDEX[ch]
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    pad = len(value) - len(value.lstrip("1"))
    return b"\x00" * pad + body


def _b58check(value: str, versions: tuple[int, ...]) -> bool:
    raw = _b58decode(value)
    if raw is None or len(raw) != 25 or raw[0] not in versions:
        return False
    return hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()[:4] == raw[-4:]


def _bech32_polymod(values: list[int]) -> int:
    generator = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= generator[i] if ((top >> i) & 1) else 0
    return chk


def _bech32_valid(address: str) -> bool:
    hrp, _, data = address.rpartition("1")
    if hrp != "bc" or len(data) < 6:
        return False
    values = [_BECH32.index(c) for c in data]
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    return _bech32_polymod(expanded + values) in (1, 0x2BC830A3)  # bech32, bech32m


def address_kind(match: re.Match) -> tuple[str, bool]:
    """('btc' | 'eth' | 'tron', valid) for a match of ADDRESS."""
    if match.group("btc"):
        return "btc", _b58check(match.group("btc"), (0x00, 0x05))
    if match.group("bech32"):
        return "btc", _bech32_valid(match.group("bech32"))
    if match.group("tron"):
        return "tron", _b58check(match.group("tron"), (0x41,))
    return "eth", True
