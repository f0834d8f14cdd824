"""The Detector: text in, an explained sale / not-sale decision out.

Matching runs on normalised text with spaCy's blank `id`/`en` tokenizers and
PhraseMatcher (phrase patterns are far faster than token patterns), plus
regex rules for prices, contacts and volumes. Context triggers scoped to
the sentence (ConText style) neutralise sale words in news, statements,
warnings and questions. Every number that goes into the score comes from a
match, an identifier or a context hit kept in the Analysis, so a reviewer
can see why a post was flagged.
"""

from __future__ import annotations

import bisect
import copy
import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

from .identifiers import MASKED_KINDS, Identifier, find_identifiers, mask_text
from .amounts import find_prices
from .model import shown, signals_of
from .reasons import sentences
from .normalize import Normalized, normalize
from .photo_evidence import photos_of
from .ruleset import RULES_DIR, Rule, load_rules
from .tokenizer import blank, token_offsets

MAX_CHARS = 100_000
"""Longer input is cut here (and the Analysis says so); ads are short, dumps are long."""

PLACEHOLDER = "\u2205"
"""Stands for every word that no phrase pattern contains."""

ZONE_DOCS = 1000
"""Texts tokenized per spaCy memory zone."""

DOCUMENT_CONTEXT = ("REPORTED", "OFFICIAL", "WARNING")
"""Context categories that also lower the score of the whole post."""

WEIGHTS = {
    "intent_strong": 1.5,
    "intent_weak": 1.0,
    "data": 0.7,
    "terms": 0.6,
    "volume": 0.5,
    "listing": 1.0,
    "valid_ids": 1.0,
    "dense": 1.0,
    "reported": 0.7,
    "bias": 2.2,
}
"""How much each kind of evidence counts (logit units); tuned on the dev set by hand."""

DENSE_LISTING = 0.25
"""Share of words that name data or fields above which a post reads as a product list, not prose."""

_WORD = re.compile(r"[^\W\d_]+")

SENSITIVE_LABELS = ("SALE_INTENT", "PRICE", "CONTACT", "TERMS", "VOLUME")
"""Labels whose matches a context trigger in scope neutralises."""

_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n+")
_ID_WORDS = frozenset("yang dan di ini itu dengan untuk tidak ada saya aku gan ane kami bisa dari ke juga sudah akan atau karena jika kalau mau lagi aja sama bisa per harga jual data".split())
_EN_WORDS = frozenset("the and of to is are with for you your we our this that from on in have has be will can all by as it not".split())


@dataclass(frozen=True)
class Match:
    rule_id: str
    label: str
    category: str | None
    start: int
    end: int
    text: str
    weight: float
    neutralised_by: str | None = None


@dataclass(frozen=True)
class ContextHit:
    category: str
    rule_id: str
    trigger: str
    start: int
    end: int
    scope_start: int
    scope_end: int


@dataclass
class Analysis:
    label: str
    score: float
    severity: str
    categories: list[str]
    matches: list[Match]
    identifiers: list[Identifier]
    context: list[ContextHit]
    lang: str
    truncated: bool = False
    reasons: list[str] = field(default_factory=list)  # in English; `reason_parts` say them in either language
    reason_parts: list[dict] = field(default_factory=list)
    rules_label: str = ""  # the rules' own decision and score, kept beside the combined ones
    rules_score: float = 0.0
    model: str | None = None  # version of the model that scored the post; None: rules only
    model_terms: list[str] = field(default_factory=list)  # what moved the model's score most, in words
    warnings: list[str] = field(default_factory=list)

    def after(self, offset: int) -> Analysis:
        """This analysis of `prefix + text` (len(prefix) == offset) as one of `text`: spans shifted back,
        matches, identifiers and context inside the prefix left out (the decision and reasons keep them).

        A listing's title is read with its opening post; the page marks words in the post's text.
        """
        if offset <= 0:
            return self
        return dataclasses.replace(
            self,
            matches=[dataclasses.replace(m, start=m.start - offset, end=m.end - offset) for m in self.matches if m.start >= offset],
            identifiers=[dataclasses.replace(i, start=i.start - offset, end=i.end - offset)
                         for i in self.identifiers if i.start >= offset],
            context=[dataclasses.replace(c, start=c.start - offset, end=c.end - offset,
                                         scope_start=max(0, c.scope_start - offset), scope_end=max(0, c.scope_end - offset))
                     for c in self.context if c.start >= offset],
        )

    def to_dict(self) -> dict:
        """Plain data (JSON-ready); written by hand because dataclasses.asdict is slow on the crawl path."""
        return {
            "label": self.label,
            "score": self.score,
            "severity": self.severity,
            "categories": list(self.categories),
            "matches": [dict(vars(m)) for m in self.matches],
            "identifiers": [dict(vars(i)) for i in self.identifiers],
            "context": [dict(vars(c)) for c in self.context],
            "lang": self.lang,
            "truncated": self.truncated,
            "reasons": list(self.reasons),
            "reason_parts": self.reason_parts,
            "rules_label": self.rules_label,
            "rules_score": self.rules_score,
            "model": self.model,
            "model_terms": list(self.model_terms),
            "warnings": list(self.warnings),
        }


