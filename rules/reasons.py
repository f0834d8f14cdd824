"""A flag's reasons as data, and as sentences in Indonesian or English.

The detector records what it found as parts (a kind, the label of the rules that fired, the
matched words, a count); the sentence is made when someone reads it, in their language, from the
catalogue `data/reasons.toml`. The page, the letters, the digest and the alerts each read in their
reader's language; `Analysis.reasons` keeps the English sentences for the CLI and JSON output.
Flags stored before reasons were data have only those English sentences, shown as they are.
"""

from __future__ import annotations

import functools
import json
import tomllib
from importlib import resources

LANGS = ("id", "en")


@functools.cache
def catalogue() -> dict[str, dict[str, tuple[str, str]]]:
    """The reasons' words: section -> code -> (Indonesian, English)."""
    # From `rules`, not `rules.data`: data/ has no __init__.py, and a namespace package is not found inside a zipped egg.
    raw = tomllib.loads((resources.files("rules") / "data" / "reasons.toml").read_text(encoding="utf-8"))
    return {section: {code: (pair[0], pair[1]) for code, pair in table.items()} for section, table in raw.items()}


def word(section: str, code: str, lang: str) -> str:
    """The name of `code` in `section` ("labels", "categories", "context", "signals", "documents"); unknown codes as they are."""
    pair = catalogue().get(section, {}).get(code)
    if pair is None:
        return str(code)
    return pair[0] if lang == "id" else pair[1]


def missing_words(labels, categories, contexts) -> list[str]:
    """The rule labels, data categories and context categories the catalogue lacks in either language."""
    out = []
    for section, codes in (("labels", labels), ("categories", categories), ("context", contexts)):
        table = catalogue().get(section, {})
        for code in sorted(set(codes)):
            pair = table.get(code)
            if pair is None or not all(isinstance(w, str) and w.strip() for w in pair):
                out.append(f"reasons.toml [{section}] {code}: needs an Indonesian and an English name")
    return out


def number(value: float, lang: str) -> str:
    """0.87 as the reader writes it: "0,87" in Indonesian, "0.87" in English."""
    text = f"{float(value):.2f}"
    return text.replace(".", ",") if lang == "id" else text


def sentence(part: dict, lang: str) -> str:
    """One reason in `lang`. A part this version does not know is shown by its detail, never an error."""
    lang = lang if lang in LANGS else "en"
    says = _sentences_in(lang)
    try:
        kind = part["kind"]
        if kind == "words":
            return says["words"].format(label=word("labels", part["label"], lang), words=", ".join(map(str, part["words"])))
        if kind == "categories":
            what = ", ".join(word("categories", c, lang) for c in part["codes"])
            return says["categories"].format(label=word("labels", part["label"], lang), what=what)
        if kind in ("fields", "valid_ids", "truncated"):
            return says[kind].format(n=int(part["n"]))
        if kind == "neutralised":
            what = ", ".join(says["neutralised_item"].format(words=w, label=word("context", c, lang)) for w, c in part["items"])
            return says["neutralised"].format(what=what)
        if kind == "reported":
            what = ", ".join(says["reported_item"].format(words=w, label=word("context", c, lang)) for c, w in part["items"])
            return says["reported"].format(what=what)
        if kind == "model":
            return _model_sentence(part, says, lang)
        if kind == "photo":
            return _photo_sentence(part, says, lang)
        if kind == "photo_sale":
            return says["photo_sale"]
        if kind in ("model_unavailable", "note"):
            return says[kind].format(detail=part.get("detail", ""))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError, RecursionError):
        pass
    return str(part.get("detail", "")) if isinstance(part, dict) else str(part)


@functools.cache
def _sentences_in(lang: str) -> dict[str, str]:
    """The catalogue's sentence templates in one language (every analysis says its reasons in English)."""
    i = 0 if lang == "id" else 1
    return {code: pair[i] for code, pair in catalogue()["sentences"].items()}


def _photo_sentence(part: dict, says: dict, lang: str) -> str:
    """"photo: KTP, NIK valid, held by a person (selfie with ID)"."""
    what = [word("documents", part["document"], lang)]
    what += [says["photo_valid" if valid else "photo_invalid"].format(kind=str(kind).upper()) for kind, valid in part.get("numbers", [])]
    if part.get("selfie"):
        what.append(says["photo_selfie"])
    elif part.get("face"):
        what.append(says["photo_face"])
    return says["photo"].format(what=", ".join(what))


def _model_sentence(part: dict, says: dict, lang: str) -> str:
    def term(t: dict) -> str:
        return word("signals", t["feature"], lang) if t.get("kind") == "signal" else f"'{t['feature']}'"

    raised = [term(t) for t in part.get("terms", []) if t["weight"] > 0]
    lowered = [term(t) for t in part.get("terms", []) if t["weight"] < 0]
    return says["model"].format(
        version=part.get("version") or "",
        probability=number(part["probability"], lang),
        raised=says["raised"].format(what=", ".join(raised)) if raised else "",
        lowered=says["lowered"].format(what=", ".join(lowered)) if lowered else "",
        verdict=says["sale"] if part["rules_sale"] else says["not_sale"],
        rules_score=number(part["rules_score"], lang),
    )


def sentences(parts, lang: str, stored: list[str] | None = None) -> list[str]:
    """The reasons in `lang`: from `parts` when a flag has them, else the `stored` English sentences."""
    if isinstance(parts, str):
        try:
            parts = json.loads(parts)
        except (ValueError, RecursionError):  # a damaged row shows its stored sentences, never an error page
            parts = None
    if not isinstance(parts, list) or not parts:
        return list(stored or [])
    said = [sentence(p, lang) for p in parts]
    return [s for s in said if s] or list(stored or [])
