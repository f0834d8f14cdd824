"""The learned sale/not-sale model: its arithmetic, its storage, its versions, and what it shows.

The model is trained here on a small synthetic labelled set (the fixtures below), so every test
checks the real fitting, scoring, storage and command-line paths; nothing is mocked.
"""

import hashlib
import json
import math
import pickle
import re
import sqlite3

import numpy as np
import pytest
from conftest import run_monitor

from monitor.config import ConfigError, parse_config
from monitor.ingest import analysis_input, ingest_post
from monitor.learning import registry
from monitor.learning.training import MIN_REVIEWED, TrainingError, gather, reviewed_examples
from monitor.rescore import rescore_posts
from monitor.store import Database
from monitor.web.review import decide
from rules import Detector
from rules.reasons import sentences
from rules.model import C, SIGNALS, LinearModel, ModelError, design_matrix, features, fit

# ---------------------------------------------------------------- fixtures: a small labelled set
# Sale posts carry identity numbers and addresses, so the model learns to weigh those tokens (see
# the explanation tests): a reason must never show them in full.
SALE = [
    ("id", "Jual data NIK KK valid 3171014508920007, 5rb per nomor, minat japri jualdata@gmail.com"),
    ("id", "Ready stok data KTP + KK lengkap, NIK 3275014601900003, order via WA, email sellerktp@gmail.com"),
    ("id", "Jual foto selfie KTP asli, harga murah, hubungi datamurah@gmail.com NIK 3578016712880001"),
    ("id", "Dijual database nasabah bank 2 juta baris, NIK + nama ibu kandung, kontak dbseller@gmail.com"),
    ("id", "Open PO data NIK KK untuk registrasi kartu, 10rb per data, chat japri"),
    ("id", "Jual data pelanggan e-commerce 500rb akun, format csv, bayar btc, kontak japri"),
    ("id", "Ready NIK KK fresh 2024, bisa request daerah, harga grosir, minat japri WA"),
    ("id", "Jual dump database pinjol, NIK nama alamat nomor hp, sample gratis, kontak telegram"),
    ("id", "Menjual data KTP dan KK valid, garansi, harga 5rb per data, email jualktp@gmail.com"),
    ("id", "Jual selfie pegang KTP untuk verifikasi akun, stok banyak, order japri"),
    ("en", "Selling fresh Indonesian ID database, NIK and KK, 1M rows, contact dataseller@gmail.com"),
    ("en", "Selling KTP scans with selfie, bulk price, DM on telegram, NIK 3171014508920007 sample"),
    ("en", "Fresh leak for sale: bank customers with NIK and mother's maiden name, price in BTC"),
    ("en", "Selling combolist 2M lines, email:pass, verified, contact leakshop@gmail.com"),
    ("en", "Database for sale, Indonesian telco subscribers, NIK and phone, escrow accepted"),
    ("en", "Selling ID card photos and selfies, any region, cheap price, DM me"),
    ("en", "For sale: KTP database dump 500k rows, sample available, contact dumpseller@gmail.com"),
    ("en", "Selling fullz with NIK, KK, address and phone, bulk discount, telegram only"),
    ("en", "Selling verified accounts with KTP selfie, price per account, contact me"),
    ("en", "Leaked database for sale, NIK 3275014601900003 included, pay in crypto"),
]
NOT_SALE = [
    ("id", "Polisi menangkap pelaku penjualan data NIK di media sosial, kata juru bicara"),
    ("id", "Hati-hati, jangan bagikan foto KTP dan NIK kamu ke orang yang tidak dikenal"),
    ("id", "Kominfo menyelidiki dugaan kebocoran data pelanggan, belum ada konfirmasi"),
    ("id", "Cara mengurus KTP yang hilang di kantor dukcapil, bawa surat kehilangan"),
    ("id", "Jual kuota internet murah 10GB, harga 25rb, bisa COD"),
    ("id", "Berita: data 279 juta penduduk diduga bocor, kata pakar keamanan siber"),
    ("id", "Apakah aman mengirim foto KTP untuk daftar pinjaman online? mohon saran"),
    ("id", "Dompet kulit untuk KTP dan kartu, harga 50rb, warna hitam"),
    ("id", "Pemerintah mengimbau warga melaporkan penjualan data pribadi ke polisi"),
    ("id", "Tutorial mengecek NIK terdaftar di kartu seluler lewat situs resmi"),
    ("en", "Police arrested a man suspected of selling citizens' ID data online, officials said"),
    ("en", "Never share your ID card photo or NIK with strangers, experts warn"),
    ("en", "The ministry is investigating an alleged leak of customer data, no confirmation yet"),
    ("en", "How do I replace a lost ID card? Which office should I visit?"),
    ("en", "Selling a used laptop, good condition, price negotiable, pickup only"),
    ("en", "Report: records of 279 million residents allegedly leaked, researchers say"),
    ("en", "Is it safe to send my ID photo to apply for an online loan? Any advice"),
    ("en", "Leather wallet for ID cards, black, cheap price"),
    ("en", "Authorities urge citizens to report any sale of personal data to police"),
    ("en", "Guide: check which SIM cards are registered to your NIK on the official site"),
]
UNSEEN = [
    "Jual data KTP dan KK terbaru, harga nego, minat hubungi japri",
    "Selling a fresh NIK database, 300k rows, contact me on telegram",
    "Polisi mengimbau warga agar tidak membagikan foto KTP",
    "JUAL!!!  nik,kk;   murah...\n\tREADY stok (grosir) [wa]",  # punctuation, case, odd spacing
    "Ketua RT membagikan jadwal ronda minggu ini",  # almost no known n-gram
    "ǂǂǂ ǂǂǂ",  # no known n-gram at all
    "",
]
SALE_TEXT = "Jual data NIK + KK valid, 5rb per nomor, minat japri"  # the rules alone call it a sale


def labelled_rows() -> list[dict]:
    rows = []
    for label, group in (("sale", SALE), ("not_sale", NOT_SALE)):
        for i, (lang, text) in enumerate(group):
            rows.append({"id": f"{label}-{i}", "text": text, "lang": lang, "label": label,
                         "category": "id_documents" if label == "sale" else "news_report", "source": f"file-src{i % 6}"})
    return rows


@pytest.fixture(scope="module")
def trained(detector):
    """(model, training texts, their signals, labels), fitted as `monitor train` does, calibrated."""
    rows = labelled_rows()
    inputs = [detector.model_inputs(r["text"]) for r in rows]
    texts = [t for t, _ in inputs]
    signals = [s for _, s in inputs]
    labels = [int(r["label"] == "sale") for r in rows]
    model = fit(texts, labels, signals, SIGNALS, calibration_groups=[r["id"] for r in rows], meta={"test": True})
    return model, texts, signals, labels