def guess_lang(normalized_text: str) -> str:
    words = re.findall(r"[a-z]+", normalized_text[:5000])
    id_hits = sum(w in _ID_WORDS for w in words)
    en_hits = sum(w in _EN_WORDS for w in words)
    return "en" if en_hits > id_hits else "id"


class _LanguageMatchers:
    """Tokenizer and matchers of one blank pipeline."""

    def __init__(self, lang: str, rules: list[Rule]):
        self.nlp = blank(lang)
        self.phrases = PhraseMatcher(self.nlp.vocab, attr="ORTH")
        self.tokens = Matcher(self.nlp.vocab)
        self.has_tokens = any(rule.tokens for rule in rules)
        self._zone = None
        self._zone_docs = 0
        self.known: set[str] = set()
        for rule in rules:
            if rule.phrases:
                docs = [self.nlp.make_doc(normalize(p).text) for p in rule.phrases]
                self.known.update(token.text for doc in docs for token in doc)
                self.phrases.add(rule.id, docs)
            for pattern in rule.tokens:
                self.tokens.add(rule.id, [list(pattern)])

    def spans(self, text: str) -> list[tuple[str, int, int]]:
        """(rule id, start char, end char) of every phrase and token match in `text`.

        Docs are made inside a memory zone that is renewed every ZONE_DOCS
        texts, so the vocabulary does not grow with every new word of a
        long-running crawl, without paying for a fresh zone per text.
        """
        if self._zone is None:
            self._zone = self.nlp.memory_zone()
            self._zone.__enter__()
        out = []
        offsets = token_offsets(text)
        words = [text[s:e] for s, e in offsets]
        if not self.has_tokens:
            # Phrase patterns only look at words they contain: every other word becomes one
            # placeholder, so unknown words never become lexemes (fast, and the vocabulary
            # cannot grow however many new words a crawl brings).
            known = self.known
            words = [w if w in known else PLACEHOLDER for w in words]
        doc = Doc(self.nlp.vocab, words=words)
        strings = self.nlp.vocab.strings
        for matcher in (self.phrases, self.tokens) if self.has_tokens else (self.phrases,):
            for match_id, start, end in matcher(doc):
                out.append((strings[match_id], offsets[start][0], offsets[end - 1][1]))
        del doc
        self._zone_docs += 1
        if self._zone_docs >= ZONE_DOCS:
            self._zone.__exit__(None, None, None)
            self._zone, self._zone_docs = None, 0
        return out


RULES_SUPPORT = 0.25
"""With a model, a post the rules call a sale is one when the model gives it at least this probability.

The model decides; the rules add the posts it is unsure of that they have specific evidence for.
Chosen by grouped cross-validation (see `monitor eval --cv`), not on the posts it is reported on.
"""


VETO = ("benign", "question")
"""Rule evidence that keeps a post the rules do not call a sale from being one on the model's word
alone: lawful commerce that shares the sellers' words (data packages, KTP wallets, loans that ask
for a KTP) and questions (people looking for data). The model, trained on few such posts, learns
"jual ... harga ... ready" as a sale; the rules' lists of lawful goods and question forms are precise.
Chosen by grouped cross-validation: precision 0.91 -> 0.95 at the same F1 (see the CHANGELOG)."""


MODEL_ALONE = 0.8
"""A post in which the rules find no data named, no fields and no valid identity number is a sale on
the model's word alone only at this probability or above: "jual sepatu nike" shares a seller's
words but offers no personal data. Chosen by grouped cross-validation (no loss at 0.8; 0.85 and 0.9
cost recall), with ordinary goods ads as the check it is for. Volumes do not count as data here:
the rules read "350rb" in a price as one."""


