"""Language ID as a step: label + score per document, drop labels the dataset does not keep."""

from mothertongue.curate.langid.identify import LanguageIdentifier, build_identifier
from mothertongue.curate.langid.markers import MarkerScorer, fit_threshold, fit_weights

__all__ = ["LanguageIdentifier", "MarkerScorer", "build_identifier", "fit_threshold", "fit_weights"]
