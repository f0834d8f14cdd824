"""The rule layer on its own: API, rule files, identifiers, masking."""

import pytest

from rules import Detector, RuleError, find_identifiers, is_valid_kk, is_valid_nik, mask, mask_text
from rules.normalize import normalize
from rules.ruleset import load_file, load_rules


def test_analysis_explains_a_sale(detector):
    text = "Jual foto selfie e-KTP + KK, stok ready 5.000 foto. Harga Rp 15rb/foto, minat japri telegram @dataking_demo"
    a = detector.analyze(text)
    assert a.label == "sale" and 0.5 <= a.score <= 1
    assert "ektp_selfie" in a.categories
    assert a.severity in ("high", "critical")
    fired = {m.rule_id for m in a.matches}
    assert {"intent.listing_start", "data.ektp_selfie", "price.amount", "contact.handle"} <= fired
    for m in a.matches:
        assert text[m.start : m.end] == m.text  # spans point into the original text
    selfie = next(m for m in a.matches if m.rule_id == "data.ektp_selfie")
    assert selfie.text == "foto selfie e-KTP"


@pytest.mark.parametrize(
    "text",
    [
        "Data 279 juta penduduk diduga dijual di forum peretas oleh akun bernama Kotz, menurut pakar keamanan.",
        "Jual paket data Telkomsel 25 GB cuma Rp 55rb, kuota nasional 30 hari.",
        "Jual dompet KTP kulit sapi asli, muat KTP, SIM dan 8 kartu lain. Harga Rp 85rb.",
        "Waspada! Jangan pernah mengirim foto KTP atau selfie dengan KTP kepada pihak yang tidak dikenal.",
    ],
)
def test_hard_negatives_are_not_sales(detector, text):
    a = detector.analyze(text)
    assert a.label == "not_sale", a.reasons


def test_context_neutralises_sale_words_in_news(detector):
    a = detector.analyze("Data 279 juta penduduk diduga dijual di forum peretas, kata pakar.")
    neutralised = {m.text: m.neutralised_by for m in a.matches if m.neutralised_by}
    assert neutralised["dijual"] == "ctx.reported.id"
    assert "279 juta penduduk" in neutralised  # the volume is reported, not offered
    assert {c.category for c in a.context} >= {"REPORTED"}


def test_odd_input_never_raises(detector):
    for text in ["", "\x00\x01\ufffd", "🔥" * 1000, "\u202e" + "jual ktp", "a" * 300_000]:
        a = detector.analyze(text)
        assert a.label in ("sale", "not_sale")
    assert detector.analyze("x" * 300_000).truncated is True


def test_normalisation_variants():
    for variant in ["e-KTP", "eKTP", "E KTP", "e.ktp", "E-K.T.P"]:
        assert normalize(f"jual {variant} murah").text == "jual ektp murah", variant
    assert normalize("k.t.p").text == "ktp"
    assert normalize("d4ta s3lfie").text == "data selfie"
    assert normalize("jualll stock").text == "jual stok"
    assert normalize("K\u200bT\u200bP").text == "ktp"
    assert normalize("100k Rp150rb 5jt").text == "100k rp150rb 5jt"  # numbers are not leetspeak


def test_rule_examples_all_hold(detector):
    """Every rule's `match` examples fire it and its `no_match` examples do not."""
    assert detector.check_examples() == []


def test_a_broken_example_is_reported(tmp_path):
    (tmp_path / "r.toml").write_text('[[rule]]\nid = "p"\nlabel = "PRICE"\nweight = 1\nregex = "rp"\nmatch = ["harga"]\n')
    assert Detector(rules_dir=tmp_path).check_examples() == ["r.toml:1: p should match 'harga'"]


@pytest.mark.parametrize(
    "body, message",
    [
        ('[[rule]]\nid = "x"\nlabel = "SALE_INTENT"\nweight = 1\nphrases = ["jual"]\nmatch = ["jual"]\ncolour = "red"\n', "bad.toml:1: rule 'x': unknown key(s) ['colour']"),
        ('[[rule]]\nid = "a"\nlabel = "SALE_INTENT"\nweight = 1\nphrases = ["jual"]\nmatch = ["jual"]\n\n[[rule]]\nid = "b"\nlabel = "DATA"\nweight = 1\nphrases = ["ktp"]\nmatch = ["ktp"]\n', "bad.toml:8: rule 'b': DATA rules need a category"),
        ('[[rule]]\nid = "x"\nlabel = "PRICE"\nweight = 1\nregex = "(unclosed"\nmatch = ["a"]\n', "regex does not compile"),
        ('[[rule]]\nid = "x"\nlabel = "PRICE"\nweight = 1\nregex = "rp"\n', "give at least one example"),
        ('[[rule]]\nid = "x"\nlabel = "NOPE"\nweight = 1\nregex = "rp"\nmatch = ["rp"]\n', "label must be one of"),
    ],
)
def test_bad_rule_files_name_file_and_line(tmp_path, body, message):
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(RuleError) as err:
        load_file(path)
    assert message in str(err.value)


def test_duplicate_rule_ids_are_refused(tmp_path):
    rule = '[[rule]]\nid = "dup"\nlabel = "PRICE"\nweight = 1\nregex = "rp"\nmatch = ["rp"]\n'
    (tmp_path / "a.toml").write_text(rule)
    (tmp_path / "b.toml").write_text(rule)
    with pytest.raises(RuleError, match="b.toml:1: rule id 'dup' already defined at a.toml:1"):
        load_rules(tmp_path)


# ---------------------------------------------------------------- identifiers

@pytest.mark.parametrize(
    "nik, valid",
    [
        ("3171014508920007", True),  # Gambir, woman born 05-08-1992
        ("3273012306880012", True),  # Bandung, man born 23-06-1988
        ("9201011507900002", True),  # Papua code from before the 2022 split
        ("9901011507900002", False),  # no such region
        ("3171013102900001", False),  # 31 February
        ("3171017502900001", False),  # female day 75 - 40 = 35
        ("3171014508920000", False),  # serial 0000
        ("317101450892000", False),  # 15 digits
    ],
)
def test_nik_validation(nik, valid):
    assert is_valid_nik(nik) is valid


def test_kk_has_no_female_offset():
    assert is_valid_kk("3171011503150003")
    assert not is_valid_kk("3171014508150003")


def test_identifiers_found_and_masked():
    text = "NIK 3171014508920007, hp 0812-3456-7890, mail budi.s@example.co.id, tg @stokdata_admin, invalid 9901011507900002"
    found = {(i.kind, i.masked, i.valid) for i in find_identifiers(text)}
    assert ("nik", "3171********0007", True) in found
    assert ("nik", "9901********0002", False) in found
    assert ("phone", "0812******90", True) in found
    assert ("email", "b***@example.co.id", True) in found
    masked = mask_text(text)
    assert "3171014508920007" not in masked and "3456-7890" not in masked
    assert "@stokdata_admin" in masked


def test_mask_never_shows_more_than_eight_digits_of_a_number():
    assert mask("nik", "3171014508920007") == "3171********0007"
    assert mask("card", "4111 1111 1111 1111") == "4111********1111"
    assert mask("phone", "+62 812 3456 7890") == "6281*******90"


def test_detector_loads_rules_from_another_folder(tmp_path):
    (tmp_path / "only.toml").write_text('[[rule]]\nid = "p"\nlabel = "PRICE"\nweight = 1\nregex = "rp"\nmatch = ["rp"]\n')
    d = Detector(rules_dir=tmp_path)
    assert [r.id for r in d.rules] == ["p"]