class Detector:
    """Analyses post text. Build once and reuse: construction loads rules and tokenizers.

    With a `model` (rules.model.LinearModel), the decision and the score come from the model and
    the rules together (`RULES_SUPPORT`); the rules still give categories, identifiers, masking,
    severity and context. `model_version` names it in each analysis; `warnings` (e.g. "the model
    could not be loaded, rules only") are stored with each analysis. With `explain_all` False, the
    words that moved the model are listed only for sales: a crawl stores no other analysis, and
    listing them costs a third of the model's time.
    """

    def __init__(self, rules_dir: Path | None = None, threshold: float = 0.5, weights: dict | None = None,
                 model=None, model_version: str | None = None, warnings: list[str] | None = None,
                 explain_all: bool = True):
        self.model = model
        self.explain_all = explain_all  # False: the model's words are listed for sales only (the crawl keeps no other)
        self.model_version = model_version if model is not None else None
        self._set_warnings(warnings)
        self.rules = load_rules(rules_dir or RULES_DIR)
        self.weights = {**WEIGHTS, **(weights or {})}
        self.by_id = {r.id: r for r in self.rules}
        self._context_of = {r.id: r.category for r in self.rules if r.label == "CONTEXT"}
        self.threshold = threshold
        self._regex_rules = [r for r in self.rules if r.regex is not None]
        self._matchers = {lang: _LanguageMatchers(lang, self.rules) for lang in ("id", "en")}

    def with_model(self, model, version: str | None = None, warnings: list[str] | None = None) -> Detector:
        """This detector (its loaded rules shared, not reloaded) with another model, or none."""
        other = copy.copy(self)
        other.model = model
        other.model_version = version if model is not None else None
        other._set_warnings(warnings)
        return other

    def _set_warnings(self, warnings) -> None:
        """Warnings come as reason parts (see rules.reasons) or plain English text."""
        self.warning_parts = [w if isinstance(w, dict) else {"kind": "note", "detail": str(w)} for w in warnings or []]
        self.warnings = sentences(self.warning_parts, "en")

    def model_inputs(self, text: str, is_listing: bool = False) -> tuple[str, dict[str, float]]:
        """What the model reads of `text`: the normalised text and the rules' signals (for training)."""
        if not isinstance(text, str):
            text = str(text or "")
        text = text[:MAX_CHARS]
        analysis = self.with_model(None).analyze(text)
        return normalize(text).text, signals_of(analysis.matches, analysis.identifiers, is_listing)

    # ------------------------------------------------------------ matching
    def _raw_matches(self, norm: Normalized, lang: str, longest: bool = True) -> list[tuple[Rule, int, int]]:
        found = [(self.by_id[rid], s, e) for rid, s, e in self._matchers[lang].spans(norm.text)]
        for rule in self._regex_rules:
            hit = "hit" in rule.regex.groupindex
            for m in rule.regex.finditer(norm.text):
                start, end = m.span("hit") if hit else m.span()
                if end > start:
                    found.append((rule, start, end))
        return _longest_per_label(found) if longest else found

    @staticmethod
    def _sentences(text: str) -> list[tuple[int, int]]:
        bounds, pos = [], 0
        for m in _SENTENCE_END.finditer(text):
            bounds.append((pos, m.end()))
            pos = m.end()
        bounds.append((pos, len(text)))
        return [(s, e) for s, e in bounds if e > s]

    def analyze(self, text: str, *, lang: str | None = None, source_kind: str | None = None,
                is_listing: bool = False, images: list[dict] | None = None) -> Analysis:
        """Return the Analysis of `text`. Never raises on odd input; long text is cut at MAX_CHARS.

        `lang` ("id"/"en") skips language guessing; `source_kind` is accepted for
        callers that know where the text came from; `is_listing` says the text is a
        listing title on a marketplace or trading board, where a title that names
        goods is the offer itself. `images` are the analyses of the post's photos
        (`rules.images.analyse_image(...).to_dict()`): an identity document in them
        is data on offer, and with a caption that offers it ("sampel", a price, a
        contact) the post is a sale.
        """
        if not isinstance(text, str):
            text = str(text or "")
        truncated = len(text) > MAX_CHARS
        if truncated:
            text = text[:MAX_CHARS]
        norm = normalize(text)
        lang = lang if lang in ("id", "en") else guess_lang(norm.text)
        raw = _volumes_outside_prices(self._raw_matches(norm, lang))
        sentences = self._sentences(norm.text)

        sentence_starts = [s for s, _ in sentences]

        def sentence_of(pos: int) -> tuple[int, int]:
            i = bisect.bisect_right(sentence_starts, pos) - 1
            if i >= 0 and pos < sentences[i][1]:
                return sentences[i]
            return 0, len(norm.text)

        pseudo = [(s, e) for rule, s, e in raw if rule.label == "CONTEXT" and rule.category == "PSEUDO"]
        context_norm: list[tuple[Rule, int, int, int, int]] = []
        for rule, s, e in raw:
            if rule.label != "CONTEXT" or rule.category == "PSEUDO":
                continue
            if any(ps <= s and e <= pe for ps, pe in pseudo):
                continue
            ss, se = sentence_of(s)
            scope = {"forward": (s, se), "backward": (ss, e), "both": (ss, se)}[rule.direction]
            context_norm.append((rule, s, e, *scope))

        identifiers = find_identifiers(text)
        masked_ids = [i for i in identifiers if i.kind in MASKED_KINDS]
        matches: list[Match] = []
        for rule, s, e in raw:
            if rule.label == "CONTEXT":
                continue
            neutraliser = None
            if rule.label in SENSITIVE_LABELS:
                for crule, cs, ce, scs, sce in context_norm:
                    if scs <= s < sce:
                        neutraliser = crule.id
                        break
            os_, oe = norm.span_to_original(s, e)
            # A match never carries a full personal number.
            shown = mask_text(text, masked_ids, os_, oe) if _overlaps(masked_ids, os_, oe) else text[os_:oe]
            matches.append(Match(rule.id, rule.label, rule.category, os_, oe, shown, rule.weight, neutraliser))
        matches.sort(key=lambda m: (m.start, m.rule_id))

        context = []
        for crule, cs, ce, scs, sce in context_norm:
            ocs, oce = norm.span_to_original(cs, ce)
            oss, ose = norm.span_to_original(scs, sce)
            context.append(ContextHit(crule.category, crule.id, text[ocs:oce], ocs, oce, oss, ose))
        context.sort(key=lambda c: c.start)
        words = len(_WORD.findall(norm.text))
        learned = None
        if self.model is not None:
            signals = signals_of(matches, identifiers, is_listing)
            learned = (*self.model.scored(norm.text, signals), signals)
        return self._decide(matches, identifiers, context, lang, truncated, words, learned, photos_of(images))

    def check_examples(self) -> list[str]:
        """Run every rule's examples; return one line per example that does not behave."""
        failures = []
        for rule in self.rules:
            for example, expected in [(e, True) for e in rule.match] + [(e, False) for e in rule.no_match]:
                norm = normalize(example)
                fired = {r.id for r, _, _ in self._raw_matches(norm, guess_lang(norm.text), longest=False)}
                if (rule.id in fired) != expected:
                    verb = "should match" if expected else "should not match"
                    failures.append(f"{rule.file}:{rule.line}: {rule.id} {verb} {example!r}")
        return failures

    # ------------------------------------------------------------ deciding
    def evidence(self, matches: list[Match], identifiers: list[Identifier], context: list[ContextHit], words: int) -> dict:
        """The numbers the decision is made from, each traceable to matches, identifiers or context."""
        live = [m for m in matches if m.neutralised_by is None]
        benign_spans = [(m.start, m.end) for m in matches if m.label == "BENIGN"]
        data_by_cat: dict[str, float] = {}
        for m in matches:
            if m.label == "DATA" and not any(s <= m.start and m.end <= e for s, e in benign_spans):
                data_by_cat[m.category] = data_by_cat.get(m.category, 0.0) + m.weight
        valid_ids = sum(1 for i in identifiers if i.valid and i.kind in ("nik", "kk", "npwp"))
        if valid_ids:
            category = "database_dump" if valid_ids >= 3 else "id_documents"
            data_by_cat[category] = data_by_cat.get(category, 0.0) + 1.0
        cards = sum(1 for i in identifiers if i.valid and i.kind == "card")
        if cards >= 3:  # a list of card numbers is a card dump
            data_by_cat["other_pii"] = data_by_cat.get("other_pii", 0.0) + 1.0
            valid_ids += cards
        return {
            "intent_strong": min(2.0, sum(m.weight for m in live if m.label == "SALE_INTENT" and m.weight >= 1.0)),
            "intent_weak": min(0.6, sum(m.weight for m in live if m.label == "SALE_INTENT" and m.weight < 1.0)),
            "data": min(3.0, sum(data_by_cat.values())),
            "data_by_category": data_by_cat,
            "fields": len({m.text.lower() for m in matches if m.label == "FIELD"}),
            "terms": min(3, len({m.rule_id for m in live if m.label in ("PRICE", "CONTACT", "TERMS")})),
            "volume": 1 if any(m.label == "VOLUME" for m in live) else 0,
            "benign": min(4.0, sum(m.weight for m in matches if m.label == "BENIGN")),
            "reported": min(4, len({c.start for c in context if c.category in DOCUMENT_CONTEXT})),
            "valid_ids": valid_ids,
            "question": any(c.category == "QUESTION" for c in context),
            "density": round(sum(1 for m in matches if m.label in ("DATA", "FIELD")) / max(words, 5), 3),
        }

    def _decide(self, matches, identifiers, context, lang, truncated, words, learned=None, photos=None) -> Analysis:
        ev = self.evidence(matches, identifiers, context, words)
        w = self.weights
        raw = (
            w["intent_strong"] * ev["intent_strong"]
            + w["intent_weak"] * ev["intent_weak"]
            + w["data"] * ev["data"]
            + w["terms"] * ev["terms"]
            + w["volume"] * ev["volume"]
            + (w["listing"] if ev["fields"] >= 3 else 0.0)
            + (w["dense"] if ev["density"] >= DENSE_LISTING and not ev["question"] else 0.0)
            + (w["valid_ids"] if ev["valid_ids"] else 0.0)
            - ev["benign"]
            - w["reported"] * ev["reported"]
            - w["bias"]
        )
        rules_score = round(1 / (1 + math.exp(-raw)), 3)
        rules_sale = rules_score >= self.threshold and (ev["data"] > 0 or ev["fields"] >= 3)
        score, is_sale, terms = rules_score, rules_sale, []
        if learned is not None:
            probability, parts, signals = learned
            score = round(probability, 3)
            no_data = not (ev["data"] > 0 or ev["fields"] or ev["valid_ids"])
            vetoed = not rules_sale and (any(ev[name] for name in VETO) or (no_data and probability < MODEL_ALONE))
            is_sale = (probability >= self.model.threshold and not vetoed) or (rules_sale and probability >= RULES_SUPPORT)
            if is_sale or self.explain_all:
                terms = self.model.terms(parts, signals)
        live = [m for m in matches if m.neutralised_by is None]
        # Photos name the data on offer and add valid numbers, but the text decides whether it is
        # offered: a photo alone, or with a question or a news report, is not a sale.
        photo_sale = photos is not None and not is_sale and photos.offered(ev, live)
        is_sale = is_sale or photo_sale
        if photos is not None and is_sale:
            photos.add_to(ev)
        data_by_cat = ev["data_by_category"]
        categories: list[str] = []
        if is_sale:
            top = max(data_by_cat.values(), default=0.0)
            categories = sorted(c for c, weight in data_by_cat.items() if weight >= 1.0 or weight == top)
            if not categories:  # a listing of fields, or an offer the model recognised with no document named
                categories = ["database_dump"] if ev["fields"] >= 3 else ["other_pii"]
        why = _reason_parts(ev, matches, live, context, truncated, self._context_of)
        if photos is not None:
            why.extend(photos.parts)
            if photo_sale:
                why.append({"kind": "photo_sale"})
        if learned is not None:
            why.append({"kind": "model", "version": self.model_version or "", "probability": score,
                          "terms": [{"feature": shown(t.feature) if t.kind == "words" else t.feature, "kind": t.kind,
                                     "weight": round(t.weight, 2)} for t in terms],
                          "rules_sale": rules_sale, "rules_score": rules_score})
        why.extend(self.warning_parts)
        return Analysis(
            label="sale" if is_sale else "not_sale",
            score=score,
            severity=self._severity(is_sale, categories, ev["valid_ids"], live),
            categories=categories,
            matches=matches,
            identifiers=identifiers,
            context=context,
            lang=lang,
            truncated=truncated,
            reasons=sentences(why, "en"),
            reason_parts=why,
            rules_label="sale" if rules_sale else "not_sale",
            rules_score=rules_score,
            model=self.model_version if learned is not None else None,
            model_terms=[str(t) for t in terms],
            warnings=list(self.warnings),
        )

    @staticmethod
    def _severity(is_sale: bool, categories: list[str], valid_ids: int, live: list[Match]) -> str:
        if not is_sale:
            return "low"
        has_volume = any(m.label == "VOLUME" for m in live)
        if valid_ids >= 3 or ({"ektp_selfie", "database_dump"} & set(categories) and has_volume):
            return "critical"
        if {"ektp_selfie", "id_documents", "database_dump"} & set(categories):
            return "high"
        return "medium"


