"""A learned sale/not-sale scorer to stand beside the rules (issue 12, first part: for honest evaluation).

Rules tuned on one labelled set do not carry over to posts nobody tuned them to;
a linear model over character n-grams (on word boundaries, which survive affixes
and obfuscation) and word n-grams does better on unseen posts. With `signals`,
the rule layer's own evidence (intent, data categories, fields, context,
identifiers, prices, volumes) is added as features for the model to weigh, not
as the answer.

This module trains and predicts in memory; it is used by `monitor eval --cv`
to compare rules, model and combination on folds the model was not trained on.
Storing a model (safe format, manifest) and using it in `analyze` come next.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SIGNALS = ("score", "intent", "weak_intent", "data_categories", "fields", "context", "valid_ids", "prices",
           "volumes", "contacts", "listing")


def rule_signals(analysis) -> list[float]:
    """The rule layer's evidence for one post as numbers (`SIGNALS`, in order)."""
    matches = analysis.matches
    labels = [m.label for m in matches if not m.neutralised_by]
    ids = analysis.identifiers
    return [
        float(analysis.score),
        float(labels.count("SALE_INTENT") > 0),
        float(sum(1 for m in matches if m.neutralised_by)),
        float(len(analysis.categories)),
        float(labels.count("FIELD")),
        float(len(analysis.context)),
        float(sum(1 for i in ids if i.valid and i.kind in ("nik", "kk", "npwp", "card"))),
        float(sum(1 for i in ids if i.kind == "price")),
        float(sum(1 for i in ids if i.kind == "volume")),
        float(sum(1 for i in ids if i.kind in ("phone", "whatsapp", "telegram", "email"))),
        float(any(m.rule_id.startswith("intent.listing") for m in matches)),
    ]


@dataclass
class LearnedScorer:
    """Character and word n-gram TF-IDF with logistic regression; optionally the rules' signals too."""

    signals: bool = False
    threshold: float = 0.5
    _model: object = field(default=None, repr=False)

    def _features(self):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion

        return FeatureUnion([
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
                                      lowercase=True, max_features=200_000)),
            ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                                      lowercase=True, token_pattern=r"(?u)\b\w+\b")),
        ])

    def fit(self, texts: list[str], labels: list[int], extra: list[list[float]] | None = None) -> LearnedScorer:
        from scipy.sparse import csr_matrix, hstack
        from sklearn.linear_model import LogisticRegression

        features = self._features()
        x = features.fit_transform(texts)
        if self.signals:
            x = hstack([x, csr_matrix(_scaled(extra))]).tocsr()
        model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000)
        model.fit(x, labels)
        self._model = (features, model)
        return self

    def probabilities(self, texts: list[str], extra: list[list[float]] | None = None) -> list[float]:
        from scipy.sparse import csr_matrix, hstack

        features, model = self._model
        x = features.transform(texts)
        if self.signals:
            x = hstack([x, csr_matrix(_scaled(extra))]).tocsr()
        return [float(p) for p in model.predict_proba(x)[:, 1]]


def _scaled(rows: list[list[float]]) -> list[list[float]]:
    """Signals squashed to 0..1 so that no count outweighs the n-grams by its size alone."""
    return [[v / (1.0 + v) if v >= 0 else 0.0 for v in row] for row in rows]
