"""Scoring the rule layer on a labelled JSONL file (the format of shared/eval/dev.jsonl).

Each line: {"id", "text", "lang", "label": "sale"|"not_sale", "category", ...}.
Precision, recall and F1 are for the `sale` class, overall and per language;
per category, sale categories report recall and not-sale ones their
false-positive rate, so a rule change that trades news for ads shows up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rules import Detector

SALE_CATEGORIES = {"ektp_selfie", "id_documents", "database_dump", "combolist_credentials", "other_pii"}


class EvalFileError(ValueError):
    pass


@dataclass
class Example:
    id: str
    text: str
    lang: str
    label: str
    category: str


def load_examples(path: str | Path) -> list[Example]:
    """Read a labelled JSONL file; a bad line is reported with its number."""
    from .crawl.importer import read_rows

    examples = []
    for n, row, error in read_rows(path):
        if error is not None:
            raise EvalFileError(f"{path}:{n}: {error}")
        missing = [k for k in ("id", "text", "label") if k not in row]
        if missing:
            raise EvalFileError(f"{path}:{n}: missing field(s) {', '.join(missing)}")
        if row["label"] not in ("sale", "not_sale"):
            raise EvalFileError(f"{path}:{n}: label must be 'sale' or 'not_sale', got {row['label']!r}")
        examples.append(Example(str(row["id"]), str(row["text"]), row.get("lang", "?"), row["label"], row.get("category", "?")))
    if not examples:
        raise EvalFileError(f"{path}: no examples")
    return examples


def _prf(tp: int, fp: int, fn: int) -> dict:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def evaluate(examples: list[Example], detector: Detector) -> dict:
    """The scores of `detector` on `examples`, with the ids it got wrong."""
    predictions = {}
    for ex in examples:
        predictions[ex.id] = detector.analyze(ex.text).label
    fp_ids = [ex.id for ex in examples if ex.label == "not_sale" and predictions[ex.id] == "sale"]
    fn_ids = [ex.id for ex in examples if ex.label == "sale" and predictions[ex.id] != "sale"]

    def score(subset: list[Example]) -> dict:
        tp = sum(1 for ex in subset if ex.label == "sale" and predictions[ex.id] == "sale")
        fp = sum(1 for ex in subset if ex.label == "not_sale" and predictions[ex.id] == "sale")
        fn = sum(1 for ex in subset if ex.label == "sale" and predictions[ex.id] != "sale")
        return {**_prf(tp, fp, fn), "n": len(subset)}

    per_lang = {lang: score([ex for ex in examples if ex.lang == lang]) for lang in sorted({ex.lang for ex in examples})}
    per_category = {}
    for category in sorted({ex.category for ex in examples}):
        subset = [ex for ex in examples if ex.category == category]
        hits = sum(1 for ex in subset if predictions[ex.id] == "sale")
        if all(ex.label == "sale" for ex in subset):
            per_category[category] = {"n": len(subset), "recall": round(hits / len(subset), 4)}
        else:
            per_category[category] = {"n": len(subset), "false_positive_rate": round(hits / len(subset), 4)}
    return {
        **score(examples),
        "per_lang": per_lang,
        "per_category": per_category,
        "false_positives": fp_ids,
        "false_negatives": fn_ids,
    }
