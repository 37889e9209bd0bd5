"""MediaWiki dump pages -> clean prose, without the punctuation debris other extractors leave.

Stripping an infobox, a coordinate template or a Jyutping/English gloss naively leaves things
like `香港（，；）` or `，，。`.  We drop templates, tables, refs, files, categories and
interlanguage links at the parse-tree level (mwparserfromhell), drop brackets whose content is
romanisation/foreign glosses or empty, and then collapse any run of orphaned punctuation.
"""

from __future__ import annotations

import bz2
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import mwparserfromhell

_DROP_TAGS = {
    "ref",
    "references",
    "gallery",
    "math",
    "syntaxhighlight",
    "source",
    "timeline",
    "imagemap",
    "table",
}
_DROP_LINK_PREFIX = re.compile(
    r"^\s*:?\s*(file|image|media|category|檔案|文件|图像|圖像|分類|分类|[a-z]{2,3}(-[a-z0-9]+)*)\s*:",
    re.IGNORECASE,
)
# a bracket whose content is only Latin letters, digits, tone numbers, separators and gloss labels
_GLOSS = re.compile(
    r"[（(]\s*(?:[^（）()]*?(?:粵拼|耶魯|英文|英語|英文名|拼音|葡文|Jyutping|IPA)[^（）()]*|[A-Za-z0-9\s,.;:'’\-–/、，；：]*)\s*[）)]"
)
_EMPTY_BRACKETS = re.compile(r"[（(【\[「『《]\s*[，,；;、：:。.\s]*\s*[）)】\]」』》]")
_BRACKET_LEAD = re.compile(r"([（(])\s*[，,；;、：:]+\s*")
_BRACKET_TAIL = re.compile(r"\s*[，,；;、：:]+\s*([）)])")
_PUNCT_RUN = re.compile(r"([，,；;、：:])(?:\s*[，,；;、：:])+")
_PUNCT_BEFORE_STOP = re.compile(r"[，,；;、：:]\s*([。．.！!？?])")
_LEADING_PUNCT = re.compile(r"^\s*[，,；;、：:。.）)]+\s*", re.MULTILINE)
_SPACES = re.compile(r"[ \t]+")
_BLANKS = re.compile(r"\n{3,}")
_HEADING = re.compile(r"^=+\s*(.*?)\s*=+$", re.MULTILINE)
_REDIRECT = re.compile(r"^\s*#\s*(redirect|重定向|重新導向|跳轉|跳转)", re.IGNORECASE)


_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_REF = re.compile(r"<ref[^>/]*/>|<ref[^>]*>.*?</ref\s*>", re.DOTALL | re.IGNORECASE)
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")


def strip_nested(text: str, open_: str = "{{", close: str = "}}") -> str:
    """Remove nested `{{...}}` (templates, infoboxes, coordinates) in one linear scan."""
    out, depth, i, n = [], 0, 0, len(text)
    while i < n:
        if text.startswith(open_, i):
            depth += 1
            i += len(open_)
        elif depth and text.startswith(close, i):
            depth -= 1
            i += len(close)
        else:
            if not depth:
                out.append(text[i])
            i += 1
    return "".join(out)


_FILE_LINK = re.compile(r"\[\[\s*:?\s*(?:file|image|media|檔案|文件|图像|圖像)\s*:", re.IGNORECASE)


def strip_file_links(text: str) -> str:
    """Remove `[[File:...]]` including the links nested in its caption."""
    while m := _FILE_LINK.search(text):
        depth, i = 0, m.start()
        while i < len(text):
            if text.startswith("[[", i):
                depth, i = depth + 1, i + 2
            elif text.startswith("]]", i):
                depth, i = depth - 1, i + 2
                if depth == 0:
                    break
            else:
                i += 1
        text = text[: m.start()] + text[i:]
    return text


def render_wikitext(wikitext: str) -> str:
    """Clean prose from wikitext (see module docstring for what goes)."""
    text = _REF.sub("", _COMMENT.sub("", wikitext))
    text = strip_file_links(text)
    text = strip_nested(strip_nested(text), "{|", "|}")  # templates, then tables
    code = mwparserfromhell.parse(text)
    for node in list(code.filter_tags(recursive=False)):
        if str(node.tag).lower() in _DROP_TAGS:
            _remove(code, node)
    for node in list(code.filter_wikilinks(recursive=False)):
        if _DROP_LINK_PREFIX.match(str(node.title)):
            _remove(code, node)
    text = code.strip_code(normalize=True, collapse=True, keep_template_params=False)
    text = _HTML_TAG.sub("", _REF.sub("", text))
    text = _HEADING.sub(lambda m: m.group(1), text)
    text = re.sub(r"'{2,}", "", text)
    return clean_debris(clean_debris(text))


def clean_debris(text: str) -> str:
    for _ in range(3):  # nested brackets empty out from the inside
        text = _GLOSS.sub("", text)
        text = _EMPTY_BRACKETS.sub("", text)
    text = _BRACKET_LEAD.sub(r"\1", text)
    text = _BRACKET_TAIL.sub(r"\1", text)
    text = _PUNCT_RUN.sub(r"\1", text)
    text = _PUNCT_BEFORE_STOP.sub(r"\1", text)
    text = _LEADING_PUNCT.sub("", text)
    lines = [_SPACES.sub(" ", ln).strip() for ln in text.split("\n")]
    lines = [ln for ln in lines if ln and not re.fullmatch(r"[\W_]+", ln)]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def _remove(code: mwparserfromhell.wikicode.Wikicode, node: object) -> None:
    try:
        code.remove(node)
    except ValueError:
        pass  # already gone with its parent


def iter_pages(path: Path) -> Iterator[tuple[int, str, str, bool, int]]:
    """(page index, title, wikitext, is_redirect, namespace) for every page of a dump (.xml or .bz2)."""
    opener = bz2.open if path.suffix == ".bz2" else open
    with opener(path, "rb") as f:
        index = 0
        for _, elem in ET.iterparse(f, events=("end",)):
            if elem.tag.rsplit("}", 1)[-1] != "page":
                continue
            ns_prefix = elem.tag[: -len("page")]
            title = elem.findtext(f"{ns_prefix}title") or ""
            ns = int(elem.findtext(f"{ns_prefix}ns") or 0)
            text = elem.findtext(f"{ns_prefix}revision/{ns_prefix}text") or ""
            redirect = elem.find(f"{ns_prefix}redirect") is not None or bool(_REDIRECT.match(text))
            yield index, title, text, redirect, ns
            index += 1
            elem.clear()
