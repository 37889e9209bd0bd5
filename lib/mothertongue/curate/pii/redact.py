"""PII redaction: e-mail, URLs with secrets, credit cards (Luhn), HKID (check digit), IPs, phones.

Each detector is a regex for candidates plus a validator, so ordinary numbers survive: a year
(2024), a price (HK$12,800), a date (2024-03-15, 20240315) or an order number fails the
validator or never matches.  Matches are replaced by typed placeholders (`<EMAIL>`, `<PHONE>`,
...) so a model still learns that something stood there.  Order matters: URLs and e-mails go
first (they contain digits), then cards, HKIDs, IPs and phones.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from mothertongue.curate.base import TextModifier

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
URL_CREDENTIALS = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/:@]+:[^\s/@]+@\S+", re.IGNORECASE)
URL_TOKEN = re.compile(
    r"\bhttps?://\S*?[?&](?:access_token|token|api_key|apikey|key|secret|password|passwd|pwd|sig|signature|auth)=[^\s&]+\S*",
    re.IGNORECASE,
)
CARD = re.compile(r"(?<![\d.])(?:\d[ -]?){12,18}\d(?![\d.])")
HKID = re.compile(r"(?<![A-Za-z0-9])([A-Z]{1,2})(\d{6})\s?(?:\(([0-9A])\)|([0-9A]))(?![A-Za-z0-9])")
IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
IPV6 = re.compile(
    r"(?<![\w:])(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?![\w:])|(?<![\w:])(?:[0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}(?![\w:])"
)
PHONE_HK = re.compile(
    r"(?<![\w$€£¥+])(?<!\d[ -])(?:(?:\+|00)852[ -]?)?([2-9]\d{3})[ -]?(\d{4})(?![\w%])(?![ -]\d)"
)
PHONE_INTL = re.compile(
    r"(?<![\w+])(?:\+|00)(?!852)[1-9]\d{0,2}[ -]?(?:\(?\d{1,4}\)?[ -]?){2,5}\d{2,4}(?![\w])"
)
_DATE8 = re.compile(r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")
_PRICE_BEFORE = re.compile(r"(?:HK\$|US\$|\$|¥|€|£|港元|港幣|RMB|HKD|USD)\s*$", re.IGNORECASE)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def hkid_ok(letters: str, digits: str, check: str) -> bool:
    """HKID check digit: weights 9..2 over (space-padded) letters + 6 digits, sum + check = 0 mod 11."""
    values = [36] if len(letters) == 1 else []
    values += [ord(c) - ord("A") + 10 for c in letters] + [int(d) for d in digits]
    total = sum(v * w for v, w in zip(values, range(9, 1, -1), strict=True))
    expected = (11 - total % 11) % 11
    return check == ("A" if expected == 10 else str(expected))


def _sub(pattern: re.Pattern[str], tag: str, ok: Callable[[re.Match[str], str], bool] | None = None):
    def run(text: str) -> tuple[str, int]:
        n = 0

        def repl(m: re.Match[str]) -> str:
            nonlocal n
            if ok is not None and not ok(m, text):
                return m.group(0)
            n += 1
            return tag

        return pattern.sub(repl, text), n

    return run


def _card_ok(m: re.Match[str], _: str) -> bool:
    digits = re.sub(r"\D", "", m.group(0))
    return 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_ok(digits)


def _hkid_ok(m: re.Match[str], _: str) -> bool:
    return hkid_ok(m.group(1), m.group(2), m.group(3) or m.group(4))


def _ip_ok(m: re.Match[str], text: str) -> bool:
    parts = m.group(0).split(".")
    if any(int(p) > 255 or (len(p) > 1 and p[0] == "0") for p in parts):
        return False
    before = text[max(0, m.start() - 12) : m.start()].lower()
    return not re.search(r"(?:version|ver\.?|v)\s*$", before)  # version strings, not addresses


def _phone_ok(m: re.Match[str], text: str) -> bool:
    digits = m.group(1) + m.group(2)
    has_prefix = m.group(0).lstrip().startswith(("+", "00"))
    if has_prefix:
        return True
    if _DATE8.fullmatch(digits) and not re.search(r"[ -]", m.group(0)):
        return False  # 20240315 is a date, not a phone number
    if _PRICE_BEFORE.search(text[max(0, m.start() - 6) : m.start()]):
        return False
    after = text[m.end() : m.end() + 3]
    return not re.match(r"\s*(?:元|蚊|港元|年|月|日|人|個|次|%|萬|億)", after)


PII_KINDS: dict[str, Any] = {
    "url_secret": [_sub(URL_CREDENTIALS, "<URL_SECRET>"), _sub(URL_TOKEN, "<URL_SECRET>")],
    "email": [_sub(EMAIL, "<EMAIL>")],
    "credit_card": [_sub(CARD, "<CREDIT_CARD>", _card_ok)],
    "hkid": [_sub(HKID, "<HKID>", _hkid_ok)],
    "ip": [_sub(IPV4, "<IP>", _ip_ok), _sub(IPV6, "<IP>")],
    "phone": [_sub(PHONE_INTL, "<PHONE>"), _sub(PHONE_HK, "<PHONE>", _phone_ok)],
}
_ORDER = ["url_secret", "email", "credit_card", "hkid", "ip", "phone"]


def redact(text: str, kinds: list[str] | None = None) -> tuple[str, dict[str, int]]:
    """Redacted text and the number of replacements per kind."""
    wanted = set(kinds or _ORDER)
    unknown = wanted - set(PII_KINDS)
    if unknown:
        raise ValueError(f"unknown PII kinds {sorted(unknown)}; known: {_ORDER}")
    counts: dict[str, int] = {}
    for kind in _ORDER:
        if kind in wanted:
            for run in PII_KINDS[kind]:
                text, n = run(text)
                if n:
                    counts[kind] = counts.get(kind, 0) + n
    return text, counts


class PiiRedactor(TextModifier):
    """Replaces PII with typed placeholders; never drops a document."""

    def __init__(self, kinds: list[str], name: str = "pii"):
        self.kinds, self.name = list(kinds), name
        redact("", self.kinds)  # fail early on unknown kinds

    def modify(self, text: str) -> str:
        return redact(text, self.kinds)[0]
