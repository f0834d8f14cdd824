"""Identifiers with real validation, and masking that never shows too much."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules import find_identifiers, is_valid_kk, is_valid_nik, mask, mask_text
from rules.amounts import find_prices, find_volumes, parse_number
from rules.identifiers import is_valid_card, is_valid_npwp, phone_is_valid


@pytest.mark.parametrize(
    "nik, valid",
    [
        ("3171014508920007", True),  # Gambir, Jakarta Pusat; woman (day 05 + 40), born 1992
        ("3273012306880012", True),  # Sukasari, Bandung; man born 23-06-1988
        ("6501014101900003", True),  # province 65 (Kalimantan Utara), which stdnum's tables reject
        ("9201011507900002", True),  # Papua code of before the 2022 split (wilayah_historis.csv)
        ("9301011507900002", True),  # the same district's code after the split
        ("9901011507900002", False),  # region code absent from every edition
        ("3171993112900001", False),  # kecamatan 99 does not exist in Jakarta Pusat
        ("3171013102900001", False),  # 31 February
        ("3171012902010001", False),  # 29 February 2001 / 1901: no leap year
        ("3171012902000001", True),  # 29 February 2000
        ("3171014508920000", False),  # serial 0000
        ("3171017502900001", False),  # woman's day 75 - 40 = 35
        ("317101450892000", False),  # 15 digits
        ("31710145089200071", False),  # 17 digits
    ],
)
def test_nik(nik, valid):
    assert is_valid_nik(nik) is valid


def test_kk_takes_registration_date_without_female_offset():
    assert is_valid_kk("3171011503150003")
    assert not is_valid_kk("3171015503150003")  # day 55 is not a registration date


@pytest.mark.parametrize(
    "npwp, valid",
    [
        ("01.855.081.4-412.000", True),
        ("018550814412000", True),
        ("01.855.081.5-412.000", False),  # Luhn check digit wrong
        ("0018550814412000", True),  # 16-digit form of an organisation: 0 + old number
        ("3171014508920007", True),  # 16-digit form of a person: the NIK
        ("6501014101900003", True),  # ... also for province 65
        ("9901011507900002", False),
        ("01.855.081.4-412", False),  # wrong form
    ],
)
def test_npwp(npwp, valid):
    assert is_valid_npwp(npwp) is valid


@pytest.mark.parametrize(
    "phone, valid",
    [("0812-3456-7890", True), ("+62 812 3456 7890", True), ("62 812 3456 7890", True), ("081234567890", True),
     ("+1 415 555 2671", False), ("0812", False), ("+44 20 7946 0958", False)],
)
def test_phone(phone, valid):
    assert phone_is_valid(phone) is valid


def test_cards_need_luhn_and_a_known_prefix():
    assert is_valid_card("4111 1111 1111 1111")
    assert not is_valid_card("4111 1111 1111 1112")
    assert not is_valid_card("9111 1111 1111 1116")


def test_every_kind_is_found():
    text = ("NIK 3171014508920007 KK: 3171011503150003 NPWP 01.855.081.4-412.000 cc 4111 1111 1111 1111 "
            "hp +62 812-3456-7890 wa.me/6281234567890 mail budi.s@example.co.id t.me/stokdata_admin "
            "btc 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq "
            "eth 0x52908400098527886E0F7030069857D2E4169EE7 usdt TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t "
            "harga Rp150rb, 279 juta data")
    kinds = {(i.kind, i.valid) for i in find_identifiers(text)}
    for kind in ("nik", "kk", "npwp", "card", "phone", "whatsapp", "email", "telegram", "btc", "eth", "tron", "price", "volume"):
        assert (kind, True) in kinds, kind


def test_bad_checksums_are_not_valid():
    found = {i.kind: i.valid for i in find_identifiers("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3 TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u")}
    assert found == {"btc": False, "tron": False}


@pytest.mark.parametrize(
    "text, value",
    [("Rp150rb", "IDR 150000"), ("1,5jt per data", "IDR 1500000"), ("5 k per lembar", "IDR 5000"), ("$500", "USD 500"),
     ("0.5 BTC", "BTC 0.5"), ("Rp 350.000", "IDR 350000"), ("$3,000", "USD 3000"), ("RM3,000", "MYR 3000")],
)
def test_prices(text, value):
    assert [v for _, _, v in find_prices(text)] == [value]


@pytest.mark.parametrize(
    "text, value",
    [("279 juta", "279000000 records"), ("1M rows", "1000000 records"), ("100k", "100000 records"),
     ("4 GB", "4000000000 bytes"), ("388.502 baris", "388502 records"), ("3,2 Billion", "3200000000 records")],
)
def test_volumes(text, value):
    assert [v for _, _, v in find_volumes(text)] == [value]


def test_number_separators():
    assert parse_number("1.000.000") == 1_000_000
    assert parse_number("1,5") == 1.5
    assert parse_number("0.5") == 0.5


def test_masking_examples():
    assert mask("nik", "3171014508920007") == "3171********0007"
    assert mask("npwp", "018550814412000") == "018*********000"
    assert mask("phone", "+62 812 3456 7890") == "6281*******90"
    assert mask("email", "budi.s@example.co.id") == "b***@example.co.id"
    masked = mask_text("NIK 3171014508920007, hp 0812-3456-7890, tg @stokdata_admin")
    assert "3171014508920007" not in masked and "3456-7890" not in masked and "@stokdata_admin" in masked


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789 .-", min_size=12, max_size=40))
def test_masked_numbers_show_at_most_half_their_digits(raw):
    for ident in find_identifiers(raw):
        if ident.kind in ("nik", "kk", "npwp", "card", "number"):
            digits = re.sub(r"\D", "", raw[ident.start : ident.end])
            shown = re.sub(r"\D", "", ident.masked)
            assert len(shown) <= min(8, len(digits) // 2)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["3171014508920007", "0812-3456-7890", " budi@example.com ", "jual", " ", "\n", "KTP", "9"]), max_size=30))
def test_mask_text_never_leaks_a_full_nik_or_phone(parts):
    masked = mask_text("".join(parts))
    assert "3171014508920007" not in masked
    assert "3456-7890" not in masked
    assert "budi@example.com" not in masked
