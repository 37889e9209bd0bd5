"""Character n-gram baselines that make bits-per-byte numbers meaningful.

A model that has learned a language must beat what counting characters achieves. Both
baselines are trained on the training side of the held-out split and scored exactly like
the LM (no end-of-document symbol; the first character is conditioned on a start symbol):

- unigram: add-k smoothed character frequencies;
- bigram: interpolated with the unigram by Witten-Bell (the weight of the bigram grows with
  how often its history was seen relative to how many different continuations it had).

Characters never seen in training are spelled out byte by byte at 8 bits per byte after
paying for the unknown symbol, so every string has a proper probability.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from mothertongue.evaluate.intrinsic import LN2, TextScore

_UNK = "\0unk"
_START = "\0start"


class CharUnigram:
    def __init__(self, texts: Iterable[str], k: float = 0.5):
        self.counts = Counter(ch for t in texts for ch in t)
        self.k = k
        self.total = sum(self.counts.values())
        self.vocab = len(self.counts) + 1  # + unknown

    def prob(self, ch: str) -> float:
        return (self.counts.get(ch, 0) + self.k) / (self.total + self.k * self.vocab)

    def nll(self, text: str, prev: str | None = None) -> float:
        return sum(self._char_nll(ch) for ch in text)

    def _char_nll(self, ch: str) -> float:
        if ch in self.counts:
            return -math.log(self.prob(ch))
        return -math.log(self.prob(_UNK)) + 8 * LN2 * len(ch.encode("utf-8"))


class CharBigram:
    def __init__(self, texts: Iterable[str], k: float = 0.5):
        texts = list(texts)
        self.unigram = CharUnigram(texts, k)
        self.pairs: dict[str, Counter[str]] = defaultdict(Counter)
        for t in texts:
            prev = _START
            for ch in t:
                self.pairs[prev][ch] += 1
                prev = ch
        self.history_totals = {h: sum(c.values()) for h, c in self.pairs.items()}

    def nll(self, text: str) -> float:
        total, prev = 0.0, _START
        for ch in text:
            known = ch in self.unigram.counts
            p_uni = self.unigram.prob(ch if known else _UNK)
            following = self.pairs.get(prev)
            if following:
                n, types = self.history_totals[prev], len(following)
                lam = n / (n + types)
                p = lam * following.get(ch, 0) / n + (1 - lam) * p_uni
            else:
                p = p_uni
            total -= math.log(p)
            if not known:
                total += 8 * LN2 * len(ch.encode("utf-8"))
            prev = ch
        return total


def score_baseline(model: CharUnigram | CharBigram, texts: Sequence[str]) -> TextScore:
    texts = [t for t in texts if t]
    return TextScore(
        nll_nats=sum(model.nll(t) for t in texts),
        tokens=sum(len(t) for t in texts),
        bytes=sum(len(t.encode("utf-8")) for t in texts),
        chars=sum(len(t) for t in texts),
        documents=len(texts),
    )
