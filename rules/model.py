"""The learned sale/not-sale model: features, training, fast scoring, explanation, safe storage.

Rules tuned on one labelled set do not carry over to posts nobody tuned them
to; a linear model over character n-grams (inside each word, padded with
spaces, which survive affixes and obfuscation) and word uni/bigrams does
better on unseen posts. The feature values are counts divided by the square
root of the number of n-grams of their kind in the post, so a post's score is
a sum over its words: each distinct word's share is computed once and cached,
which makes scoring a post cost a few dictionary lookups per word.

A model is plain JSON (weights, feature configuration, calibration, training
hash and cross-validated scores): loading one never runs code, unlike pickle.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import math
import os
import re
import secrets
from collections import Counter
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path

FORMAT = "monitor-linear-model"
FORMAT_VERSION = 1

CHAR_RANGE = (2, 5)
"""Character n-gram lengths, taken inside each whitespace-separated token padded with spaces."""

_WORD = re.compile(r"\w+")
_PUNCTUATION = ".,;:!?()[]{}\"'"
CACHE_WORDS = 50_000
CACHE_CHARS = 64
"""Distinct tokens whose share of the score is remembered; the cache is emptied when full (flat memory)."""

SIGNALS = ("valid_ids", "prices", "volumes", "contacts", "listing")
"""Rule-layer evidence the model may weigh beside the n-grams (see `signals_of`)."""


SIGNAL_NAMES = {"valid_ids": "valid identity numbers", "prices": "prices", "volumes": "volumes",
                "contacts": "contacts", "listing": "listing title"}


class ModelError(Exception):
    """A model file that is missing, corrupt or not a model: the message names the file and the fix."""


def char_ngrams(token: str) -> list[str]:
    padded = f" {token} "
    lo, hi = CHAR_RANGE
    return [padded[i : i + n] for n in range(lo, hi + 1) for i in range(len(padded) - n + 1)]


def features(text: str) -> tuple[Counter, int, Counter, int]:
    """(char n-gram counts, their total, word n-gram counts, their total) of `text` (already lower-cased)."""
    chars: Counter = Counter()
    for token in text.split():
        chars.update(char_ngrams(token))
    words = _WORD.findall(text)
    grams = Counter(words)
    grams.update(f"{a} {b}" for a, b in zip(words, words[1:]))
    return chars, sum(chars.values()), grams, sum(grams.values())


def signals_of(matches, identifiers, is_listing: bool = False) -> dict[str, float]:
    """The rule layer's evidence for one post, squashed to 0..1 so no count outweighs the n-grams by size.

    Only evidence that is not a judgement tuned to a labelled set: valid identity numbers, prices,
    volumes, contacts, and whether the post is a listing title. The rules' own score is left out
    on purpose: a model trained on it learns to trust rules tuned to the very posts it learns from.
    """
    ids = identifiers
    raw = {
        "valid_ids": sum(1 for i in ids if i.valid and i.kind in ("nik", "kk", "npwp", "card")),
        "prices": sum(1 for i in ids if i.kind == "price"),
        "volumes": sum(1 for m in matches if m.label == "VOLUME"),
        "contacts": sum(1 for i in ids if i.kind in ("phone", "whatsapp", "telegram", "email")),
        "listing": 1.0 if is_listing else 0.0,
    }
    return {k: v / (1.0 + v) for k, v in raw.items()}


_DIGIT = re.compile(r"\d")
SHOWN_CHARS = 40


_ADDRESS = re.compile(r"[^\W_][.@][^\W_]|@")
_FUSED_MAIL = re.compile(r"\w+?a((?:gmail|yahoo|ymail|hotmail|outlook|live|icloud|aol|proton(?:mail)?|mail)\w*)$")
"""An address whose `@` and dots normalisation removed: `budisantosoagmailcom`."""


def shown(term: str) -> str:
    """A word as a reason may show it: never a number (a NIK, a phone) or an address in full, never long.

    The model reads normalised text, where `@` may have become `a` (`budi.santosoagmail.com`), so
    anything shaped like an address or a domain (letters joined by `.` or `@`) keeps only its
    last part (`…com`)."""
    if len(_DIGIT.findall(term)) >= 4:
        term = _DIGIT.sub("#", term)
    if _ADDRESS.search(term):
        words = term.split()
        term = " ".join("…" + re.split(r"[.@]", w)[-1] if _ADDRESS.search(w) else w for w in words)
    term = " ".join("…" + m.group(1) if (m := _FUSED_MAIL.fullmatch(w)) else w for w in term.split())
    return term if len(term) <= SHOWN_CHARS else term[: SHOWN_CHARS - 1] + "…"


@dataclass
class Contribution:
    """One feature's push on a post's score, in logit units, for reviewers."""

    feature: str  # a word or word pair as written (normalised), or a signal's name
    kind: str  # "words" or "signal"
    weight: float

    def __str__(self) -> str:
        label = SIGNAL_NAMES.get(self.feature, self.feature) if self.kind == "signal" else f"'{shown(self.feature)}'"
        return f"{label} {self.weight:+.1f}"


@dataclass
class LinearModel:
    """Weights of n-grams and signals, an intercept, and a Platt calibration of the raw logit."""

    chars: dict[str, float]
    words: dict[str, float]
    signal_weights: dict[str, float]
    intercept: float
    calibration: tuple[float, float] = (1.0, 0.0)  # probability = sigmoid(a * logit + b)
    threshold: float = 0.5
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self._cache: dict[str, tuple[float, int]] = {}

    # ------------------------------------------------------------ scoring
    def _token_share(self, token: str) -> tuple[float, int]:
        cached = self._cache.get(token)
        if cached is None:
            grams = char_ngrams(token)
            get = self.chars.get
            cached = (sum(get(g, 0.0) for g in grams), len(grams))
            if len(token) > CACHE_CHARS:  # hashes, base64, dumps: rarely seen twice, and large
                return cached
            if len(self._cache) >= CACHE_WORDS:
                self._cache.clear()
            self._cache[token] = cached
        return cached

    def logit(self, text: str, signals: dict[str, float] | None = None) -> float:
        """The uncalibrated score of `text` (the detector's normalised text); the fast path."""
        return self._score(text, signals, None)

    def _score(self, text: str, signals: dict[str, float] | None, shares: dict | None) -> float:
        char_sum, char_n = 0.0, 0
        share = self._token_share
        tokens = text.split()
        token_sums = []
        for token in tokens:
            s, n = share(token)
            char_sum += s
            char_n += n
            token_sums.append(s)
        words = _WORD.findall(text)
        get = self.words.get
        unigrams = [get(w, 0.0) for w in words]
        bigrams = [get(f"{a} {b}", 0.0) for a, b in zip(words, words[1:])]
        word_n = 2 * len(words) - 1 if words else 0
        char_scale = 1.0 / math.sqrt(char_n) if char_n else 0.0
        word_scale = 1.0 / math.sqrt(word_n) if word_n else 0.0
        total = self.intercept + char_sum * char_scale + (sum(unigrams) + sum(bigrams)) * word_scale
        if signals:
            total += sum(self.signal_weights.get(k, 0.0) * v for k, v in signals.items())
        if shares is not None:  # the parts for `explain`, scaled to logit units; read only then
            shares["tokens"] = (tokens, token_sums, char_scale)
            shares["words"] = (words, unigrams, bigrams, word_scale)
        return total

    def probability(self, text: str, signals: dict[str, float] | None = None) -> float:
        a, b = self.calibration
        return _sigmoid(a * self.logit(text, signals) + b)

    def explain(self, text: str, signals: dict[str, float] | None = None, top: int = 5
                ) -> tuple[float, list[Contribution]]:
        """(probability, the words, word pairs and signals that moved the score most, either way).

        Pushes are in calibrated logit units, so "+1.8" means the same on every post.
        """
        probability, parts = self.scored(text, signals)
        return probability, self.terms(parts, signals, top)

    def scored(self, text: str, signals: dict[str, float] | None = None) -> tuple[float, dict]:
        """(probability, the parts `terms` reads): score now, explain only if the caller needs it."""
        parts: dict = {}
        a, b = self.calibration
        return _sigmoid(a * self._score(text, signals, parts) + b), parts

    def terms(self, parts: dict, signals: dict[str, float] | None = None, top: int = 5) -> list[Contribution]:
        """The words, word pairs and signals that moved a `scored` post's score most, either way."""
        a = self.calibration[0]
        tokens, token_sums, char_scale = parts["tokens"]
        words, unigrams, bigrams, word_scale = parts["words"]
        # The largest pieces first (cheap), then the pieces of one word merged: its character
        # n-grams and itself as a word, so a reviewer reads "'fullz' +1.8", not fragments.
        # (|push|, push, text) tuples: nlargest compares them as they are, with no key function per piece.
        pieces = [(abs(v * char_scale), v * char_scale, t) for t, v in zip(tokens, token_sums) if v]
        pieces += [(abs(v * word_scale), v * word_scale, w) for w, v in zip(words, unigrams) if v]
        pieces += [(abs(v * word_scale), v * word_scale, f"{x} {y}") for (x, y), v in zip(zip(words, words[1:]), bigrams) if v]
        merged: dict[str, float] = {}
        for _, v, key in heapq.nlargest(top * 4, pieces):
            key = key.strip(_PUNCTUATION) or key
            merged[key] = merged.get(key, 0.0) + v
        pushes = [Contribution(k, "words", a * v) for k, v in merged.items()]
        for name, value in (signals or {}).items():
            w = self.signal_weights.get(name, 0.0) * value
            if w:
                pushes.append(Contribution(name, "signal", a * w))
        ranked = heapq.nlargest(top, pushes, key=lambda c: abs(c.weight))
        return [c for c in ranked if abs(c.weight) >= 0.05]

    # ------------------------------------------------------------ storage
    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "features": {"char_range": list(CHAR_RANGE), "words": [1, 2], "signals": list(self.signal_weights)},
            "intercept": self.intercept,
            "calibration": list(self.calibration),
            "threshold": self.threshold,
            "signal_weights": self.signal_weights,
            "meta": self.meta,
            "chars": self.chars,
            "words": self.words,
        }

    def to_bytes(self) -> bytes:
        """The model file's bytes: the same model always gives the same bytes (sorted keys)."""
        return json.dumps(self.to_json(), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def save(self, path: Path) -> str:
        """Write the model to `path` (atomically, through a temporary file of this writer's own);
        return the SHA-256 of the file."""
        data = self.to_bytes()
        path = Path(path)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            tmp.write_bytes(data)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        return hashlib.sha256(data).hexdigest()

    @classmethod
    def load(cls, path: str | os.PathLike | Traversable) -> LinearModel:
        """Read a model file (a path, or the shipped one inside a zipped egg); anything that is not one raises
        ModelError naming the file."""
        hint = "train one with `monitor train` or pick another with `monitor model use VERSION`"
        try:
            raw = (Path(path) if isinstance(path, (str, os.PathLike)) else path).read_bytes()
        except OSError as exc:
            raise ModelError(f"{path}: cannot read the model file ({exc.strerror or exc}); {hint}") from None
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ModelError(f"{path}: not a model file (not JSON: {exc}); {hint}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ModelError(f"{path}: not a model file (format is not {FORMAT!r}); {hint}")
        if data.get("format_version") != FORMAT_VERSION:
            raise ModelError(f"{path}: model format version {data.get('format_version')!r}, "
                             f"this program reads {FORMAT_VERSION}; {hint}")
        try:
            features_ = data["features"]
            if list(features_["char_range"]) != list(CHAR_RANGE):
                raise ValueError(f"char n-grams {features_['char_range']} differ from this program's {list(CHAR_RANGE)}")
            model = cls(
                chars=_weights(data["chars"]),
                words=_weights(data["words"]),
                signal_weights={k: float(v) for k, v in _weights(data["signal_weights"]).items() if k in SIGNALS},
                intercept=float(data["intercept"]),
                calibration=(float(data["calibration"][0]), float(data["calibration"][1])),
                threshold=float(data["threshold"]),
                meta=dict(data.get("meta") or {}),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ModelError(f"{path}: corrupt model file ({exc}); {hint}") from None
        if not all(math.isfinite(v) for v in (model.intercept, *model.calibration, model.threshold)):
            raise ModelError(f"{path}: corrupt model file (a number is not finite); {hint}")
        return model


def _weights(value) -> dict[str, float]:
    if not isinstance(value, dict):
        raise TypeError("weights must be an object of feature: number")
    out = {}
    for k, v in value.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"weight of {str(k)[:40]!r} is not a number")
        w = float(v)
        if not math.isfinite(w):
            raise ValueError(f"weight of {k!r} is not finite")
        out[str(k)] = w
    return out


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


# ---------------------------------------------------------------- training
def _idf(n: int, df: int) -> float:
    """Inverse document frequency (smoothed, as scikit-learn's): rare n-grams are regularised less."""
    return math.log((1 + n) / (1 + df)) + 1.0


def design_matrix(texts: list[str], signals: list[dict[str, float]] | None, signal_names: tuple[str, ...],
                  char_index: dict[str, tuple[int, float]] | None = None,
                  word_index: dict[str, tuple[int, float]] | None = None):
    """The sparse matrix of the features `LinearModel.logit` computes, and the vocabularies
    (n-gram -> (column, idf)).

    Without them, the vocabularies are built from `texts`: n-grams seen in at least two posts.
    """
    from scipy.sparse import csr_matrix

    extracted = [features(t) for t in texts]
    if char_index is None or word_index is None:
        char_df: Counter = Counter()
        word_df: Counter = Counter()
        for chars, _, grams, _ in extracted:
            char_df.update(chars.keys())
            word_df.update(grams.keys())
        n = len(texts)
        char_index = {g: (i, _idf(n, char_df[g])) for i, g in enumerate(sorted(g for g, df in char_df.items() if df >= 2))}
        word_index = {g: (i + len(char_index), _idf(n, word_df[g]))
                      for i, g in enumerate(sorted(g for g, df in word_df.items() if df >= 2))}
    offset = len(char_index) + len(word_index)
    rows, cols, vals = [], [], []
    for r, (chars, char_n, grams, word_n) in enumerate(extracted):
        for index, counts, n in ((char_index, chars, char_n), (word_index, grams, word_n)):
            scale = 1.0 / math.sqrt(n) if n else 0.0
            for g, c in counts.items():
                found = index.get(g)
                if found is not None:
                    rows.append(r)
                    cols.append(found[0])
                    vals.append(c * scale * found[1])
        for k, name in enumerate(signal_names):
            value = (signals[r] if signals else {}).get(name, 0.0)
            if value:
                rows.append(r)
                cols.append(offset + k)
                vals.append(value)
    matrix = csr_matrix((vals, (rows, cols)), shape=(len(texts), offset + len(signal_names)))
    return matrix, char_index, word_index


C = 10.0
"""Inverse regularisation of the logistic regression (chosen by grouped cross-validation)."""


def fit(texts: list[str], labels: list[int], signals: list[dict[str, float]] | None = None,
        signal_names: tuple[str, ...] = (), calibration_groups: list[str] | None = None, meta: dict | None = None
        ) -> LinearModel:
    """Train a LinearModel on the detector's normalised `texts` (`Detector.model_inputs`) with 0/1 `labels`.

    With `calibration_groups`, the raw logit is calibrated to a probability by Platt scaling on
    out-of-fold logits (grouped 5-fold on those groups), so that 0.8 means "8 in 10 such posts are sales".
    """
    from sklearn.linear_model import LogisticRegression

    if len(set(labels)) < 2:
        raise ValueError("the training posts must include both sales and non-sales")
    x, char_index, word_index = design_matrix(texts, signals, signal_names)
    if x.shape[1] == len(signal_names):
        raise ValueError("no n-gram occurs in two posts: too few or too short training texts")
    lr = LogisticRegression(C=C, class_weight="balanced", max_iter=3000, solver="liblinear", random_state=0)
    lr.fit(x, labels)
    coef = lr.coef_[0]
    n_chars = len(char_index)
    # The stored weight of an n-gram is its coefficient times its idf: scoring needs no idf table.
    chars = {g: round(float(coef[j] * idf), 5) for g, (j, idf) in char_index.items() if abs(coef[j]) >= 1e-4}
    words = {g: round(float(coef[j] * idf), 5) for g, (j, idf) in word_index.items() if abs(coef[j]) >= 1e-4}
    offset = n_chars + len(word_index)
    signal_weights = {name: round(float(coef[offset + k]), 5) for k, name in enumerate(signal_names)}
    model = LinearModel(chars, words, signal_weights, round(float(lr.intercept_[0]), 5), meta=dict(meta or {}))
    if calibration_groups is not None:
        model.calibration = _platt(texts, labels, signals, signal_names, calibration_groups)
    return model


def _platt(texts, labels, signals, signal_names, groups) -> tuple[float, float]:
    """Fit sigmoid(a * logit + b) to out-of-fold logits; (1, 0) when there are too few groups."""
    from sklearn.linear_model import LogisticRegression

    distinct = sorted(set(groups))
    k = min(5, len(distinct))
    if k < 2:
        return (1.0, 0.0)
    fold_of = {g: i % k for i, g in enumerate(sorted(distinct, key=lambda g: hashlib.sha256(g.encode()).hexdigest()))}
    logits = [0.0] * len(texts)
    for f in range(k):
        train = [i for i, g in enumerate(groups) if fold_of[g] != f]
        test = [i for i, g in enumerate(groups) if fold_of[g] == f]
        if not test or len({labels[i] for i in train}) < 2:
            continue
        try:
            inner = fit([texts[i] for i in train], [labels[i] for i in train],
                        [signals[i] for i in train] if signals else None, signal_names)
        except ValueError:
            continue
        for i in test:
            logits[i] = inner.logit(texts[i], signals[i] if signals else None)
    if len(set(labels)) < 2:
        return (1.0, 0.0)
    platt = LogisticRegression(C=1e4, solver="lbfgs")
    platt.fit([[z] for z in logits], labels)
    return (round(float(platt.coef_[0][0]), 5), round(float(platt.intercept_[0]), 5))
