"""Training a model from labelled files and the team's review decisions, and judging it before use.

Decisions become labels: a confirmed or escalated flag (or one whose takedown went on) is a sale
of the flag's category; a flag dismissed as a news report or as not a sale is a non-sale;
duplicates and "other" dismissals teach nothing and are left out. A new model is scored against
the current one, side by side, on a held-out slice of the reviewed posts (never trained on) and on
the labelled files; it replaces the current one only when it is not worse, or when forced.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field

from rules import Detector
from rules.detector import RULES_SUPPORT
from rules.model import C, CHAR_RANGE, SIGNALS, LinearModel, fit

from ..evaluate import EvalFileError, Example, cross_validate, load_examples, score_predictions

SALE_STATUSES = ("confirmed", "escalated", "requested", "removed", "still_online")
NOT_SALE_REASONS = ("news_report", "not_a_sale")
MIN_REVIEWED = 30
MIN_PER_LABEL = 5
"""Without labelled files, this many decided posts (with this many of each label) are needed."""
HOLDOUT_SHARE = 5  # one source in five of the reviewed posts is held out for the comparison
MANIFEST_CV_FOLDS = 5


class TrainingError(Exception):
    """Training cannot go on; the message says why and what is needed."""


@dataclass
class TrainingSet:
    examples: list[Example]
    heldout: list[Example]  # reviewed posts kept out of training, for the comparison
    problems: list[str] = field(default_factory=list)  # FILE:LINE: reason of each bad row skipped
    files: list[dict] = field(default_factory=list)
    reviewed: int = 0
    file_examples: list[Example] = field(default_factory=list)  # the labelled files' rows (also in examples)
    cv_predictions: dict[str, str] = field(default_factory=dict)  # id -> label, from `train`'s cross-validation


def reviewed_examples(db) -> list[Example]:
    """Labelled examples from the review decisions in the database."""
    from ..ingest import analysis_input

    out = []
    for row in db.reviewed_posts():
        text = analysis_input(row)[0]  # as ingest read it: a listing's opening post with its title
        if not text.strip():
            continue
        if row["status"] in SALE_STATUSES:
            categories = json.loads(row["categories"] or "[]")
            label, category = "sale", (categories[0] if categories else "other_pii")
        elif row["status"] == "dismissed" and row["reason"] in NOT_SALE_REASONS:
            label, category = "not_sale", ("news_report" if row["reason"] == "news_report" else "other")
        else:
            continue
        out.append(Example(f"post-{row['post_id']}", text, row["lang"] or "?", label, category,
                           f"review:{row['source']}", bool(row["is_listing"])))
    return out


def _held_out(example: Example, by_source: bool) -> bool:
    """One in HOLDOUT_SHARE, by source (posts of one source never train and test each other) or,
    when the reviewed posts come from too few sources for that, by post."""
    key = example.source if by_source else example.id
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest(), 16) % HOLDOUT_SHARE == 0


def gather(files: list[str], db=None) -> TrainingSet:
    """The labelled files' good rows and the reviewed posts, split into training and held-out parts."""
    problems: list[str] = []
    examples: list[Example] = []
    described = []
    for path in files:
        try:
            found = load_examples(path, problems)
        except EvalFileError as exc:
            problems.append(str(exc))
            found = []
        examples.extend(found)
        with open(path, "rb") as fh:
            described.append({"name": str(path).rsplit("/", 1)[-1], "sha256": hashlib.sha256(fh.read()).hexdigest(),
                              "rows": len(found)})
    seen = set()
    unique = []
    for ex in examples:  # an id repeated across files is one item
        if ex.id not in seen:
            seen.add(ex.id)
            unique.append(ex)
    reviewed = reviewed_examples(db) if db is not None else []
    by_source = len({ex.source for ex in reviewed}) >= 2 * HOLDOUT_SHARE
    heldout = [ex for ex in reviewed if _held_out(ex, by_source)]
    if len(reviewed) < 10 or len({ex.label for ex in heldout}) < 2 or 2 * len(heldout) > len(reviewed):
        heldout = []  # too few to hold any out meaningfully: all are trained on
    kept_out = {ex.id for ex in heldout}
    train = unique + [ex for ex in reviewed if ex.id not in kept_out]
    labels = Counter(ex.label for ex in train)
    if not unique and (len(reviewed) < MIN_REVIEWED or min(labels["sale"], labels["not_sale"]) < MIN_PER_LABEL):
        raise TrainingError(
            f"too few reviewed posts to learn from: {len(reviewed)} decided ({labels['sale']} sale, "
            f"{labels['not_sale']} not sale); at least {MIN_REVIEWED} with {MIN_PER_LABEL} of each label are needed, "
            "or give labelled JSONL files")
    if min(labels["sale"], labels["not_sale"]) < 2:
        raise TrainingError(f"the training posts must include sales and non-sales (have {labels['sale']} sale, "
                            f"{labels['not_sale']} not sale)")
    return TrainingSet(train, heldout, problems, described, len(reviewed), unique)