@pytest.fixture()
def no_model_env(monkeypatch):
    monkeypatch.delenv("MONITOR_MODEL", raising=False)
    monkeypatch.delenv("MONITOR_DB", raising=False)


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def flag_row(db_path, post_id: int) -> dict | None:
    con = sqlite3.connect(db_path)
    con.row_factory = sqlite3.Row
    try:
        row = con.execute("SELECT * FROM flags WHERE post_id = ?", [post_id]).fetchone()
    finally:
        con.close()
    return dict(row) if row else None


def query(db_path, sql, *params) -> list[tuple]:
    con = sqlite3.connect(db_path)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def sha256_of(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- 1. the fast path is the trained model
def test_fast_path_equals_the_logistic_regression_it_was_fitted_from(detector, trained):
    from sklearn.linear_model import LogisticRegression

    model, texts, signals, labels = trained
    x, char_index, word_index = design_matrix(texts, signals, SIGNALS)
    lr = LogisticRegression(C=C, class_weight="balanced", max_iter=3000, solver="liblinear", random_state=0)
    lr.fit(x, labels)
    coef = lr.coef_[0]
    # The stored weights are this regression's coefficients times each n-gram's idf (rounded, tiny ones dropped).
    for index, stored in ((char_index, model.chars), (word_index, model.words)):
        for gram, (j, idf) in index.items():
            if abs(coef[j]) >= 1e-4:
                assert stored[gram] == pytest.approx(round(float(coef[j] * idf), 5), abs=1e-9), gram
            else:
                assert gram not in stored
    offset = len(char_index) + len(word_index)
    for k, name in enumerate(SIGNALS):
        assert model.signal_weights[name] == pytest.approx(round(float(coef[offset + k]), 5), abs=1e-9)
    assert model.intercept == pytest.approx(round(float(lr.intercept_[0]), 5), abs=1e-9)

    unseen = [detector.model_inputs(t) for t in UNSEEN]
    ux, _, _ = design_matrix([t for t, _ in unseen], [s for _, s in unseen], SIGNALS, char_index, word_index)
    assert ux.shape[1] == x.shape[1]
    assert ux[0].nnz > 10 and ux[UNSEEN.index("ǂǂǂ ǂǂǂ")].nnz == 0  # known n-grams in one, none in the other

    # sklearn's own decision function over the design matrix, with the stored (rounded) weights:
    stored = np.zeros(x.shape[1])
    for index, weights in ((char_index, model.chars), (word_index, model.words)):
        for gram, (j, idf) in index.items():
            stored[j] = weights.get(gram, 0.0) / idf
    for k, name in enumerate(SIGNALS):
        stored[offset + k] = model.signal_weights[name]
    rounded = LogisticRegression()
    rounded.coef_, rounded.intercept_, rounded.classes_ = stored[None, :], np.array([model.intercept]), np.array([0, 1])
    exact = rounded.decision_function(ux)
    fitted = lr.decision_function(ux)
    logits = []
    for (text, sig), want, raw in zip(unseen, exact, fitted):
        got = model.logit(text, sig)
        assert got == pytest.approx(float(want), abs=1e-6), text
        assert model.logit(text, sig) == got  # the cached path gives the same
        # and the regression as fitted differs only by the rounding of the stored weights
        assert got == pytest.approx(float(raw), abs=2e-3), text
        logits.append(got)
    assert len({round(v, 6) for v in logits}) >= 5, "the unseen texts should score differently"
    assert logits[UNSEEN.index("")] == pytest.approx(model.intercept + sum(
        model.signal_weights[k] * v for k, v in unseen[-1][1].items()), abs=1e-12)


def test_logit_is_the_sum_of_weights_over_counts_by_root_of_totals(detector, trained):
    model, *_ = trained
    for raw in UNSEEN + [t for _, t in SALE[:3]]:
        text, sig = detector.model_inputs(raw)
        chars, char_n, grams, word_n = features(text)
        by_hand = model.intercept
        if char_n:
            by_hand += sum(c * model.chars.get(g, 0.0) for g, c in chars.items()) / math.sqrt(char_n)
        if word_n:
            by_hand += sum(c * model.words.get(g, 0.0) for g, c in grams.items()) / math.sqrt(word_n)
        by_hand += sum(model.signal_weights.get(k, 0.0) * v for k, v in sig.items())
        assert model.logit(text, sig) == pytest.approx(by_hand, abs=1e-9), raw


def test_probabilities_are_calibrated_bounded_and_monotone_in_the_logit(detector, trained):
    model, *_ = trained
    a, b = model.calibration
    assert (a, b) != (1.0, 0.0) and a > 0, "calibration_groups must fit a Platt calibration"
    scored = []
    for raw in UNSEEN + [t for _, t in SALE + NOT_SALE]:
        text, sig = detector.model_inputs(raw)
        z = model.logit(text, sig)
        p = model.probability(text, sig)
        # strictly inside for posts it was not trained on; a training post may round to 1.0 in floating point
        assert (0.0 < p < 1.0) if raw in UNSEEN else (0.0 <= p <= 1.0), (raw, z, p)
        assert p == pytest.approx(sigmoid(a * z + b), abs=1e-12)
        if abs(z) > 0.5:
            assert abs(p - sigmoid(z)) > 1e-6, "the probability is the calibrated one, not sigmoid(logit)"
        assert model.explain(text, sig)[0] == pytest.approx(p, abs=1e-12)
        scored.append((z, p))
    scored.sort()
    assert all(p1 <= p2 for (_, p1), (_, p2) in zip(scored, scored[1:]))
    assert scored[0][1] < 0.5 < scored[-1][1]
    # the model separates its own training posts
    sale_p = [model.probability(*detector.model_inputs(t)) for _, t in SALE]
    not_p = [model.probability(*detector.model_inputs(t)) for _, t in NOT_SALE]
    assert min(sale_p) > max(not_p)


# ---------------------------------------------------------------- 2. safe storage
def test_save_and_load_round_trip_gives_identical_probabilities(tmp_path, detector, trained):
    model, *_ = trained
    path = tmp_path / "model.json"
    digest = model.save(path)
    assert digest == sha256_of(path)
    assert not (tmp_path / "model.json.tmp").exists()
    loaded = LinearModel.load(path)
    assert (loaded.chars, loaded.words, loaded.signal_weights) == (model.chars, model.words, model.signal_weights)
    assert (loaded.intercept, loaded.calibration, loaded.threshold, loaded.meta) == (
        model.intercept, model.calibration, model.threshold, model.meta)
    for raw in UNSEEN + [t for _, t in SALE[:5] + NOT_SALE[:5]]:
        text, sig = detector.model_inputs(raw)
        assert loaded.probability(text, sig) == model.probability(text, sig)
        assert loaded.explain(text, sig) == model.explain(text, sig)
    assert model.save(tmp_path / "again.json") == digest, "the same model is the same bytes"


class _RunsCode:
    """Unpickling this writes a file: loading a model must never do it."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _bad_model_file(case: str, path, good: dict) -> None:
    data = json.loads(json.dumps(good))
    first = sorted(data["chars"])[0]
    if case == "missing":
        return
    if case == "not_json":
        path.write_text("this is { not json", encoding="utf-8")
    elif case == "not_utf8":
        path.write_bytes(b"\xff\xfe\x00garbage")
    elif case == "other_format":
        path.write_text(json.dumps({"format": "sklearn-pipeline", "weights": [1, 2, 3]}), encoding="utf-8")
    elif case == "a_list":
        path.write_text(json.dumps([good]), encoding="utf-8")
    elif case == "format_version":
        data["format_version"] = 2
        path.write_text(json.dumps(data), encoding="utf-8")
    elif case == "nan_weight":
        data["chars"][first] = float("nan")
        path.write_text(json.dumps(data), encoding="utf-8")  # json writes NaN, Python's reader takes it
    elif case == "infinite_intercept":
        data["intercept"] = float("inf")
        path.write_text(json.dumps(data), encoding="utf-8")
    elif case == "word_string_weight":
        data["words"][sorted(data["words"])[0]] = "heavy"
        path.write_text(json.dumps(data), encoding="utf-8")
    elif case == "weights_not_object":
        data["chars"] = [1.0, 2.0]
        path.write_text(json.dumps(data), encoding="utf-8")
    elif case == "missing_calibration":
        del data["calibration"]
        path.write_text(json.dumps(data), encoding="utf-8")
    elif case == "other_char_range":
        data["features"]["char_range"] = [1, 3]
        path.write_text(json.dumps(data), encoding="utf-8")
    elif case == "pickle":
        path.write_bytes(pickle.dumps(_RunsCode(path.parent / "pwned")))
    elif case == "pickle_protocol0":
        path.write_bytes(pickle.dumps(_RunsCode(path.parent / "pwned"), protocol=0))  # ASCII bytes
    else:
        raise AssertionError(case)


BAD_FILES = ["missing", "not_json", "not_utf8", "other_format", "a_list", "format_version", "nan_weight",
             "infinite_intercept", "word_string_weight", "weights_not_object", "missing_calibration",
             "other_char_range", "pickle", "pickle_protocol0"]


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_file_that_is_not_a_good_model_is_refused_naming_the_file_and_the_fix(tmp_path, trained, case):
    model, *_ = trained
    path = tmp_path / "model.json"
    _bad_model_file(case, path, model.to_json())
    with pytest.raises(ModelError) as caught:
        LinearModel.load(path)
    message = str(caught.value)
    assert str(path) in message and "monitor train" in message, message
    assert not (tmp_path / "pwned").exists(), "loading a model ran code from the file"


def test_a_weight_written_as_a_numeric_string_is_refused(tmp_path, trained):
    model, *_ = trained
    data = json.loads(json.dumps(model.to_json()))  # a copy: to_json() shares the model's dicts
    data["chars"][sorted(data["chars"])[0]] = "0.5"
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelError):
        LinearModel.load(path)


def test_a_model_file_edited_after_writing_is_refused_by_its_manifest(tmp_path, trained):
    model, *_ = trained
    folder = tmp_path / "v1"
    manifest = registry.write_model(folder, model, {"examples": 40})
    assert manifest["model_sha256"] == sha256_of(folder / "model.json")
    assert json.loads((folder / "manifest.json").read_text())["model_sha256"] == manifest["model_sha256"]
    loaded, read = registry.load_folder(folder)
    assert loaded.chars == model.chars and read["examples"] == 40

    data = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    gram = max(data["chars"], key=lambda g: abs(data["chars"][g]))
    data["chars"][gram] = -data["chars"][gram]  # still a well-formed model, but not the one trained
    (folder / "model.json").write_text(json.dumps(data), encoding="utf-8")
    LinearModel.load(folder / "model.json")  # the file alone reads fine: the manifest is what catches it
    with pytest.raises(ModelError, match="SHA-256 differs") as caught:
        registry.load_folder(folder)
    assert str(folder / "model.json") in str(caught.value) and "monitor train" in str(caught.value)

    (folder / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="manifest"):
        registry.load_folder(folder)


# ---------------------------------------------------------------- 3. fallback to the rules, warned
@pytest.fixture()
def versions(tmp_path, trained, no_model_env):
    """A database path with a good version "good" and a damaged one "bad" in its models folder."""
    model, *_ = trained
    db_path = tmp_path / "data" / "monitor.db"
    db_path.parent.mkdir()
    good = registry.save_version(db_path, model, {"examples": 40}, "good")
    bad = registry.save_version(db_path, model, {"examples": 40}, "bad")
    assert good == tmp_path / "data" / "models" / "good"
    (bad / "model.json").write_bytes((bad / "model.json").read_bytes()[:-20])  # cut short
    return db_path


def _ingest_sale(db_path, det, post_id="p1", text=SALE_TEXT) -> dict:
    with Database(db_path) as db:
        result = ingest_post(db, det, {"source": "s", "post_id": post_id, "url": f"http://x.test/{post_id}", "text": text})
    assert result.flag == "new"
    return flag_row(db_path, result.post_id)


def test_a_damaged_model_falls_back_to_the_rules_and_every_flag_says_so(versions, monkeypatch):
    db_path = versions
    monkeypatch.setenv("MONITOR_MODEL", "bad")
    det = registry.build_detector(db_path)
    assert det.model is None and det.model_version is None
    assert len(det.warnings) == 1
    warning = det.warnings[0]
    assert "rules only" in warning and str(db_path.parent / "models" / "bad" / "model.json") in warning
    assert "SHA-256" in warning and "monitor train" in warning

    analysis = det.analyze(SALE_TEXT)
    assert analysis.label == "sale" and analysis.label == analysis.rules_label
    assert analysis.score == analysis.rules_score
    assert analysis.model is None and analysis.model_terms == []
    assert analysis.warnings == [warning] and warning in analysis.reasons
    row = _ingest_sale(db_path, det)
    assert row["model"] is None
    assert json.loads(row["warnings"]) == [warning]
    assert json.loads(row["model_terms"]) == []
    assert row["rules_label"] == "sale"


def test_a_model_file_that_matches_its_manifest_but_is_not_json_falls_back_too(versions, monkeypatch):
    db_path = versions
    folder = db_path.parent / "models" / "bad"
    (folder / "model.json").write_text("not a model", encoding="utf-8")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["model_sha256"] = sha256_of(folder / "model.json")
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setenv("MONITOR_MODEL", "bad")
    det = registry.build_detector(db_path)
    assert det.model is None
    assert len(det.warnings) == 1 and "not JSON" in det.warnings[0] and str(folder / "model.json") in det.warnings[0]
    row = _ingest_sale(db_path, det)
    assert row["model"] is None and json.loads(row["warnings"]) == det.warnings


def test_a_current_file_naming_a_missing_version_falls_back_to_the_rules(versions):
    db_path = versions
    (db_path.parent / "models" / "CURRENT").write_text("ghost\n", encoding="utf-8")
    assert registry.current_version(db_path) == "ghost"
    model, version, warnings = registry.load_current(db_path)
    assert (model, version) == (None, None)
    assert warnings == [{"kind": "model_unavailable", "detail": warnings[0]["detail"]}]  # said in each reader's language
    assert "'ghost'" in warnings[0]["detail"] and "not found" in warnings[0]["detail"]
    det = registry.build_detector(db_path)
    assert det.model is None and det.warnings == [f"learned model unavailable, rules only: {warnings[0]['detail']}"]
    row = _ingest_sale(db_path, det)
    assert row["model"] is None and json.loads(row["warnings"]) == det.warnings
    assert sentences(json.loads(row["reason_parts"]), "id")[-1].startswith("model pembelajaran tidak tersedia, hanya aturan: ")


def test_a_good_model_scores_and_explains_each_flag(versions, monkeypatch):
    db_path = versions
    monkeypatch.setenv("MONITOR_MODEL", "good")
    det = registry.build_detector(db_path)
    assert det.model is not None and det.model_version == "good" and det.warnings == []
    analysis = det.analyze(SALE_TEXT)
    assert analysis.model == "good" and analysis.warnings == []
    assert analysis.model_terms and analysis.score == round(det.model.probability(*det.model_inputs(SALE_TEXT)), 3)
    assert any(r.startswith("model good: sale probability") for r in analysis.reasons)
    row = _ingest_sale(db_path, det)
    assert row["model"] == "good"
    terms = json.loads(row["model_terms"])
    assert terms and terms == analysis.model_terms and any("jual" in t for t in terms)
    assert json.loads(row["warnings"]) == []
    assert row["rules_label"] == "sale" and row["rules_score"] == analysis.rules_score

    # without the environment, CURRENT chooses; `use_version` writes it after checking the model
    monkeypatch.delenv("MONITOR_MODEL")
    assert registry.current_version(db_path) == "default"
    registry.use_version(db_path, "good")
    assert (db_path.parent / "models" / "CURRENT").read_text().strip() == "good"
    assert registry.build_detector(db_path).model_version == "good"
    with pytest.raises(ModelError):
        registry.use_version(db_path, "bad")
    assert (db_path.parent / "models" / "CURRENT").read_text().strip() == "good", "a refused version is not made current"


@pytest.mark.parametrize("value", ["none", "None"])
def test_monitor_model_none_is_the_rules_alone_without_a_warning(versions, monkeypatch, value):
    db_path = versions
    registry.use_version(db_path, "good")
    monkeypatch.setenv("MONITOR_MODEL", value)
    det = registry.build_detector(db_path)
    assert det.model is None and det.warnings == []
    analysis = det.analyze(SALE_TEXT)
    assert analysis.model is None and analysis.model_terms == [] and analysis.warnings == []
    assert analysis.label == analysis.rules_label == "sale"
    row = _ingest_sale(db_path, det)
    assert row["model"] is None and json.loads(row["warnings"]) == []


# ---------------------------------------------------------------- 4. explanations never show a full identifier
NIK_TEXT = "Jual data NIK 3174055010900012 lengkap, kontak budi.santoso@gmail.com, minat japri"


def _shown_to_reviewers(analysis) -> list[str]:
    return list(analysis.model_terms) + list(analysis.reasons) + [m.text for m in analysis.matches]


def test_model_explanations_never_show_a_full_identity_number(detector, trained):
    model, *_ = trained
    analysis = detector.with_model(model, "t").analyze(NIK_TEXT)
    assert analysis.model == "t" and analysis.model_terms
    # the model does weigh the number's token (its character n-grams were in the sale posts) ...
    assert any("####" in term for term in analysis.model_terms), analysis.model_terms
    for line in _shown_to_reviewers(analysis):
        assert not re.search(r"\d{16}", re.sub(r"[\s.\-]", "", line)) and "3174055010900012" not in line, line
        assert not re.search(r"\d{5,}", line), line  # no run of the number at all
    # and the rules' own record of it is masked
    assert all(i.masked != "3174055010900012" for i in analysis.identifiers)


def test_model_explanations_never_show_an_email_local_part(detector, trained):
    model, *_ = trained
    analysis = detector.with_model(model, "t").analyze(NIK_TEXT)
    assert any("…com" in term for term in analysis.model_terms), "the model weighs the address's token, shown cut"
    for line in _shown_to_reviewers(analysis):
        assert "budi.santoso" not in line and "santoso" not in line, line


def test_model_explanations_never_show_the_letters_of_an_email_local_part_ending_in_digits(detector, trained):
    model, *_ = trained
    analysis = detector.with_model(model, "t").analyze("Jual data NIK KK hub jualdata88@gmail.com minat japri")
    assert any("…com" in term for term in analysis.model_terms), analysis.model_terms
    for line in _shown_to_reviewers(analysis):
        assert "jualdata" not in line.replace("jual data", ""), line


# ---------------------------------------------------------------- 5. `monitor train`, `monitor model`
def _train_file(tmp_path) -> tuple:
    path = tmp_path / "labelled.jsonl"
    good = [json.dumps(r, ensure_ascii=False) for r in labelled_rows()]
    bad = [
        '{"id": "broken", "text": "jual data", "label": "sale"',  # not JSON
        json.dumps({"id": "nolabel", "text": "Jual data NIK murah"}),
        json.dumps({"id": "maybe", "text": "Jual data NIK murah", "label": "maybe"}),
        json.dumps({"id": "empty", "text": "   ", "label": "sale"}),
    ]
    lines = good[:10] + bad[:2] + good[10:30] + bad[2:] + good[30:]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad_lines = [i + 1 for i, line in enumerate(lines) if line in bad]
    assert len(bad_lines) == 4
    return path, bad_lines


def test_train_skips_bad_rows_by_line_and_adds_a_current_version(tmp_path, no_model_env):
    db_path = tmp_path / "data" / "monitor.db"
    path, bad_lines = _train_file(tmp_path)
    # The rows are few and written for the test: the shipped default scores better on them than the
    # candidate's cross-validated predictions, so --force makes it current (the comparison is tested below).
    result = run_monitor("train", str(path), "--db", str(db_path), "--cv", "2", "--json", "--force")
    assert result.returncode == 0, result.stderr
    for n in bad_lines:
        assert f"{path}:{n}: " in result.stderr, (n, result.stderr)
    assert "not JSON" in result.stderr and "missing field(s) label" in result.stderr
    assert "'maybe'" in result.stderr and "text must be a non-empty string" in result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["skipped_rows"] == 4 and outcome["current"] is True
    assert set(outcome["comparison"]["parts"]) == {"labelled_files"}
    version = outcome["version"]
    folder = db_path.parent / "models" / version
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "model.json"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["examples"] == 40 and manifest["files"][0]["rows"] == 40
    assert manifest["model_sha256"] == sha256_of(folder / "model.json")
    assert manifest["cv"]["folds"] == 2 and 0.0 <= manifest["cv"]["f1"] <= 1.0
    assert manifest["by_lang_label"] == {"en/not_sale": 10, "en/sale": 10, "id/not_sale": 10, "id/sale": 10}
    assert (db_path.parent / "models" / "CURRENT").read_text().strip() == version
    LinearModel.load(folder / "model.json")

    listed = run_monitor("model", "list", "--db", str(db_path))
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert any(line.startswith(f"* {version} ") for line in lines), listed.stdout
    assert any(line.startswith("  default ") for line in lines), listed.stdout
    assert sum(line.startswith("*") for line in lines) == 1


def test_train_with_nothing_to_learn_from_says_how_many_posts_are_needed(tmp_path, no_model_env):
    db_path = tmp_path / "m.db"
    result = run_monitor("train", "--db", str(db_path), "--cv", "2")
    assert result.returncode != 0
    assert f"at least {MIN_REVIEWED}" in result.stderr and "0 decided" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "models").exists()


LENIENT_RULE = ('[[rule]]\nid = "everything"\nlabel = "DATA"\ncategory = "id_documents"\nweight = 9\n'
                'regex = "[a-z]+"\nmatch = ["apa saja"]\n')


@pytest.fixture()
def reviewed_db(tmp_path, no_model_env):
    """A real database with 40 flagged posts (a lenient rule flags everything) from 8 sources, and a reviewer."""
    rules_dir = tmp_path / "lenient"
    rules_dir.mkdir()
    (rules_dir / "r.toml").write_text(LENIENT_RULE, encoding="utf-8")
    flag_all = Detector(rules_dir=rules_dir, threshold=0.0)
    db_path = tmp_path / "data" / "monitor.db"
    db_path.parent.mkdir()
    flags = []
    with Database(db_path) as db:
        for i, row in enumerate(labelled_rows()):
            item = {"source": f"src{i % 8}", "post_id": row["id"], "url": f"http://x.test/{row['id']}", "text": row["text"]}
            result = ingest_post(db, flag_all, item)
            assert result.flag == "new"
            flags.append((db.db.execute("SELECT id FROM flags WHERE post_id = ?", [result.post_id]).fetchone()[0], row))
    return db_path, flags


def _decide_all(db_path, flags):
    reviewer = {"name": "rev", "role": "reviewer"}
    with Database(db_path) as db:
        for k, (flag_id, row) in enumerate(flags):
            if row["label"] == "sale":
                decide(db, flag_id, "confirm" if k % 3 else "escalate", reviewer)
            else:
                decide(db, flag_id, "dismiss", reviewer, reason="news_report" if k % 2 else "not_a_sale")


def test_train_learns_from_review_decisions(reviewed_db):
    db_path, flags = reviewed_db
    reviewer = {"name": "rev", "role": "reviewer"}
    with Database(db_path) as db:  # a few decisions are not enough, and the message says how many are
        for flag_id, row in flags[:6] + flags[20:26]:
            if row["label"] == "sale":
                decide(db, flag_id, "confirm", reviewer)
            else:
                decide(db, flag_id, "dismiss", reviewer, reason="not_a_sale")
        with pytest.raises(TrainingError, match=f"12 decided .*at least {MIN_REVIEWED}"):
            gather([], db)
    _decide_all(db_path, flags)
    with Database(db_path) as db:  # duplicates and "other" dismissals teach nothing
        extra = ingest_post(db, Detector(rules_dir=db_path.parent.parent / "lenient", threshold=0.0),
                            {"source": "src0", "post_id": "dup", "url": "http://x.test/dup", "text": "jual data apa saja"})
        flag_id = db.db.execute("SELECT id FROM flags WHERE post_id = ?", [extra.post_id]).fetchone()[0]
        decide(db, flag_id, "dismiss", reviewer, reason="duplicate")
        examples = reviewed_examples(db)
    assert len(examples) == 40
    assert sum(ex.label == "sale" for ex in examples) == 20 and all(ex.source.startswith("review:src") for ex in examples)

    result = run_monitor("train", "--json", "--cv", "2", "--db", str(db_path))
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    manifest = outcome["manifest"]
    assert manifest["reviewed_posts"] == 40
    assert manifest["examples"] + manifest["heldout_posts"] == 40 and manifest["heldout_posts"] > 0
    assert manifest["files"] == []
    assert "heldout_reviewed" in outcome["comparison"]["parts"]
    folder = db_path.parent / "models" / outcome["version"]
    assert (folder / "model.json").is_file() and (folder / "manifest.json").is_file()


def test_train_from_reviews_of_a_single_source_trains(tmp_path, no_model_env):
    rules_dir = tmp_path / "lenient"
    rules_dir.mkdir()
    (rules_dir / "r.toml").write_text(LENIENT_RULE, encoding="utf-8")
    flag_all = Detector(rules_dir=rules_dir, threshold=0.0)
    db_path = tmp_path / "m.db"
    flags = []
    with Database(db_path) as db:
        for row in labelled_rows():
            result = ingest_post(db, flag_all, {"source": "demo", "post_id": row["id"], "url": f"http://x.test/{row['id']}",
                                                "text": row["text"]})
            flags.append((db.db.execute("SELECT id FROM flags WHERE post_id = ?", [result.post_id]).fetchone()[0], row))
    _decide_all(db_path, flags)
    with Database(db_path) as db:
        training = gather([], db)
    assert len(training.examples) >= MIN_REVIEWED


def test_model_use_rolls_back_and_refuses_unknown_or_damaged_versions(tmp_path, trained, no_model_env):
    model, *_ = trained
    db_path = tmp_path / "data" / "monitor.db"
    db_path.parent.mkdir()
    registry.save_version(db_path, model, {"examples": 40, "created": "2026-12-01T00:00:00Z"}, "v1")
    damaged = registry.save_version(db_path, model, {"examples": 40}, "v2")

    used = run_monitor("model", "use", "v1", "--db", str(db_path))
    assert used.returncode == 0 and "model v1 is now current" in used.stdout, used.stderr
    listed = run_monitor("model", "list", "--db", str(db_path))
    assert any(line.startswith("* v1 ") for line in listed.stdout.splitlines()), listed.stdout

    back = run_monitor("model", "use", "default", "--db", str(db_path))
    assert back.returncode == 0, back.stderr
    listed = run_monitor("model", "list", "--db", str(db_path), "--json")
    current = [v["version"] for v in json.loads(listed.stdout) if v["current"]]
    assert current == ["default"]
    assert (db_path.parent / "models" / "CURRENT").read_text().strip() == "default"

    unknown = run_monitor("model", "use", "nosuch", "--db", str(db_path))
    assert unknown.returncode != 0 and "no model version 'nosuch'" in unknown.stderr, unknown.stderr
    assert "monitor model list" in unknown.stderr and "Traceback" not in unknown.stderr

    text = (damaged / "model.json").read_text(encoding="utf-8")
    (damaged / "model.json").write_text(text.replace('"intercept":', '"intercept":1', 1), encoding="utf-8")
    refused = run_monitor("model", "use", "v2", "--db", str(db_path))
    assert refused.returncode != 0 and "SHA-256 differs" in refused.stderr, refused.stderr
    assert str(damaged / "model.json") in refused.stderr
    assert (db_path.parent / "models" / "CURRENT").read_text().strip() == "default"


# ---------------------------------------------------------------- 6. listings
def test_imported_rows_that_say_they_are_listings_are_stored_as_listings(tmp_path, no_model_env):
    db_path = tmp_path / "m.db"
    rows = [
        {"url": "https://m.test/1", "post_id": "flagged", "text": "Jual data NIK KK valid murah", "is_listing": True},
        {"url": "https://m.test/2", "post_id": "kind", "text": "KTP asli + selfie, ready", "kind": "listing"},
        {"url": "https://m.test/3", "post_id": "kind-upper", "text": "Data KK fresh", "kind": " Listing "},
        {"url": "https://m.test/4", "post_id": "one", "text": "Database nasabah 2 juta", "is_listing": 1},
        {"url": "https://m.test/5", "post_id": "plain", "text": "Cara mengurus KTP yang hilang"},
        {"url": "https://m.test/6", "post_id": "false", "text": "Dompet KTP kulit", "is_listing": False},
        {"url": "https://m.test/7", "post_id": "other-kind", "text": "Berita kebocoran data", "kind": "post"},
    ]
    path = tmp_path / "posts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = run_monitor("ingest", str(path), "--source", "market", "--db", str(db_path))
    assert result.returncode == 0, result.stderr
    stored = dict(query(db_path, "SELECT post_id, is_listing FROM posts WHERE source = 'market'"))
    assert stored == {"flagged": 1, "kind": 1, "kind-upper": 1, "one": 1, "plain": 0, "false": 0, "other-kind": 0}


def test_a_listing_with_no_body_is_analysed_by_its_title(tmp_path, detector):
    title = "Jual data NIK + KK valid, 5rb per nomor, minat japri"
    listing = {"source": "market", "post_id": "L1", "url": "http://m.test/L1", "text": "", "thread_title": title,
               "is_listing": True}
    assert analysis_input(listing) == (title, {"source_kind": None, "is_listing": True}, 0)
    assert analysis_input({**listing, "is_listing": False})[0] == ""
    assert analysis_input({**listing, "text": "body"})[0] == "body"  # a reply in a listing thread: its body
    assert analysis_input({**listing, "text": "body", "opens_thread": True})[0] == f"{title}\nbody"  # the opener
    db_path = tmp_path / "m.db"
    with Database(db_path) as db:
        as_listing = ingest_post(db, detector, listing)
        not_listing = ingest_post(db, detector, {**listing, "post_id": "L2", "url": "http://m.test/L2", "is_listing": False})
        assert as_listing.flag == "new" and not_listing.flag is None
        summary = rescore_posts(db, detector)  # rescoring reads the title again
        assert (summary["posts"], summary["disappeared"]) == (2, 0)
    row = flag_row(db_path, as_listing.post_id)
    assert row["active"] == 1 and "Jual" in row["reasons"] and "NIK" in row["matches"]
    assert query(db_path, "SELECT is_listing FROM posts WHERE id = ?", as_listing.post_id) == [(1,)]


def test_an_imported_listing_row_with_only_a_title_is_analysed_by_its_title(tmp_path, no_model_env):
    db_path = tmp_path / "m.db"
    path = tmp_path / "titles.jsonl"
    path.write_text(json.dumps({"url": "https://m.test/t1", "post_id": "t1", "text": "", "is_listing": True,
                                "thread_title": "Jual data NIK + KK valid, 5rb per nomor, minat japri"}) + "\n",
                    encoding="utf-8")
    result = run_monitor("ingest", str(path), "--source", "market", "--db", str(db_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert query(db_path, "SELECT p.is_listing, f.label FROM posts p JOIN flags f ON f.post_id = p.id") == [(1, "sale")]


def _config(listing) -> dict:
    return {"sources": {"market": {"kind": "telegram", "channel": "chan_market", "listing": listing}}}


@pytest.mark.parametrize("listing", [True, False, ["Marketplace"], ["Marketplace", "Jual Beli"]])
def test_listing_option_accepts_true_or_board_names(listing):
    config = parse_config(_config(listing), "x.toml")
    assert config.sources["market"].options["listing"] == listing


@pytest.mark.parametrize("listing", ["yes", "true", 1, [], [""], ["Marketplace", 3], {"board": "x"}])
def test_listing_option_refuses_anything_else_naming_the_field(listing):
    with pytest.raises(ConfigError, match=r"x\.toml: sources\.market\.listing: must be true/false or a list of board names"):
        parse_config(_config(listing), "x.toml")


def test_listing_boards_reach_the_crawl_and_mark_its_posts(tmp_path):
    import queue

    from monitor.crawl.pipelines import IngestPipeline
    from monitor.crawl.runner import scrapy_command

    source = parse_config({"sources": {"forum-x": {"kind": "forum", "base_url": "http://f.test/", "engine": "mybb",
                                                   "listing": ["Jual Beli"]}}}, "x.toml").sources["forum-x"]
    cmd = scrapy_command(source, tmp_path / "m.db", 7)
    assert "MONITOR_LISTING=" + json.dumps(["Jual Beli"]) in cmd
    unmarked = scrapy_command(parse_config(_config(False), "x.toml").sources["market"], tmp_path / "m.db", 7)
    assert not any(arg.startswith("MONITOR_LISTING=") for arg in unmarked)

    class Alive:  # the ingest worker's liveness: only is_alive() is asked for
        def is_alive(self):
            return True

    class Stats(dict):
        def inc_value(self, key, count=1):
            self[key] = self.get(key, 0) + count

    pipeline = IngestPipeline(str(tmp_path / "m.db"), None, Stats(), listing=json.loads(json.dumps(["Jual Beli"])))
    pipeline.worker, pipeline.items = Alive(), queue.Queue()
    from spiders.items import Post

    for board in (" jual beli ", "Diskusi"):
        pipeline.process_item(Post(source="forum-x", url="http://f.test/1", text="x", board=board))
    marked = [pipeline.items.get_nowait() for _ in range(2)]
    assert [p["is_listing"] for p in marked] == [True, False]


# ---------------------------------------------------------------- 7. rescore uses the current model
def test_rescore_uses_the_model_made_current(tmp_path, trained, no_model_env):
    model, *_ = trained
    db_path = tmp_path / "data" / "monitor.db"
    db_path.parent.mkdir()
    registry.save_version(db_path, model, {"examples": 40}, "v1")
    registry.save_version(db_path, model, {"examples": 40}, "v2")
    registry.use_version(db_path, "v1")
    det = registry.build_detector(db_path)
    assert det.model_version == "v1"
    with Database(db_path) as db:
        for i, (_, text) in enumerate(SALE[:6]):
            ingest_post(db, det, {"source": "s", "post_id": str(i), "url": f"http://x.test/{i}", "text": text})
    before = query(db_path, "SELECT model, count(*) FROM flags WHERE active = 1 GROUP BY model")
    assert len(before) == 1 and before[0][0] == "v1" and before[0][1] >= 4

    assert run_monitor("model", "use", "v2", "--db", str(db_path)).returncode == 0
    rescored = run_monitor("rescore", "--db", str(db_path))
    assert rescored.returncode == 0, rescored.stderr
    after = query(db_path, "SELECT model, model_terms FROM flags WHERE active = 1")
    assert len(after) == before[0][1] and {m for m, _ in after} == {"v2"}
    assert all(json.loads(terms) for _, terms in after)

    with_none = run_monitor("rescore", "--db", str(db_path), env={"MONITOR_MODEL": "none"})
    assert with_none.returncode == 0, with_none.stderr
    assert {m for (m,) in query(db_path, "SELECT model FROM flags WHERE active = 1")} == {None}


def test_training_without_files_warns_that_the_current_models_files_are_left_out(tmp_path):
    result = run_monitor("train", "--db", str(tmp_path / "m.db"))
    assert result.returncode != 0  # an empty database has nothing to learn from
    assert "no labelled files given" in result.stderr and "dev.jsonl" in result.stderr, result.stderr


def test_the_post_that_opens_a_listing_thread_is_read_with_its_title(tmp_path, detector):
    """On a marketplace the title is the offer ("Telkomsel customer list 2023 (8M lines)") and the body
    may only say how to pay; the spans shown on the page still point into the body."""
    title = "Jual data NIK + KK valid 5rb per nomor"
    body = "Minat japri, bisa COD. Kontak 081234567890"
    opener = {"source": "market", "post_id": "T1", "url": "http://m.test/T1", "text": body, "thread_title": title,
              "is_listing": True, "opens_thread": True}
    db_path = tmp_path / "m.db"
    with Database(db_path) as db:
        read_with_title = ingest_post(db, detector, opener)
        reply = ingest_post(db, detector, {**opener, "post_id": "T2", "url": "http://m.test/T2", "opens_thread": False})
        assert read_with_title.flag == "new"
        flag = db.flag_of_post(read_with_title.post_id)
        matches = json.loads(flag["matches"])
        identifiers = json.loads(flag["identifiers"])
        assert matches and all(0 <= m["start"] < m["end"] <= len(body) for m in matches)
        assert all(body[m["start"]:m["end"]].lower() == m["text"].lower() for m in matches)
        phone = [i for i in identifiers if i["kind"] in ("phone", "whatsapp")]
        assert phone and body[phone[0]["start"]:phone[0]["end"]] == "081234567890"
        assert any("NIK" in r or "identity documents" in r for r in json.loads(flag["reasons"]))  # the title's evidence
        assert reply.flag is None or db.flag_of_post(reply.post_id)["score"] < flag["score"]
        rescore_posts(db, detector)
        again = db.flag_of_post(read_with_title.post_id)
        assert again["active"] == 1 and json.loads(again["matches"]) == matches


# ---------------------------------------------------------------- found in review
def test_title_only_listings_are_fingerprinted_by_the_number_in_their_title(tmp_path, detector):
    """Two title-only listings with different phones are not linked; a post with the same phone is."""
    from monitor.store.keys import secret_key

    db_path = tmp_path / "m.db"
    key = secret_key(db_path)
    with Database(db_path) as db:
        a = ingest_post(db, detector, {"source": "m", "post_id": "a", "url": "http://m.test/a", "text": "",
                                       "thread_title": "Jual data NIK KK, wa 081234567890", "is_listing": True}, key)
        b = ingest_post(db, detector, {"source": "m", "post_id": "b", "url": "http://m.test/b", "text": "",
                                       "thread_title": "Jual data NIK KK, wa 085711112222", "is_listing": True}, key)
        c = ingest_post(db, detector, {"source": "m", "post_id": "c", "url": "http://m.test/c",
                                       "text": "Jual data NIK KK murah, wa 081234567890"}, key)
    prints = {pid: {fp for (fp,) in query(db_path, "SELECT fingerprint FROM identifiers WHERE post_id = ? AND kind = 'phone'", pid)}
              for pid in (a.post_id, b.post_id, c.post_id)}
    assert prints[a.post_id] and prints[b.post_id] and not prints[a.post_id] & prints[b.post_id]
    assert prints[a.post_id] == prints[c.post_id]


def test_a_current_file_of_junk_bytes_and_junk_manifests_do_not_crash(tmp_path, no_model_env):
    db_path = tmp_path / "m.db"
    models = tmp_path / "models"
    for name, manifest in (("junk1", '{"cv": "f1"}'), ("junk2", '{"created": ["a"], "cv": {"f1": "high"}}'),
                           ("deep", "[" * 200_000)):
        (models / name).mkdir(parents=True)
        (models / name / "manifest.json").write_text(manifest, encoding="utf-8")
    (models / "CURRENT").write_bytes(b"\xff\xfe\x00junk")
    model, version, warnings = registry.load_current(db_path)
    assert model is None and version is None and "CURRENT" in warnings[0]["detail"]
    listed = run_monitor("model", "list", "--db", str(db_path))
    assert listed.returncode == 0 and "Traceback" not in listed.stderr
    assert "junk2" in listed.stdout and "unusable" in listed.stdout
    explained = run_monitor("explain", "jual data ktp", "--db", str(db_path))
    assert explained.returncode == 0 and "rules only" in explained.stderr
    (models / "CURRENT").write_text("deep\n", encoding="utf-8")
    assert registry.load_current(db_path)[0] is None  # a manifest nested 200,000 deep is refused, not a crash


def test_train_with_an_all_bad_file_and_a_lone_surrogate_row(tmp_path, no_model_env):
    good = tmp_path / "good.jsonl"
    good.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in labelled_rows()), encoding="utf-8")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"\nnot json\n{"id": "s", "text": "\\ud800 berita", "label": "sale"}\n', encoding="utf-8")
    result = run_monitor("train", str(good), str(bad), "--no-reviews", "--out", str(tmp_path / "out"), "--cv", "2")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and f"{bad}:3: text: holds a lone surrogate" in result.stderr
    assert f"{bad}: no usable examples" in result.stderr


def test_a_candidate_is_compared_on_posts_it_did_not_learn_from(tmp_path, no_model_env):
    """On the labelled files the candidate is judged by its cross-validated predictions, not in-sample;
    with nothing to compare on it is kept but not made current."""
    data = tmp_path / "set.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in labelled_rows()), encoding="utf-8")
    db_path = tmp_path / "m.db"
    out = run_monitor("train", str(data), "--db", str(db_path), "--cv", "2", "--json")
    assert out.returncode == 0, out.stderr
    outcome = json.loads(out.stdout)
    files_part = outcome["comparison"]["parts"]["labelled_files"]
    cv = outcome["manifest"]["cv"]
    assert files_part["candidate"]["f1"] == pytest.approx(cv["f1"], abs=1e-4), "the candidate's figure is its CV figure"
    assert files_part["candidate"]["f1"] < 1.0 or cv["f1"] == 1.0
    # Too few sources to cross-validate and no reviews: nothing to compare on.
    one = tmp_path / "one.jsonl"
    one.write_text("".join(json.dumps({**r, "source": "one-site"}, ensure_ascii=False) + "\n" for r in labelled_rows()),
                   encoding="utf-8")
    kept = run_monitor("train", str(one), "--db", str(tmp_path / "n.db"), "--cv", "2", "--json")
    assert kept.returncode == 0, kept.stderr
    result = json.loads(kept.stdout)
    assert result["current"] is False and result["comparison"]["parts"] == {}


def test_ordinary_goods_are_not_sales_on_the_model_word_alone(no_model_env):
    """The shipped model learned 'jual ... harga' from few Indonesian ads; with no personal data named
    it must be very sure (MODEL_ALONE) before a post is a sale."""
    detector = registry.build_detector()
    assert detector.model is not None
    scores = []
    for text in ("Jual sepatu nike original size 42", "WTS iphone 12 mulus, COD Jakarta",
                 "Jual motor beat 2019, pajak hidup, harga 9jt nego"):
        analysis = detector.analyze(text)
        assert analysis.label == "not_sale", (text, analysis.score, analysis.reasons)
        assert analysis.score >= 0.5 or analysis.rules_label == "not_sale"  # the model alone would have flagged some
        scores.append(analysis.score)
    assert max(scores) >= 0.5, "the gate is what keeps at least one of them out (else the test proves nothing)"
    listing = detector.analyze("Fresh PayPal accounts + cookies, pack of 50", is_listing=True)
    assert listing.label == "sale"


@pytest.mark.xfail(strict=True, reason="known limit of the shipped model: 'jual ... harga ... nego' scores 0.86 with few "
                   "Indonesian ordinary-goods ads to learn from (above MODEL_ALONE); the team's 'not a sale' "
                   "dismissals are what teach it otherwise")
def test_an_ordinary_goods_ad_with_a_price_is_not_a_sale(no_model_env):
    detector = registry.build_detector()
    assert detector.analyze("Jual sepatu nike original size 42, harga 350rb nego").label == "not_sale"


def test_long_tokens_are_not_cached(trained):
    model, *_ = trained
    model._cache.clear()
    blob = "A" * 5000
    first = model.logit(f"jual {blob} data")
    assert blob not in model._cache and "jual" in model._cache
    assert model.logit(f"jual {blob} data") == first


def test_two_processes_choosing_models_at_once_never_fail(tmp_path, no_model_env):
    """`monitor model use` from two places at once: each write goes through its own temporary file."""
    import subprocess
    import sys

    code = ("import sys\nfrom monitor.learning import registry\n"
            "for _ in range(30): registry.use_version(sys.argv[1], 'default')\n")
    db_path = str(tmp_path / "m.db")
    procs = [subprocess.Popen([sys.executable, "-c", code, db_path], stderr=subprocess.PIPE, text=True) for _ in range(6)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    assert (tmp_path / "models" / "CURRENT").read_text().strip() == "default"
    assert not list((tmp_path / "models").glob("*.tmp"))


def test_a_long_title_does_not_push_the_opening_post_out_of_the_analysis(tmp_path, detector):
    body = "Jual data NIK + KK valid, 5rb per nomor, minat japri"
    opener = {"source": "m", "post_id": "t", "url": "http://m.test/t", "text": body, "thread_title": "x " * 80_000,
              "is_listing": True, "opens_thread": True}
    text, _, offset = analysis_input(opener)
    assert text.endswith(body) and offset <= 501
    with Database(tmp_path / "m.db") as db:
        result = ingest_post(db, detector, opener)
        assert result.flag == "new"
        assert json.loads(db.flag_of_post(result.post_id)["matches"])


def test_storing_posts_lists_the_model_words_for_sales_only_and_decides_the_same(no_model_env):
    full = registry.build_detector()
    lean = registry.build_detector(explain_all=False)
    for text in (SALE_TEXT, "Polisi mengimbau warga agar tidak membagikan foto KTP", "Fresh PayPal accounts + cookies"):
        a, b = full.analyze(text), lean.analyze(text)
        assert (a.label, a.score, a.categories, a.severity) == (b.label, b.score, b.categories, b.severity)
        assert b.model_terms == (a.model_terms if a.label == "sale" else [])
    assert full.analyze("Polisi mengimbau warga agar tidak membagikan foto KTP").model_terms  # explain shows them
