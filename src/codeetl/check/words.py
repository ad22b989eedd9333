"""Words of descriptions, compared the way a reader compares them: case, punctuation, plurals and the
small words of English do not matter; every other word does ("with" and "without", "type 1" and "type 2",
"postradiation" and "postlaminectomy" are different descriptions).

Pure functions over strings; no warehouse.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

# Words that never tell two official descriptions apart. "with", "without", "not", "other" and
# "unspecified" are NOT here: they do.
STOPWORDS = frozenset("a an the of and or in on to for by as at is are its this that from into".split())

# Spellings that are the same word: the official files spell them one way, pages the other.
SAME_WORD = {"w": "with", "wo": "without", "w/o": "without", "w/": "with", "nos": "unspecified"}

_TOKEN_RE = re.compile(r"w/o|w/|[a-z0-9]+")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """'disorders' -> 'disorder', 'injuries' -> 'injury', 'views' -> 'view' (plurals only)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokens(text: str) -> list[str]:
    """The words of `text`, lower-cased and singular, in order (stopwords kept): 'Medical Back Problems
    w/o MCC' -> ['medical', 'back', 'problem', 'without', 'mcc']."""
    return [_stem(SAME_WORD.get(t, t)) for t in _TOKEN_RE.findall(text.lower().replace("x-ray", "xray"))]


def content_words(text: str) -> frozenset[str]:
    """The words of `text` that can tell two descriptions apart (see :data:`STOPWORDS`)."""
    return frozenset(t for t in tokens(text) if t not in STOPWORDS)


def word_counts(text: str) -> Counter:
    """The content words of `text` with how often each occurs ('with ... with coma' has 'with' twice)."""
    return Counter(t for t in tokens(text) if t not in STOPWORDS)


def same_words(a: str, b: str) -> bool:
    """True when `a` and `b` have the same content words, as often ('Medical back problems with MCC' and
    'Medical Back Problems with MCC')."""
    return word_counts(a) == word_counts(b)


def within(phrase: str, official: str) -> bool:
    """True when every content word of `phrase` is in `official`, as often (the phrase abridges the
    official text: 'lumbar radiculopathy' within 'Radiculopathy, lumbar region'; 'with hypoglycemia with
    coma' NOT within 'with hypoglycemia without coma'); false for an empty phrase."""
    p = word_counts(phrase)
    return bool(p) and not (p - word_counts(official))


def abbreviates(short: str, word: str) -> bool:
    """True when `short` could be an abbreviation of `word`: same first letter and its letters appear in
    `word` in order ('lmbr' -> 'lumbar', 'dcmprn' -> 'decompression', 'est' -> 'established')."""
    if not short or not word or short[0] != word[0] or len(short) > len(word):
        return False
    it = iter(word)
    return all(ch in it for ch in short)


def descriptor_overlap(short_descriptor: str, text: str) -> float:
    """Share (0..1) of the words of a PFS short descriptor ('Lamot dcmprn nrv rt 1 lmbr') that a page's
    wording abbreviates ('... laminotomy with nerve root decompression ... lumbar'); words of one or two
    letters and digits are left out of the count."""
    words = [w for w in tokens(short_descriptor) if len(w) >= 3 and not w.isdigit()]
    if not words:
        return 0.0
    page = set(tokens(text))
    hit = sum(1 for w in words if w in page or any(abbreviates(w, p) for p in page))
    return hit / len(words)
