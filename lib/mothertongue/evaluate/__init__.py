"""Evaluation: did the model learn the language, and what did it forget?

intrinsic (bits per byte, perplexity), baselines (character n-grams), generation (BLEU,
chrF, ROUGE-L), probes (multiple-choice log-likelihood), models (what to evaluate), report.
"""