def _overlaps(identifiers: list[Identifier], start: int, end: int) -> bool:
    return any(i.start < end and start < i.end for i in identifiers)


def _volumes_outside_prices(found: list[tuple[Rule, int, int]]) -> list[tuple[Rule, int, int]]:
    """Drop a volume read inside a price: "5jt" in "Rp 5jt" is what the data costs, not how much there is."""
    prices = [(s, e) for rule, s, e in found if rule.label == "PRICE"]
    if not prices:
        return found
    return [(rule, s, e) for rule, s, e in found
            if rule.label != "VOLUME" or not any(ps <= s < pe for ps, pe in prices)]


def _longest_per_label(found: list[tuple[Rule, int, int]]) -> list[tuple[Rule, int, int]]:
    """Drop a match that lies inside a longer match of the same label ("ektp" inside "selfie ektp")."""
    by_label: dict[str, list[tuple[Rule, int, int]]] = {}
    for item in found:
        by_label.setdefault(item[0].label, []).append(item)
    kept = []
    for items in by_label.values():
        items.sort(key=lambda t: (t[1], -(t[2] - t[1]), -t[0].weight))
        last_end = -1
        for rule, s, e in items:
            if e <= last_end:
                continue  # inside the previous, longer (or equally long, heavier) match
            kept.append((rule, s, e))
            last_end = max(last_end, e)
    return kept


