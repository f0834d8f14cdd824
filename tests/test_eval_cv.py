"""`monitor eval --cv K`: grouped cross-validation of rules, the learned model and their combination."""

import json
from pathlib import Path

import pytest
from conftest import run_monitor

from monitor.evaluate import EvalFileError, Example, grouped_folds

SHARED = Path(__file__).resolve().parents[2] / "shared" / "eval"

# Written for this test (not training material for the product): sellers' and reporters' shapes.
SALE = ["Jual data KTP + selfie lengkap {n}rb per data, minat japri", "Ready stok data nasabah {n} ribu baris, wa aktif",
        "Selling fresh combolist {n}k lines, escrow ok", "Fullz pack {n} USD, DM on telegram"]
NOT_SALE = ["Polisi menangkap penjual data KTP, {n} orang ditahan", "Kominfo imbau warga tidak menjual data pribadi {n}",
            "Researchers found {n} records exposed in a leak, the company said", "Cara melindungi NIK anda dari {n} modus penipuan"]


def write_set(path: Path, sources: int = 12) -> Path:
    rows = []
    for s in range(sources):
        for i, template in enumerate(SALE + NOT_SALE):
            label = "sale" if template in SALE else "not_sale"
            rows.append({"id": f"t{s}-{i}", "text": template.format(n=10 + s * 7 + i), "lang": "en" if "ing" in template else "id",
                         "label": label, "category": "id_documents" if label == "sale" else "news_report",
                         "source": f"https://site{s}.example/page"})
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_folds_keep_each_source_together():
    examples = [Example(f"{s}-{i}", "x", "id", "sale", "c", f"src{s}") for s in range(7) for i in range(s + 1)]
    folds = grouped_folds(examples, 3)
    assert sorted(ex.id for fold in folds for ex in fold) == sorted(ex.id for ex in examples)
    for fold in folds:
        others = {ex.source for f in folds if f is not fold for ex in f}
        assert not {ex.source for ex in fold} & others
    with pytest.raises(EvalFileError, match="cannot fill"):
        grouped_folds(examples, 8)


def test_cv_json_has_rules_model_and_combined(tmp_path):
    data = write_set(tmp_path / "set.jsonl")
    result = run_monitor("eval", str(data), "--cv", "4", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"rules", "model", "combined"}
    for name, figures in out.items():
        assert {"precision", "recall", "f1", "per_lang", "per_category", "folds"} <= set(figures), name
        assert len(figures["folds"]) == 4 and sum(f["n"] for f in figures["folds"]) == 96
        assert sum(v["n"] for v in figures["per_lang"].values()) == 96
    table = run_monitor("eval", str(data), "--cv", "4")
    assert "rules" in table.stdout and "combined" in table.stdout and "id (n=" in table.stdout


def test_cv_refuses_repeated_ids_too_many_folds_and_one_label(tmp_path):
    data = write_set(tmp_path / "set.jsonl", sources=3)
    repeated = run_monitor("eval", str(data), str(data), "--cv", "2")
    assert repeated.returncode != 0 and "repeat an id" in repeated.stderr
    too_many = run_monitor("eval", str(data), "--cv", "5")
    assert too_many.returncode != 0 and "cannot fill 5 folds" in too_many.stderr and "Traceback" not in too_many.stderr
    only_sales = tmp_path / "sales.jsonl"
    only_sales.write_text("".join(json.dumps({"id": str(i), "text": f"jual data ktp {i}", "label": "sale", "source": f"s{i}"}) + "\n"
                                  for i in range(6)), encoding="utf-8")
    one_class = run_monitor("eval", str(only_sales), "--cv", "3")
    assert one_class.returncode != 0 and "all 'sale'" in one_class.stderr and "Traceback" not in one_class.stderr


@pytest.mark.skipif(not (SHARED / "dev.jsonl").exists(), reason="../shared/eval is not beside this checkout")
def test_cv_on_the_shared_labelled_files():
    files = sorted(str(p) for p in SHARED.glob("*.jsonl"))
    result = run_monitor("eval", *files, "--cv", "10", "--json", timeout=600)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    n = sum(1 for f in files for line in open(f, encoding="utf-8") if line.strip())
    assert all(sum(fold["n"] for fold in out[name]["folds"]) == n for name in out)
    # The learned model is trained only on the other folds, so its figure is an honest one. Floors
    # below the figures measured when this was written (combined F1 0.885 P 0.952, model alone 0.872,
    # rules 0.732) catch a regression; the targets of issue 12 (F1 and precision >= 0.90 per
    # language) are reached for neither language's F1 yet (English 0.88, Indonesian 0.90 on 21 sales).
    assert out["combined"]["f1"] >= 0.86 and out["combined"]["precision"] >= 0.92, out["combined"]
    assert out["model"]["f1"] >= 0.84 and out["rules"]["f1"] >= 0.65
    for lang in ("en", "id"):
        assert out["combined"]["per_lang"][lang]["precision"] >= 0.90, lang
