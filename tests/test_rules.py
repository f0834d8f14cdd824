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


# ---------------------------------------------------------------- context

AD = "Jual foto selfie KTP + KK, stok ready 5.000 foto, harga Rp 15rb per foto, minat japri telegram @dataking_demo."


def test_the_ad_alone_is_a_sale(detector):
    assert detector.analyze(AD).label == "sale"


@pytest.mark.parametrize(
    "wrapper",
    [
        'Polisi menangkap pelaku yang mengiklankan data di Facebook. Dalam unggahannya pelaku menulis: "{ad}" Menurut penyidik, ribuan data sudah terjual, kata Kabid Humas.',
        "Waspada! Jangan tergiur tawaran seperti ini: {ad} Penjualan data pribadi melanggar UU PDP, tegas Kemenkominfo dalam siaran pers.",
        'Researchers said a threat actor posted the following offer on a dark web forum: "{ad}" The data was allegedly stolen in 2025.',
    ],
)
def test_the_same_ad_inside_a_report_is_not_a_sale(detector, wrapper):
    a = detector.analyze(wrapper.format(ad=AD))
    assert a.label == "not_sale", a.reasons
    assert any(c.category in ("REPORTED", "OFFICIAL", "WARNING") for c in a.context)


def test_a_question_is_not_an_offer(detector):
    a = detector.analyze("Ada yang jual data KTP + selfie? Butuh 100 buat verifikasi.")
    assert a.label == "not_sale"
    assert any(c.category == "QUESTION" for c in a.context)


def test_a_negated_offer_is_not_a_sale(detector):
    a = detector.analyze("Kami tidak menjual data KTP atau KK pelanggan kepada siapa pun.")
    assert a.label == "not_sale"
    assert any(c.category == "NEGATED" for c in a.context)


def test_pseudo_triggers_do_not_neutralise(detector):
    a = detector.analyze("Jual data NIK + KK valid, harga 5rb per nomor, jangan ragu order via WA.")
    assert a.label == "sale"
    assert not any(c.trigger.lower() == "jangan" for c in a.context)


# ---------------------------------------------------------------- hostile input

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=400))
def test_analyze_never_raises_on_any_unicode(detector, text):
    a = detector.analyze(text)
    assert a.label in ("sale", "not_sale") and 0.0 <= a.score <= 1.0
    for m in a.matches:
        assert 0 <= m.start <= m.end <= len(text)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000))
def test_analyze_survives_binary_junk(detector, blob):
    a = detector.analyze(blob.decode("utf-8", errors="replace"))
    assert a.label in ("sale", "not_sale")


def test_five_megabytes_are_cut_and_say_so(detector):
    from rules import MAX_CHARS

    a = detector.analyze("jual data ktp murah " * 260_000)
    assert a.truncated and any(str(MAX_CHARS) in r for r in a.reasons)
    assert all(m.end <= MAX_CHARS for m in a.matches)


def test_right_to_left_marks_and_zero_width_do_not_hide_words(detector):
    a = detector.analyze("J\u200bual s\u200de\u200cl\u2060fie \u202eKTP\u202c murah, minat japri")
    assert any(m.rule_id == "data.ektp_selfie" for m in a.matches)


def test_reasons_read_as_sentences():
    import re

    from rules import Detector

    analysis = Detector().analyze("Jual foto selfie e-KTP, 15rb/foto, harga Rp 15.000, minat japri telegram @x_demo ,  ")
    reasons = analysis.reasons
    assert "data on offer: e-KTP selfie" in reasons  # weights are in the details, not in the reasons
    price = next(r for r in reasons if r.startswith("price: "))
    assert price == "price: 15rb, harga"  # "Rp 15.000" is the same price as "15rb": listed once
    assert any(r.startswith("contact: ") and "@x_demo" in r for r in reasons)
    for reason in reasons:
        items = reason.split(": ", 1)[-1].split(", ")
        assert all(item and item == item.strip(" ,./") for item in items), reason  # no empty or ragged words
        assert not re.search(r"\(\d+(\.\d+)?\)", reason), reason


def test_reasons_in_both_languages():
    """Every reason is said in Indonesian and English from the catalogue; numbers as each language writes them."""
    from rules import Detector
    from rules.reasons import missing_words, sentences
    from rules.ruleset import CONTEXT_CATEGORIES, DATA_CATEGORIES, LABELS

    assert missing_words(LABELS, DATA_CATEGORIES, CONTEXT_CATEGORIES) == []
    analysis = Detector().analyze("Dijual 2 juta data nasabah, NIK, nama, alamat, no hp. Harga Rp 5jt atau Rp 5.000.000. "
                                  "Kontak t.me/leakbroker. Berita: data ini diduga dijual")
    indonesian = sentences(analysis.reason_parts, "id")
    assert sentences(analysis.reason_parts, "en") == analysis.reasons
    assert "niat menjual: Dijual" in indonesian
    assert any(r.startswith("data yang ditawarkan: ") and "basis data bocor" in r for r in indonesian)
    assert "jumlah data: 2 juta data" in indonesian  # "5jt" in "Rp 5jt" is a price, not a volume
    price = next(r for r in indonesian if r.startswith("harga: "))
    assert price in ("harga: Harga, Rp 5jt", "harga: Harga, Rp 5.000.000")  # the same price, listed once
    assert "konteks: 'dijual' dinetralkan oleh berita atau laporan" in indonesian
    assert not any("_" in r or "SALE_INTENT" in r for r in indonesian + analysis.reasons)  # no codes


def test_reasons_of_the_model_in_both_languages():
    from rules.reasons import sentence

    part = {"kind": "model", "version": "v2", "probability": 0.874, "rules_sale": False, "rules_score": 0.31,
            "terms": [{"feature": "fullz", "kind": "words", "weight": 1.8}, {"feature": "prices", "kind": "signal", "weight": 0.4},
                      {"feature": "berita", "kind": "words", "weight": -0.9}]}
    assert sentence(part, "id") == ("model v2: peluang penjualan 0,87; dinaikkan oleh 'fullz', harga; diturunkan oleh 'berita'; "
                                    "menurut aturan saja: bukan penjualan (skor 0,31)")
    assert sentence(part, "en") == ("model v2: sale probability 0.87; raised by 'fullz', prices; lowered by 'berita'; "
                                    "rules alone: not sale (score 0.31)")
    # stored parts from another version or damaged: shown by their detail, never an error
    assert sentence({"kind": "from_the_future", "detail": "x"}, "id") == "x"
    assert sentence({"kind": "model"}, "en") == ""
