"""The shipped default model: it loads, its manifest says what it learned from, and it is reproducible.

The model is built by the command in the README from the labelled files beside the repository;
when they are here, the test runs that command again and checks that the same training data
gives the same model (CI runs with ../shared beside the clone, so it re-checks every build).
"""

import json
from pathlib import Path

import pytest
from conftest import run_monitor

from monitor.learning.registry import SHIPPED, load_folder

SHARED = Path(__file__).resolve().parents[2] / "shared" / "eval"


def test_shipped_model_loads_and_its_manifest_describes_its_training():
    model, manifest = load_folder(SHIPPED)  # checks the file against the manifest's SHA-256
    assert manifest["examples"] == sum(manifest["by_lang_label"].values()) > 500
    assert sum(manifest["by_category"].values()) == manifest["examples"]
    assert {"en/sale", "id/sale", "en/not_sale", "id/not_sale"} <= set(manifest["by_lang_label"])
    assert manifest["sources"] and all("/" not in s or s.startswith("github:") for s in manifest["sources"])
    assert manifest["cv"]["f1"] >= 0.85 and manifest["cv"]["precision"] >= 0.90, manifest["cv"]
    assert len(manifest["training_sha256"]) == 64 and model.meta["training_sha256"] == manifest["training_sha256"]
    assert [f["name"] for f in manifest["files"]] == ["dev.jsonl", "train.jsonl"]
    # Not pickle: plain JSON of numbers and strings.
    data = json.loads((SHIPPED / "model.json").read_text(encoding="utf-8"))
    assert data["format"] == "monitor-linear-model" and all(isinstance(v, float) for v in data["chars"].values())


@pytest.mark.skipif(not (SHARED / "dev.jsonl").exists(), reason="../shared/eval is not beside this checkout")
def test_the_documented_command_rebuilds_the_shipped_model(tmp_path):
    out = tmp_path / "default"
    result = run_monitor("train", str(SHARED / "dev.jsonl"), str(SHARED / "train.jsonl"), "--no-reviews",
                         "--out", str(out), timeout=600)
    assert result.returncode == 0, result.stderr
    _, shipped = load_folder(SHIPPED)
    rebuilt_model, rebuilt = load_folder(out)
    assert rebuilt["training_sha256"] == shipped["training_sha256"], (
        "the labelled files changed: rebuild rules/models/default with the command in the README")
    assert rebuilt["cv"] == shipped["cv"] and rebuilt["by_category"] == shipped["by_category"]
    shipped_model, _ = load_folder(SHIPPED)
    assert set(rebuilt_model.chars) == set(shipped_model.chars) and set(rebuilt_model.words) == set(shipped_model.words)
    assert max(abs(rebuilt_model.chars[k] - shipped_model.chars[k]) for k in shipped_model.chars) < 1e-4
    assert abs(rebuilt_model.intercept - shipped_model.intercept) < 1e-4
    assert rebuilt_model.calibration == pytest.approx(shipped_model.calibration, abs=1e-4)
