"""A regex tokenizer for normalised post text, plugged into spaCy's blank pipelines.

The blank `id`/`en` tokenizers carry thousands of exceptions and long affix
rules written for edited prose, and building the Indonesian one alone takes
a second. Rules here match normalised text (lower case, variants unified),
so words, numbers and single punctuation marks are all the tokens they
need, and this is several times faster on the crawl path. Digits and
letters are split apart (`rp150rb` -> `rp 150 rb`) so prices and volumes
tokenize the same however they are spaced.
"""

import re

import spacy
from spacy.tokens import Doc

TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+|\S")


def token_offsets(text: str) -> list[tuple[int, int]]:
    """(start, end) of every token of `text`."""
    return [m.span() for m in TOKEN.finditer(text)]


class RegexTokenizer:
    def __init__(self, vocab):
        self.vocab = vocab

    def __call__(self, text: str) -> Doc:
        return Doc(self.vocab, words=TOKEN.findall(text))


@spacy.registry.tokenizers("monitor.regex_tokenizer.v1")
def _create_regex_tokenizer():
    def create(nlp):
        return RegexTokenizer(nlp.vocab)

    return create


def blank(lang: str):
    """spaCy's blank `lang` pipeline with the regex tokenizer (the default one is never built)."""
    return spacy.blank(lang, config={"nlp": {"tokenizer": {"@tokenizers": "monitor.regex_tokenizer.v1"}}})
