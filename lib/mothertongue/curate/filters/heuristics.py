"""Heuristic quality filters: Curator's where they fit any script, character-based ones where not.

Curator's word-based filters split on whitespace (or jieba for zh), so a short Cantonese
sentence is "one word" to them; for CJK languages we count characters instead.  Every filter is
named in config by `kind`, with its thresholds in `params`; each drop carries the measured value
as its reason (e.g. `char_count=3`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from nemo_curator.stages.text.filters.heuristic.repetition.repetition import (
    RepeatedLinesFilter,
    RepeatingTopNGramsFilter,
)
from nemo_curator.stages.text.filters.heuristic.string import (
    NonAlphaNumericFilter,
    NumbersFilter,
    WordCountFilter,
)

from mothertongue.curate.base import CuratorFilter, DocFilter

_CJK_PUNCT = re.compile(r"[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]")


class CharLengthFilter(DocFilter):
    """Too short or too long, in non-space characters (works for unsegmented scripts)."""

    signal_names = ("char_count",)

    def __init__(self, min_chars: int = 5, max_chars: int = 100_000, name: str = "char_length"):
        self.min_chars, self.max_chars, self.name = int(min_chars), int(max_chars), name

    def judge(self, text: str) -> tuple[bool, str, dict[str, Any]]:
        n = sum(1 for c in text if not c.isspace())
        keep = self.min_chars <= n <= self.max_chars
        return keep, f"char_count={n}", {"char_count": n}


class RepeatedCharNgramFilter(DocFilter):
    """Fraction of characters covered by the most frequent character n-gram (spam, 哈哈哈哈哈...)."""

    signal_names = ("top_char_ngram_ratio",)

    def __init__(
        self, n: int = 3, max_ratio: float = 0.3, min_chars: int = 30, name: str = "repeated_char_ngrams"
    ):
        self.n, self.max_ratio, self.min_chars, self.name = int(n), float(max_ratio), int(min_chars), name

    def judge(self, text: str) -> tuple[bool, str, dict[str, Any]]:
        chars = "".join(text.split())
        if len(chars) < self.min_chars:
            return True, "", {"top_char_ngram_ratio": 0.0}
        grams = Counter(chars[i : i + self.n] for i in range(len(chars) - self.n + 1))
        _, count = grams.most_common(1)[0]
        ratio = round(count * self.n / len(chars), 4)
        return ratio <= self.max_ratio, f"top_char_ngram_ratio={ratio}", {"top_char_ngram_ratio": ratio}


class PunctuationRatioFilter(DocFilter):
    """Share of ASCII + CJK punctuation and symbols among non-space characters (debris, tables)."""

    signal_names = ("punct_ratio",)

    def __init__(self, max_ratio: float = 0.3, name: str = "punct_ratio"):
        self.max_ratio, self.name = float(max_ratio), name

    def judge(self, text: str) -> tuple[bool, str, dict[str, Any]]:
        chars = [c for c in text if not c.isspace()]
        if not chars:
            return False, "punct_ratio=1.0", {"punct_ratio": 1.0}
        punct = sum(1 for c in chars if not c.isalnum() or _CJK_PUNCT.match(c))
        ratio = round(punct / len(chars), 4)
        return ratio <= self.max_ratio, f"punct_ratio={ratio}", {"punct_ratio": ratio}


class BoilerplateLinesFilter(DocFilter):
    """Share of lines that are navigation/legal boilerplate (patterns from config) above a cutoff."""

    signal_names = ("boilerplate_line_ratio",)

    def __init__(self, patterns: list[str], max_ratio: float = 0.4, name: str = "boilerplate_lines"):
        self.max_ratio, self.name = float(max_ratio), name
        self.patterns = list(patterns)
        self._re = re.compile("|".join(re.escape(p) for p in self.patterns), re.IGNORECASE)

    def judge(self, text: str) -> tuple[bool, str, dict[str, Any]]:
        lines = [ln for ln in text.split("\n") if ln.strip()]
        if not lines or not self.patterns:
            return True, "", {"boilerplate_line_ratio": 0.0}
        ratio = round(sum(1 for ln in lines if self._re.search(ln)) / len(lines), 4)
        return ratio <= self.max_ratio, f"boilerplate_line_ratio={ratio}", {"boilerplate_line_ratio": ratio}


def _curator(make: Callable[..., Any], name: str, signal: str) -> Callable[..., CuratorFilter]:
    def build(lang: str = "en", **params: Any) -> CuratorFilter:
        try:
            doc_filter = make(lang=lang, **params)
        except TypeError:
            doc_filter = make(**params)
        return CuratorFilter(doc_filter, name, signal)

    return build


FILTERS: dict[str, Callable[..., DocFilter]] = {
    "char_length": lambda lang="", **p: CharLengthFilter(**p),
    "repeated_char_ngrams": lambda lang="", **p: RepeatedCharNgramFilter(**p),
    "punct_ratio": lambda lang="", **p: PunctuationRatioFilter(**p),
    "boilerplate_lines": lambda lang="", **p: BoilerplateLinesFilter(**p),
    # NeMo Curator's own filters (language-neutral or with a word splitter)
    "repeated_lines": _curator(RepeatedLinesFilter, "repeated_lines", "repeated_line_fraction"),
    "digit_ratio": _curator(NumbersFilter, "digit_ratio", "digit_ratio"),
    "symbol_ratio": _curator(NonAlphaNumericFilter, "symbol_ratio", "non_alnum_ratio"),
    "word_count": _curator(WordCountFilter, "word_count", "word_count"),
    "repeating_top_ngrams": _curator(RepeatingTopNGramsFilter, "repeating_top_ngrams", "top_ngram_ratio"),
}


def build_filter(kind: str, params: dict[str, Any], word_splitter: str = "en") -> DocFilter:
    if kind not in FILTERS:
        raise KeyError(f"unknown filter kind {kind!r}; known: {sorted(FILTERS)}")
    return FILTERS[kind](lang=word_splitter, **dict(params))
