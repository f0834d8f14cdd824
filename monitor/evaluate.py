"""Scoring detection on labelled JSONL files (the format of shared/eval/*.jsonl).

Each line: {"id", "text", "lang", "label": "sale"|"not_sale", "category", "source", ...}.
Precision, recall and F1 are for the `sale` class, overall and per language;
per category, sale categories report recall and not-sale ones their
false-positive rate, so a rule change that trades news for ads shows up.

`cross_validate` is the honest figure: grouped K-fold, where every item of one
`source` (paragraphs of one article, posts of one thread) stays in one fold, so
nothing trains and tests on the same text; rules only, the learned model only,
and the combination the product runs, side by side.
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
    source: str = ""
    is_listing: bool = False


def load_examples(path: str | Path, problems: list[str] | None = None) -> list[Example]:
    """Read a labelled JSONL file. A bad line raises EvalFileError with its number; with a
    `problems` list, it is appended there as `FILE:LINE: reason` and the good lines are used."""
    from .crawl.importer import is_listing_row, read_rows

    examples = []
    for n, row, error in read_rows(path):
        if error is None:
            error = _row_problem(row)
        if error is not None:
            if problems is None:
                raise EvalFileError(f"{path}:{n}: {error}")
            problems.append(f"{path}:{n}: {error}")
            continue
        examples.append(Example(str(row["id"]), str(row["text"]), str(row.get("lang") or "?"), row["label"],
                                str(row.get("category") or "?"), str(row.get("source") or ""),
                                is_listing_row(row)))
    if not examples:
        raise EvalFileError(f"{path}: no usable examples")
    return examples


def _row_problem(row) -> str | None:
    if not isinstance(row, dict):
        return "not a JSON object"
    missing = [k for k in ("id", "text", "label") if k not in row]
    if missing:
        return f"missing field(s) {', '.join(missing)}"
    if row["label"] not in ("sale", "not_sale"):
        return f"label must be 'sale' or 'not_sale', got {str(row['label'])[:40]!r}"
    if not isinstance(row["text"], str) or not row["text"].strip():
        return "text must be a non-empty string"
    for key in ("id", "text", "lang", "category", "source"):
        value = row.get(key)
        if isinstance(value, str) and any("\ud800" <= ch <= "\udfff" for ch in value):
            return f"{key}: holds a lone surrogate (\\udXXX), which is not text"
    return None


def _prf(tp: int, fp: int, fn: int) -> dict:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def evaluate(examples: list[Example], detector: Detector) -> dict:
    """The scores of `detector` on `examples`, with the ids it got wrong."""
    return score_predictions(examples, {ex.id: detector.analyze(ex.text, is_listing=ex.is_listing).label for ex in examples})


def score_predictions(examples: list[Example], predictions: dict[str, str]) -> dict:
    """Precision, recall, F1 of `predictions` (id -> label), per language and per category."""
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


def grouped_folds(examples: list[Example], k: int) -> list[list[Example]]:
    """`examples` in `k` folds where items sharing a `source` (or, without one, an id) stay together.

    Groups go, largest first, to the fold with the fewest items so far: deterministic, and the
    folds come out about equal in size.
    """
    if k < 2:
        raise EvalFileError("--cv needs at least 2 folds")
    groups: dict[str, list[Example]] = {}
    for ex in examples:
        groups.setdefault(ex.source or f"id:{ex.id}", []).append(ex)
    if len(groups) < k:
        raise EvalFileError(f"{len(groups)} sources cannot fill {k} folds; use --cv {len(groups)} or fewer")
    folds: list[list[Example]] = [[] for _ in range(k)]
    for _, members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        min(folds, key=len).extend(members)
    return folds


def cross_validate(examples: list[Example], detector: Detector, k: int = 10, progress=None,
                   which: tuple[str, ...] = ("rules", "model", "combined")) -> dict:
    """Grouped K-fold scores of the rules, the learned model, and the combination the product runs.

    "model" is the n-gram model alone at probability 0.5; "combined" is the detector with a model
    trained on the other folds (n-grams and the rules' signals, calibrated), deciding as in
    production (`rules.detector.RULES_SUPPORT`). The rules are not retrained per fold: on items
    they were tuned to, their part of the combination looks better than it is.
    """
    from rules.model import SIGNALS, fit

    rules_only = detector.with_model(None)
    inputs = {ex.id: detector.model_inputs(ex.text, ex.is_listing) for ex in examples}
    predicted: dict[str, dict[str, str]] = {name: {} for name in which}
    if "rules" in which:
        predicted["rules"] = {ex.id: rules_only.analyze(ex.text, is_listing=ex.is_listing).label for ex in examples}
    fold_scores: dict[str, list[dict]] = {name: [] for name in which}
    folds = grouped_folds(examples, k)
    for n, test in enumerate(folds, 1):
        train = [ex for fold in folds if fold is not test for ex in fold]
        labels = [int(ex.label == "sale") for ex in train]
        if len(set(labels)) < 2:
            raise EvalFileError(f"fold {n}: the items it trains on are all {train[0].label!r}; "
                                "the files need sale and not_sale items from several sources")
        texts = [inputs[ex.id][0] for ex in train]
        try:
            if "model" in which:
                alone = fit(texts, labels)
                for ex in test:
                    predicted["model"][ex.id] = "sale" if alone.probability(inputs[ex.id][0]) >= 0.5 else "not_sale"
            if "combined" in which:
                full = fit(texts, labels, [inputs[ex.id][1] for ex in train], SIGNALS,
                           calibration_groups=[ex.source or ex.id for ex in train])
                combined = detector.with_model(full, f"fold-{n}")
                for ex in test:
                    predicted["combined"][ex.id] = combined.analyze(ex.text, is_listing=ex.is_listing).label
        except ValueError as exc:  # e.g. too few texts for any n-gram to occur twice
            raise EvalFileError(f"fold {n}: cannot train on {len(train)} items: {exc}") from None
        for name in predicted:
            fold_scores[name].append(_brief(score_predictions(test, {ex.id: predicted[name][ex.id] for ex in test})))
        if progress:
            progress(n, k)
    out = {}
    for name, predictions in predicted.items():
        pooled = score_predictions(examples, predictions)
        out[name] = {**pooled, "folds": fold_scores[name],
                     "mean_f1": round(sum(f["f1"] for f in fold_scores[name]) / len(fold_scores[name]), 4)}
    return out


def _brief(result: dict) -> dict:
    return {k: result[k] for k in ("precision", "recall", "f1", "n")}
