"""Fit marker weights and the threshold for a language from TRAINING corpora, print YAML.

    python -m mothertongue.curate.langid.fit yue > weights.yaml

Cantonese: pycantonese CTCPC + HKCanCor vs 2,000 UD SWC sentences (`mothertongue.corpora`).
The UD-HK pairs are the evaluation set and are never read here.
"""

from __future__ import annotations

import random
import sys

import yaml

from mothertongue.curate.config import load_language
from mothertongue.curate.langid.markers import MarkerScorer, fit_threshold, fit_weights


def training_corpora(code: str) -> tuple[list[str], list[str]]:
    from mothertongue import corpora

    if code != "yue":
        raise SystemExit(f"no training corpora registered for {code!r}")
    target = list(corpora.cantonese_sentences("ctcpc")) + list(corpora.cantonese_sentences("hkcancor"))
    random.Random(0).shuffle(target)
    return target[:40_000], list(corpora.standard_chinese_sentences())


def fit(code: str) -> dict[str, object]:
    lang = load_language(code)
    target, contrast = training_corpora(code)
    weights = fit_weights(lang.langid.weights.keys(), target, contrast)
    scorer = MarkerScorer(weights, lang.langid.target, lang.langid.contrast)
    return {"weights": weights, "threshold": fit_threshold(scorer, contrast)}


if __name__ == "__main__":
    yaml.safe_dump(fit(sys.argv[1] if len(sys.argv) > 1 else "yue"), sys.stdout, allow_unicode=True)