def _words(matches, prices: bool = False) -> list[str]:
    """Matched words as a reviewer reads them: no trailing spaces or punctuation, each once (any case).

    With `prices`, a price is listed once however it is written ("Rp150rb", "Rp 150.000"): words that
    read as the same amount count as one."""
    seen, out = set(), []
    for text in sorted(m.text for m in matches):
        word = " ".join(text.split()).strip(" ,.;:/-|")
        amounts = (find_prices(word) or (find_prices("rp " + word) if word[:1].isdigit() else [])) if prices else []
        key = amounts[0][2] if len(amounts) == 1 else word.casefold()
        if word and key not in seen:
            seen.add(key)
            out.append(word)
    return out


def _reason_parts(ev: dict, matches: list[Match], live: list[Match], context: list[ContextHit], truncated: bool,
                  context_of: dict[str, str]) -> list[dict]:
    """The decision as reasons (see rules.reasons): the matched words under their rule label; the weights
    are in the evidence, not here."""
    parts: list[dict] = []
    intent = _words(m for m in live if m.label == "SALE_INTENT")
    if intent:
        parts.append({"kind": "words", "label": "SALE_INTENT", "words": intent})
    if ev["data_by_category"]:
        parts.append({"kind": "categories", "label": "DATA", "codes": sorted(ev["data_by_category"])})
    if ev["fields"]:
        parts.append({"kind": "fields", "n": ev["fields"]})
    for label in ("PRICE", "CONTACT", "VOLUME", "TERMS"):
        words = _words((m for m in live if m.label == label), prices=label == "PRICE")
        if words:
            parts.append({"kind": "words", "label": label, "words": words})
    if ev["valid_ids"]:
        parts.append({"kind": "valid_ids", "n": ev["valid_ids"]})
    benign = _words(m for m in matches if m.label == "BENIGN")
    if benign:
        parts.append({"kind": "words", "label": "BENIGN", "words": benign})
    neutralised = sorted({(" ".join(m.text.split()), context_of.get(m.neutralised_by, "CONTEXT"))
                          for m in matches if m.neutralised_by})
    if neutralised:
        parts.append({"kind": "neutralised", "items": [list(item) for item in neutralised]})
    doc = sorted({(c.category, " ".join(c.trigger.split())) for c in context if c.category in DOCUMENT_CONTEXT})
    if doc:
        parts.append({"kind": "reported", "items": [list(item) for item in doc]})
    if truncated:
        parts.append({"kind": "truncated", "n": MAX_CHARS})
    return parts
