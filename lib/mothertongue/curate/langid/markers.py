"""Marker-based language scorer: weighted marker characters/words per label, no model file needed.

fastText's language ID needs a model file we cannot ship, and it does not separate Cantonese
from Standard Written Chinese anyway.  Cantonese and SWC share most characters; what tells them
apart are function words and particles (係 嘅 咗 喺 佢 哋 vs 的 是 在 他 們 了).  The candidate
markers live in the language config; their weights are log-odds learned by `fit_weights` from
training corpora only (pycantonese CTCPC + HKCanCor vs the 2,000 UD SWC sentences), and the
decision thresholds by `fit_threshold` on the SWC training data.  Evaluation sets (UD-HK)
must never be passed to either function.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


@dataclass
class MarkerScorer:
    """score(text) > 0 leans to `target`, < 0 to `contrast`; |score| beyond a threshold decides."""

    weights: dict[str, float]
    target: str = "yue"
    contrast: str = "zh"
    target_threshold: float = 1.0
    contrast_threshold: float = 1.0
    min_script_ratio: float = 0.3

    def __post_init__(self) -> None:
        # Longest markers first so the alternation prefers 唔係 over 係 at the same position.
        keys = sorted(self.weights, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(k) for k in keys)) if keys else None

    def raw_score(self, text: str) -> float:
        if self._pattern is None:
            return 0.0
        return sum(self.weights[m] for m in set(self._pattern.findall(text)))

    def classify(self, text: str) -> tuple[str, float, float]:
        """(label, confidence in [0, 1], raw score); label is target, contrast, 'neutral' or 'other'."""
        letters = [c for c in text if not c.isspace()]
        han = sum(1 for c in letters if _HAN.match(c))
        if not letters or han / len(letters) < self.min_script_ratio:
            return "other", 0.0, 0.0
        s = self.raw_score(text)
        if s >= self.target_threshold:
            label = self.target
        elif s <= -self.contrast_threshold:
            label = self.contrast
        else:
            label = "neutral"
        return label, 1.0 / (1.0 + math.exp(-s)), s


def fit_weights(
    markers: Iterable[str],
    target_texts: Sequence[str],
    contrast_texts: Sequence[str],
    smoothing: float = 1.0,
    clip: float = 4.0,
) -> dict[str, float]:
    """Log-odds of each marker occurring in a target vs a contrast sentence (class-balanced, clipped).

    Clipping keeps one rare marker from outvoting several common ones on out-of-domain text.
    """
    weights: dict[str, float] = {}
    for m in dict.fromkeys(markers):
        a = sum(1 for t in target_texts if m in t)
        b = sum(1 for t in contrast_texts if m in t)
        pa = (a + smoothing) / (len(target_texts) + 2 * smoothing)
        pb = (b + smoothing) / (len(contrast_texts) + 2 * smoothing)
        weights[m] = round(max(-clip, min(clip, math.log(pa / pb))), 3)
    return weights


def fit_threshold(
    scorer: MarkerScorer, contrast_texts: Sequence[str], max_cross_error: float = 0.001, floor: float = 2.0
) -> float:
    """One symmetric decision threshold: above the (1 - max_cross_error) quantile of clean contrast texts.

    Only the contrast corpus (clean, edited SWC) sets it: the Cantonese corpora carry a few percent of
    SWC sentences (CTCPC has formal passages), so their tail would say nothing about errors.
    """
    scores = sorted(scorer.raw_score(t) for t in contrast_texts)
    tail = scores[min(len(scores) - 1, int((1.0 - max_cross_error) * len(scores)))]
    return round(max(floor, tail + 1e-3), 3)