def training_hash(examples: list[Example]) -> str:
    """SHA-256 of the training items (order-independent): the same data gives the same hash."""
    lines = sorted(json.dumps([ex.id, ex.text, ex.label, ex.lang, ex.category, ex.source, ex.is_listing],
                              ensure_ascii=False) for ex in examples)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def train(training: TrainingSet, detector: Detector, cv_folds: int = MANIFEST_CV_FOLDS, progress=None
          ) -> tuple[LinearModel, dict]:
    """A model trained on `training.examples`, and its manifest (what it learned from, its CV scores)."""
    examples = training.examples
    digest = training_hash(examples)
    inputs = [detector.model_inputs(ex.text, ex.is_listing) for ex in examples]
    say = progress or (lambda message: None)
    say(f"training on {len(examples)} posts")
    try:
        model = fit([t for t, _ in inputs], [int(ex.label == "sale") for ex in examples], [s for _, s in inputs], SIGNALS,
                    calibration_groups=[ex.source or ex.id for ex in examples])
    except ValueError as exc:
        raise TrainingError(f"cannot train on these posts: {exc}") from None
    cv = None
    groups = {ex.source or ex.id for ex in examples}
    if len(groups) >= cv_folds:
        say(f"scoring it by grouped {cv_folds}-fold cross-validation")
        try:
            result = cross_validate(examples, detector, cv_folds, which=("combined",))["combined"]
            cv = {"folds": cv_folds, **{k: result[k] for k in ("precision", "recall", "f1", "mean_f1", "per_lang")}}
            wrong = set(result["false_positives"]) | set(result["false_negatives"])
            training.cv_predictions = {ex.id: ex.label if ex.id not in wrong else
                                       ("not_sale" if ex.label == "sale" else "sale") for ex in examples}
        except EvalFileError as exc:
            cv = {"folds": cv_folds, "error": str(exc)}
    manifest = {
        "training_sha256": digest,
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "examples": len(examples),
        "by_lang_label": _counts(examples, lambda ex: f"{ex.lang}/{ex.label}"),
        "by_category": _counts(examples, lambda ex: ex.category),
        "sources": sorted({_source_name(ex.source) for ex in examples if ex.source}),
        "files": training.files,
        "reviewed_posts": training.reviewed,
        "heldout_posts": len(training.heldout),
        "cv": cv,
        "settings": {"C": C, "char_range": list(CHAR_RANGE), "words": [1, 2], "signals": list(SIGNALS),
                     "rules_support": RULES_SUPPORT, "calibration": "Platt, grouped 5-fold"},
        "features": {"chars": len(model.chars), "words": len(model.words)},
    }
    model.meta = {"training_sha256": digest, "created": manifest["created"]}
    return model, manifest


def _counts(examples, key) -> dict[str, int]:
    return dict(sorted(Counter(key(ex) for ex in examples).items()))


def _source_name(source: str) -> str:
    """A source by name: the host of a URL, the repository of a github: source, the review source."""
    from urllib.parse import urlsplit

    if source.startswith(("http://", "https://")):
        return urlsplit(source).hostname or source
    return source.split(" ", 1)[0]


def compare(candidate: LinearModel, current: LinearModel | None, detector: Detector, training: TrainingSet) -> dict:
    """Side by side, the candidate and the current model (or the rules alone), on posts the candidate
    did not learn from: the held-out reviewed posts, and the labelled files by the candidate's
    cross-validated predictions (the current model is scored on them as it is, which favours it if
    it learned from them). `better_or_equal`: the candidate's F1 is not below on any part, and
    there was a part to compare on."""
    table: dict = {}
    verdict = True
    parts = {"heldout_reviewed": (training.heldout, None), "labelled_files": (training.file_examples, training.cv_predictions)}
    for part, (examples, predicted) in parts.items():
        if not examples or (predicted is not None and not all(ex.id in predicted for ex in examples)):
            continue
        row = {}
        for name, model in (("candidate", candidate), ("current", current)):
            if name == "candidate" and predicted is not None:
                labels = {ex.id: predicted[ex.id] for ex in examples}
            else:
                scorer = detector.with_model(model, name)
                labels = {ex.id: scorer.analyze(ex.text, is_listing=ex.is_listing).label for ex in examples}
            result = score_predictions(examples, labels)
            row[name] = {k: result[k] for k in ("precision", "recall", "f1", "n")}
        table[part] = row
        verdict = verdict and row["candidate"]["f1"] >= row["current"]["f1"]
    return {"parts": table, "better_or_equal": verdict and bool(table)}
