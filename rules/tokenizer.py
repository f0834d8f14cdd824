"""A lean spaCy tokenizer for normalised post text.

The blank `id`/`en` tokenizers carry thousands of exceptions and long
affix rules written for edited prose; rules here match normalised text
(lower case, variants unified), so punctuation splitting is all they need,
and it is an order of magnitude faster on the crawl path. Digits and
letters are split apart (`rp150rb` -> `rp 150 rb`) so prices and volumes
tokenize the same however they are spaced.
"""

import re

import spacy
from spacy.tokenizer import Tokenizer

_PREFIX = re.compile(r"""^[\[\(\{"'“”‘’«<*#:;,.!?/\\|+=~_\-]""")
_SUFFIX = re.compile(r"""[\]\)\}"'“”‘’»>*:;,.!?/\\|+=~_\-]$""")
_INFIX = re.compile(
    r"""[,;/\\|+=()\[\]"<>*&!?]|(?<=[a-z])[.:](?=[a-z])|(?<=[a-z])-(?=[a-z])|(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)"""
)


def lean_tokenizer(vocab) -> Tokenizer:
    return Tokenizer(vocab, rules={}, prefix_search=_PREFIX.search, suffix_search=_SUFFIX.search, infix_finditer=_INFIX.finditer)


@spacy.registry.tokenizers("monitor.lean_tokenizer.v1")
def _create_lean_tokenizer():
    def create(nlp):
        return lean_tokenizer(nlp.vocab)

    return create


def blank(lang: str):
    """spaCy's blank `lang` pipeline with the lean tokenizer (the default one is never built)."""
    return spacy.blank(lang, config={"nlp": {"tokenizer": {"@tokenizers": "monitor.lean_tokenizer.v1"}}})
