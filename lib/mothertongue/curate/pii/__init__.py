"""PII redaction with typed placeholders (Curator 1.4 has no text PII stage)."""

from mothertongue.curate.pii.redact import PII_KINDS, PiiRedactor, redact

__all__ = ["PII_KINDS", "PiiRedactor", "redact"]
