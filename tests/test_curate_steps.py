"""Curation steps on real data: wiki extraction, WARC charsets, cleaner, PII, dedup, language ID."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from mothertongue.corpora import cantonese_sentences, ud_hk_pairs
from mothertongue.curate.cleaners import ScriptCleaner
from mothertongue.curate.config import DedupConfig, load_language
from mothertongue.curate.dedup import DedupSignatures, DuplicateResolver
from mothertongue.curate.langid import LanguageIdentifier
from mothertongue.curate.pii import redact
from mothertongue.curate.pii.redact import hkid_ok, luhn_ok
from mothertongue.curate.readers import Bad, Record, Skip, read_source
from nemo_curator.tasks import DocumentBatch

ORPHAN_RUN = re.compile(r"[，,；;、：:]\s*[，,；;、：:。]|[（(]\s*[）)]|[（(]\s*[，,；;、]")


def test_zh_yue_wiki_drops_markup_romanisation_and_redirects(fixtures: Path) -> None:
    items = list(read_source("mediawiki", {"path": str(fixtures / "curate" / "zh_yue_sample.xml")}))
    records = [i for i in items if isinstance(i, Record)]
    skipped = [i for i in items if isinstance(i, Skip)]
    assert [r.meta["title"] for r in records] == ["香港", "維多利亞港"]
    assert sorted(s.snippet for s in skipped) == ["HK", "Hong Kong", "模:香港地區"]
    assert Counter(s.reason for s in skipped) == {"redirect": 2, "namespace 10": 1}
    hk = records[0].text
    assert hk.startswith("香港，係中華人民共和國嘅一個特別行政區")
    for debris in (
        "Infobox",
        "coord",
        "hoeng1",
        "Hong Kong",
        "粵拼",
        "cite",
        "Category",
        "thumb",
        "wikitable",
        "3,129,648",
        "[[",
        "{{",
        "<ref",
    ):
        assert debris not in hk, debris
    assert "今日好busy" in hk  # code-switched English inside Cantonese survives
    for r in records:
        assert not ORPHAN_RUN.search(r.text), r.text


def test_enwiki_dump_skips_all_redirects(fixtures: Path) -> None:
    path = next((fixtures / "wiki").glob("*.bz2"))
    items = list(read_source("mediawiki", {"path": str(path)}))
    skipped = [i for i in items if isinstance(i, Skip)]
    records = [i for i in items if isinstance(i, Record)]
    assert sum(1 for s in skipped if s.reason == "redirect") == 100
    assert len(records) + len(skipped) == 206 and len(records) >= 100
    texts = "\n".join(r.text for r in records)
    assert "{{" not in texts and "[[Category:" not in texts and "<ref" not in texts
    assert not re.search(r"\(\s*[,;]|,\s*,|\(\s*\)", texts)
    assert "[[" not in texts and "]]" not in texts


def test_warc_charsets_are_decoded(fixtures: Path) -> None:
    items = list(
        read_source("warc", {"path": str(fixtures / "warc" / "cc-main-2020-34_resiliparse_warcfile.warc.gz")})
    )
    records = [i for i in items if isinstance(i, Record)]
    assert len(records) == 16 and not [i for i in items if isinstance(i, Bad)]
    by_enc = Counter(r.meta["encoding"] for r in records)
    assert by_enc["gb18030"] >= 2 and by_enc["windows-1251"] == 1 and by_enc["utf-8"] >= 5
    ru = next(r for r in records if r.meta["encoding"] == "windows-1251")
    assert "О компании" in ru.text  # Cyrillic, not mojibake
    gb = [r for r in records if r.meta["encoding"] == "gb18030"]
    assert all("\ufffd" not in r.text for r in gb)
    assert sum(1 for r in gb if re.search(r"[\u4e00-\u9fff]{4}", r.text)) >= len(gb) - 1
    example = list(read_source("warc", {"path": str(fixtures / "warc" / "warcio_example.warc.gz")}))
    assert any(isinstance(i, Record) and "Example Domain" in i.text for i in example)


def test_malformed_jsonl_lines_are_quarantined_with_line_numbers(tmp_path: Path) -> None:
    p = tmp_path / "in.jsonl"
    p.write_text('{"text": "一"}\n{"text": broken\n\n{"body": "no text"}\n{"text": "二"}\n', encoding="utf-8")
    items = list(read_source("jsonl", {"path": str(p)}))
    assert [(type(i).__name__, i.offset) for i in items] == [
        ("Record", 1),
        ("Bad", 2),
        ("Bad", 4),
        ("Record", 5),
    ]
    assert "malformed JSON" in items[1].reason and "no string field 'text'" in items[2].reason


def test_script_cleaner_keeps_ext_b_and_code_switching() -> None:
    lang = load_language("yue")
    cleaner = ScriptCleaner(lang.cleaner.keep_scripts, lang.cleaner.extra_chars)
    assert cleaner.modify("噉放假係relax 😀★") == "噉放假係relax"
    assert cleaner.modify("平機票要淡季先有得平𡃉喎. 𠮶個人") == "平機票要淡季先有得平𡃉喎. 𠮶個人"
    assert cleaner.modify("佢講：「OK，3點見！」☎☎") == "佢講：「OK，3點見！」"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("電郵 chan.taiman@example.com.hk 好嗎", "電郵 <EMAIL> 好嗎"),
        ("打 9123 4567 或 +852 2345-6789 或 61234567", "打 <PHONE> 或 <PHONE> 或 <PHONE>"),
        ("倫敦 +44 20 7946 0958", "倫敦 <PHONE>"),
        ("身份證 A123456(3) 同 XY987654(2)", None),
        ("卡號 4111 1111 1111 1111", "卡號 <CREDIT_CARD>"),
        ("伺服器 192.168.1.20 掛咗", "伺服器 <IP> 掛咗"),
        ("https://bob:hunter2@db.example.com/x", "<URL_SECRET>"),
        ("https://api.example.com/v1?access_token=abc123def", "<URL_SECRET>"),
    ],
)
def test_pii_is_replaced_with_typed_placeholders(text: str, expected: str | None) -> None:
    out, counts = redact(text)
    if expected is None:
        assert "<HKID>" in out and "A123456" not in out and counts["hkid"] >= 1
    else:
        assert out == expected


@pytest.mark.parametrize(
    "text",
    [
        "1997年7月1日回歸，2024-03-15出版",
        "日期 20240315 同 19971231",
        "售價 HK$12800，月租 $23456789",
        "呢間屋 38000000 蚊，人口 7500000 人",
        "HKID A123456(4) 個校驗碼唔啱",
        "卡 4111 1111 1111 1112 唔過 Luhn",
        "version 1.2.3.4 同 300.1.1.1",
        "https://example.com/?page=2",
        "1842年開埠，1,234,567人",
    ],
)
def test_ordinary_numbers_are_not_redacted(text: str) -> None:
    assert redact(text) == (text, {})


def test_hkid_and_luhn_validators() -> None:
    assert hkid_ok("A", "123456", "3") and not hkid_ok("A", "123456", "4")
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")


def test_near_duplicates_of_short_cantonese_sentences_are_removed() -> None:
    base = [s for s in cantonese_sentences("hkcancor") if 14 <= len(s) <= 30][:200]
    near = [s[:-1] + ("啦" if s[-1] != "啦" else "喎") for s in base[:50]]  # one character changed
    texts = base + near + base[:10]
    df = pd.DataFrame(
        {"id": [f"d{i}" for i in range(len(texts))], "text": texts, "dropped_by": "", "drop_reason": ""}
    )
    cfg = DedupConfig()
    batch = DedupSignatures(cfg).process(DocumentBatch(dataset_name="t", data=df))
    out = DuplicateResolver(cfg).process(batch).to_pandas()
    dropped = out[out["dropped_by"] != ""]
    assert (out.loc[200:259, "dropped_by"] != "").sum() >= 55  # near + exact copies
    assert set(dropped["dropped_by"]) == {"exact_dedup", "fuzzy_dedup"}
    assert (out.loc[250:259, "dropped_by"] == "exact_dedup").all()
    assert (out.loc[:199, "dropped_by"] == "").sum() >= 195  # originals survive
    assert (out.loc[200:249, "dedup_cluster"].values == out.loc[0:49, "id"].values).mean() > 0.9


def test_langid_beats_canto_filter_on_ud_hk_pairs() -> None:
    """UD-HK is evaluation only (weights/threshold were fitted on pycantonese + UD SWC)."""
    lid = LanguageIdentifier(load_language("yue").langid)
    pairs = ud_hk_pairs()
    yue = Counter(lid.scorer.classify(a)[0] for a, _ in pairs)
    zh = Counter(lid.scorer.classify(b)[0] for _, b in pairs)
    assert yue["yue"] > 770 and zh["zh"] > 701  # canto-filter: 770 and 701
    assert yue["zh"] + zh["yue"] < 0.01 * 2 * len(pairs)  # canto-filter: under 1% cross errors


def test_parquet_and_text_readers_locate_records(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": ["佢哋去咗飲茶。", None, "你食咗飯未呀？"]}), tmp_path / "a.parquet")
    items = list(read_source("parquet", {"path": str(tmp_path / "a.parquet")}))
    assert [(type(i).__name__, i.offset) for i in items] == [("Record", 0), ("Bad", 1), ("Record", 2)]
    (tmp_path / "b.txt").write_text("一\n二\n\n三\n四\n五\n", encoding="utf-8")
    docs = list(read_source("text", {"path": str(tmp_path / "b.txt"), "lines_per_doc": 2}))
    assert [(d.text, d.offset) for d in docs] == [("一\n二", 1), ("三\n四", 4), ("五", 6)]


def test_exclude_heldout_leaves_out_exactly_what_evaluation_scores() -> None:
    from mothertongue.corpora import cantonese_sentences, heldout_split
    from mothertongue.curate.readers.sources import read_source

    _, heldout = heldout_split(cantonese_sentences("ctcpc"), 2000)
    kept = [r.text for r in read_source("pycantonese", {"corpus": "ctcpc", "exclude_heldout": 2000})]
    assert not set(kept) & set(heldout)
    everything = [r.text for r in read_source("pycantonese", {"corpus": "ctcpc"})]
    assert len(everything) - len(kept) >= 2000 and set(heldout) <= set(everything)
