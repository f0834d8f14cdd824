"""The rule layer: text in, an explained `Analysis` out.

It imports neither Scrapy nor the database, so it can be used and tested on
its own: `from rules import Detector; Detector().analyze(text)`.
"""

from .detector import MAX_CHARS, Analysis, ContextHit, Detector, Match
from .identifiers import Identifier, find_identifiers, is_valid_kk, is_valid_nik, mask, mask_text, mask_value
from .ruleset import Rule, RuleError, load_rules

__all__ = [
    "MAX_CHARS",
    "Analysis",
    "ContextHit",
    "Detector",
    "Identifier",
    "Match",
    "Rule",
    "RuleError",
    "find_identifiers",
    "is_valid_kk",
    "is_valid_nik",
    "load_rules",
    "mask",
    "mask_text",
    "mask_value",
]
