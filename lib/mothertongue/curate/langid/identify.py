"""The language ID step: `markers` (Cantonese vs SWC vs other) or `script` (letter share, e.g. English)."""

from __future__ import annotations

import re
from typing import Any

from mothertongue.curate.base import DocFilter
from mothertongue.curate.cleaners.script import SCRIPT_RANGES
from mothertongue.curate.config import LangIdConfig
from mothertongue.curate.langid.markers import MarkerScorer


class ScriptScorer:
    """Share of letters in one script: enough to tell an English replay set from debris."""

    def __init__(self, script: str, label: str, min_ratio: float):
        self._re = re.compile(f"[{SCRIPT_RANGES[script]}]")
        self.label, self.min_ratio = label, min_ratio

    def classify(self, text: str) -> tuple[str, float, float]:
        letters = [c for c in text if c.isalpha()]
        if not letters:
            return "other", 0.0, 0.0
        ratio = sum(1 for c in letters if self._re.match(c)) / len(letters)
        return (self.label if ratio >= self.min_ratio else "other"), round(ratio, 4), ratio


class LanguageIdentifier(DocFilter):
    signal_names = ("language_label", "language_score")

    def __init__(self, cfg: LangIdConfig, name: str = "langid"):
        self.name = name
        self.keep_labels = list(cfg.keep_labels)
        if cfg.kind == "markers":
            self.scorer: Any = MarkerScorer(
                dict(cfg.weights),
                cfg.target,
                cfg.contrast,
                cfg.threshold,
                cfg.threshold,
                cfg.min_script_ratio,
            )
        elif cfg.kind == "script":
            self.scorer = ScriptScorer(cfg.script, cfg.target, cfg.min_script_ratio)
        else:
            raise ValueError(f"unknown langid kind {cfg.kind!r}: markers | script")

    def judge(self, text: str) -> tuple[bool, str, dict[str, Any]]:
        label, score, _ = self.scorer.classify(text)
        score = round(float(score), 4)
        signals = {"language_label": label, "language_score": score}
        return label in self.keep_labels, f"label={label} score={score}", signals


def build_identifier(cfg: LangIdConfig) -> LanguageIdentifier | None:
    return LanguageIdentifier(cfg) if cfg.enabled else None
