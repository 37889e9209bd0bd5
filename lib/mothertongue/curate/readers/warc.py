"""Common Crawl WARC -> text: warcio for records, resiliparse for charset detection and HTML->text.

Charset order: the HTTP Content-Type header, then a <meta charset>, then resiliparse's detector
(which handles undeclared pages); gb2312 is widened to gbk/gb18030 because real pages labelled
gb2312 use characters outside it.  A payload that fails to decode or extract is quarantined with
the record's byte offset.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path

from mothertongue.curate.readers.sources import Bad, Item, Record, Skip

_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.IGNORECASE)
_WIDEN = {"gb2312": "gb18030", "gbk": "gb18030", "big5": "big5hkscs", "iso-8859-1": "windows-1252"}


def _known(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().lower()
    try:
        codecs.lookup(name)
    except LookupError:
        return None
    return _WIDEN.get(name, name)


def decode_html(payload: bytes, content_type: str | None) -> tuple[str, str]:
    """(text, encoding used)."""
    from resiliparse.parse.encoding import detect_encoding

    declared = None
    if content_type and "charset=" in content_type.lower():
        declared = _known(content_type.lower().split("charset=")[-1].split(";")[0].strip(" \"'"))
    if declared is None:
        m = _META.search(payload[:4096])
        declared = _known(m.group(1).decode("ascii", "ignore")) if m else None
    candidates = [c for c in (declared, _known(detect_encoding(payload)), "utf-8") if c]
    for enc in candidates:
        try:
            return payload.decode(enc), enc
        except UnicodeDecodeError:
            continue
    return payload.decode(candidates[0], errors="replace"), candidates[0] + "+replace"


def read_warc(path: Path) -> Iterator[Item]:
    from resiliparse.extract.html2text import extract_plain_text
    from warcio.archiveiterator import ArchiveIterator

    with open(path, "rb") as f:
        it = ArchiveIterator(f)
        try:
            for record in it:
                if record.rec_type != "response":
                    continue
                payload = record.content_stream().read()
                offset = it.get_record_offset()
                uri = record.rec_headers.get_header("WARC-Target-URI") or ""
                ctype = record.http_headers.get_header("Content-Type") if record.http_headers else None
                if ctype and "html" not in ctype.lower():
                    yield Skip(str(path), offset, f"not HTML: {ctype}", uri)
                    continue
                try:
                    html, encoding = decode_html(payload, ctype)
                    text = extract_plain_text(html, main_content=True, alt_texts=False, links=False)
                except Exception as exc:  # noqa: BLE001 - quarantine, never crash the shard
                    yield Bad(str(path), offset, f"HTML decode/extract failed: {exc}", uri)
                    continue
                yield Record(text, str(path), offset, {"url": uri, "encoding": encoding})
        except Exception as exc:  # noqa: BLE001 - truncated gzip member etc.
            yield Bad(str(path), it.get_record_offset() or 0, f"WARC read error: {exc}")
