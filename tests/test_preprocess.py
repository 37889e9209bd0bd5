"""The preprocess job on real Cantonese (CTCPC) and English (KJV) text, GPT-2 tokenizer."""

from __future__ import annotations

import json
import logging
import struct
from pathlib import Path

import mothertongue.jobs.preprocess as job
import numpy as np
import pytest
from megatron.core.datasets.indexed_dataset import IndexedDataset
from mothertongue.config import ConfigError, load_config
from mothertongue.corpora import cantonese_sentences, english_lines
from mothertongue.data.blend import build_gpt_datasets, read_blend
from mothertongue.data.config import DatasetInput, PreprocessConfig
from mothertongue.data.preprocess import run_all
from mothertongue.data.split import SPLITS, assign_splits, split_bounds
from transformers import AutoTokenizer

from tests.preprocess_support import make_gpt2_tokenizer_dir, write_jsonl

N_YUE, N_EN = 2400, 600  # English documents are 5 KJV lines each


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("preprocess")
    tok_dir = make_gpt2_tokenizer_dir(root / "tokenizer")
    yue = list(cantonese_sentences()[:N_YUE])
    kjv = english_lines()
    en = [" ".join(kjv[i : i + 5]) for i in range(0, 5 * N_EN, 5)]
    # Curate-job layout: <run>/curate/datasets/<name>/*.jsonl with "id" and "text".
    for k in range(3):
        part = yue[k * 800 : (k + 1) * 800]
        write_jsonl(root / "curate/datasets/yue" / f"shard-{k}.jsonl", part, start_id=k * 800, prefix="yue")
    write_jsonl(root / "curate/datasets/en/shard-0.jsonl", en, prefix="en")
    return {"root": root, "tokenizer": tok_dir, "yue": yue, "en": en}


def make_cfg(corpus: dict, out: Path, *overrides: str, paths: dict | None = None) -> PreprocessConfig:
    cfg = load_config(
        PreprocessConfig,
        Path(__file__).parents[1] / "configs/preprocess/tiny.yaml",
        [
            f"output_dir={out}",
            f"tokenizer={corpus['tokenizer']}",
            "split.train=0.8",
            "split.valid=0.1",
            "split.test=0.1",
            *overrides,
        ],
    )
    paths = paths or {n: [str(corpus["root"] / "curate/datasets" / n)] for n in ("yue", "en")}
    cfg.datasets = [DatasetInput(name=n, paths=p) for n, p in paths.items()]
    return cfg


def read_docs(prefix: Path) -> list[list[int]]:
    ds = IndexedDataset(str(prefix))
    return [ds[i].tolist() for i in range(len(ds))]


def output_bytes(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.suffix in (".bin", ".idx")}


@pytest.fixture(scope="module")
def single(corpus: dict, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """One process, one unit per file: the reference every parallel layout must reproduce."""
    out = tmp_path_factory.mktemp("single")
    result = run_all(make_cfg(corpus, out, "workers=1", "chunk_mb=64"))
    return out, result


def test_files_decode_to_the_tokenizers_ids_with_eod(corpus: dict, single: tuple[Path, dict]) -> None:
    out, result = single
    tok = AutoTokenizer.from_pretrained(corpus["tokenizer"])
    eod = tok.eos_token_id
    bounds = split_bounds(0.8, 0.1, 0.1)
    for name, texts in (("yue", corpus["yue"]), ("en", corpus["en"])):
        which = assign_splits([f"{name}-{i}" for i in range(len(texts))], "mothertongue", bounds)
        for code, split in enumerate(SPLITS):
            expected = [tok(t).input_ids + [eod] for t, w in zip(texts, which, strict=True) if w == code]
            assert expected, f"{name} {split} should not be empty with 80/10/10"
            assert read_docs(out / f"{name}_{split}") == expected
            assert result["datasets"][name]["tokens"][split] == sum(map(len, expected))
    # Both languages really went through: Cantonese decodes to Han characters.
    decoded = "".join(tok.decode(d) for d in read_docs(out / "yue_train")[:50])
    assert sum("\u4e00" <= c <= "\u9fff" for c in decoded) > 100
    assert result["read"] == N_YUE + N_EN == sum(result["documents"].values())


def test_idx_header_bytes_and_dtype_follow_the_megatron_format(single: tuple[Path, dict]) -> None:
    out, _ = single
    raw = (out / "yue_train.idx").read_bytes()
    assert raw[:9] == b"MMIDIDX\x00\x00"
    assert struct.unpack("<Q", raw[9:17])[0] == 1
    assert raw[17] == 8  # uint16: GPT-2's 50,257 ids fit
    n_seq, n_doc = struct.unpack("<QQ", raw[18:34])
    lengths = np.frombuffer(raw, dtype="<i4", count=n_seq, offset=34)
    pointers = np.frombuffer(raw, dtype="<i8", count=n_seq, offset=34 + 4 * n_seq)
    doc_index = np.frombuffer(raw, dtype="<i8", count=n_doc, offset=34 + 12 * n_seq)
    assert len(raw) == 34 + 12 * n_seq + 8 * n_doc  # nothing after the document indices
    assert n_doc == n_seq + 1 and doc_index.tolist() == list(range(n_seq + 1))
    assert pointers.tolist() == (np.concatenate([[0], np.cumsum(lengths)[:-1]]) * 2).tolist()
    assert (out / "yue_train.bin").stat().st_size == 2 * int(lengths.sum())
    first = np.frombuffer((out / "yue_train.bin").read_bytes(), dtype="<u2", count=int(lengths[0]))
    assert first.tolist() == read_docs(out / "yue_train")[0]


def test_large_vocabulary_is_written_as_int32(corpus: dict, tmp_path: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast.from_pretrained(corpus["tokenizer"])
    tok.add_tokens([f"<extra_{i}>" for i in range(16_000)])  # 66,257 ids: no longer fits uint16
    tok.save_pretrained(tmp_path / "big")
    texts = ["<extra_15999> 我哋去飲茶", "plain English"]
    write_jsonl(tmp_path / "in/x.jsonl", texts)
    cfg = make_cfg(
        corpus,
        tmp_path / "out",
        f"tokenizer={tmp_path / 'big'}",
        "split.train=1",
        "split.valid=0",
        "split.test=0",
        paths={"x": [str(tmp_path / "in")]},
    )
    cfg.blend = {}
    run_all(cfg)
    raw = (tmp_path / "out/x_train.idx").read_bytes()
    assert raw[17] == 4  # int32
    docs = read_docs(tmp_path / "out/x_train")
    assert docs == [tok(t).input_ids + [tok.eos_token_id] for t in texts]
    assert docs[0][0] == 66_256


def test_split_is_stable_when_shards_are_reordered_and_workers_change(
    corpus: dict, single: tuple[Path, dict], tmp_path: Path
) -> None:
    """Same documents, cut into 5 differently ordered files, listed backwards, 2 workers."""
    yue = corpus["yue"]
    order = list(range(len(yue)))[::-1]
    (tmp_path / "in/yue").mkdir(parents=True)
    for k in range(5):
        idx = order[k::5]
        with open(tmp_path / f"in/yue/z{4 - k}.jsonl", "w", encoding="utf-8") as f:
            for i in idx:
                f.write(json.dumps({"id": f"yue-{i}", "text": yue[i]}, ensure_ascii=False) + "\n")
    files = sorted(str(p) for p in (tmp_path / "in/yue").iterdir())[::-1]
    en = [str(corpus["root"] / "curate/datasets/en")]
    run_all(make_cfg(corpus, tmp_path / "out", "workers=2", "chunk_mb=0.02", paths={"en": en, "yue": files}))
    ref, _ = single
    for split in SPLITS:
        a = sorted(map(tuple, read_docs(ref / f"yue_{split}")))
        b = sorted(map(tuple, read_docs(tmp_path / "out" / f"yue_{split}")))
        assert a == b, f"yue {split} changed with the shard layout"


def test_array_shards_then_merge_equal_single_process_byte_for_byte(
    corpus: dict, single: tuple[Path, dict], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ref, ref_result = single
    cfg = make_cfg(corpus, tmp_path / "out", "workers=2", "array_tasks=3", "chunk_mb=0.03")
    assert job.array_size(cfg) == 3
    shard_results = [job.main_shard(cfg, i) for i in range(3)]
    assert sum(r["read"] for r in shard_results) == N_YUE + N_EN
    with caplog.at_level(logging.INFO, logger="mothertongue.data.preprocess"):
        result = job.main(cfg)
    assert any("units already finished" in r.getMessage() for r in caplog.records)
    assert output_bytes(tmp_path / "out") == output_bytes(ref)
    assert result["documents"] == ref_result["documents"] and result["tokens"] == ref_result["tokens"]
    assert read_blend(tmp_path / "out") == {
        split: [(w, str((tmp_path / "out" / Path(p).name).resolve())) for w, p in pairs]
        for split, pairs in read_blend(ref).items()
    }
    assert not (tmp_path / "out/parts").exists()  # partial datasets are removed after the merge


def test_rerun_after_a_crash_redoes_only_unfinished_units(
    corpus: dict, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = make_cfg(corpus, tmp_path / "out", "workers=1", "array_tasks=2", "chunk_mb=0.05")
    job.main_shard(cfg, 0)  # shard 1 "crashed": never ran
    unit_manifests = sorted((tmp_path / "out/parts").glob("*/*.json"))
    assert unit_manifests
    with caplog.at_level(logging.INFO, logger="mothertongue.data.preprocess"):
        job.main(cfg)
    skipped = [r.getMessage() for r in caplog.records if "already finished" in r.getMessage()]
    assert skipped and skipped[0].startswith(f"preprocess: {len(unit_manifests)} of ")


def test_malformed_records_are_quarantined_with_file_and_line(corpus: dict, tmp_path: Path) -> None:
    good = list(corpus["yue"][:300])
    lines = [json.dumps({"id": f"q-{i}", "text": t}, ensure_ascii=False) for i, t in enumerate(good)]
    bad = {
        50: ('{"id": "no-text", "body": "冇text"}', "missing key 'text'"),
        120: ('{"id": "broken", "text": "未完', "invalid JSON"),
        200: ('{"id": "num", "text": 42}', "'text' is int, not a string"),
        250: ('["a", "list"]', "record is list, not a JSON object"),
    }
    empty_at = {10, 280}
    for line in sorted(set(bad) | empty_at):
        lines.insert(
            line - 1, bad[line][0] if line in bad else json.dumps({"id": f"e{line}", "text": "  \n "})
        )
    path = tmp_path / "in/mixed.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = make_cfg(
        corpus, tmp_path / "out", "workers=2", "chunk_mb=0.004", paths={"mixed": [str(tmp_path / "in")]}
    )
    cfg.blend = {}
    result = run_all(cfg)
    quarantined = [json.loads(x) for x in (tmp_path / "out/quarantine.jsonl").read_text().splitlines()]
    assert [(q["line"], q["file"]) for q in quarantined] == [(n, str(path)) for n in sorted(bad)]
    for q in quarantined:
        assert q["reason"].startswith(bad[q["line"]][1]) and q["dataset"] == "mixed"
    stats = result["datasets"]["mixed"]
    assert stats["read"] == len(lines) == 306
    assert (stats["quarantined"], stats["empty"], sum(stats["written"].values())) == (4, 2, 300)
    assert stats["read"] == sum(stats["written"].values()) + stats["empty"] + stats["quarantined"]


def test_refuses_to_write_an_empty_dataset(corpus: dict, tmp_path: Path) -> None:
    """Megatron's script wrote a 0-byte .bin and reported success; we fail loudly instead."""
    path = tmp_path / "in/wrong_key.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(
        "".join(json.dumps({"content": t}, ensure_ascii=False) + "\n" for t in corpus["yue"][:50])
    )
    cfg = make_cfg(corpus, tmp_path / "out", "workers=1", paths={"x": [str(tmp_path / "in")]})
    cfg.blend = {}
    with pytest.raises(
        RuntimeError, match=r"refusing to write an empty dataset: x read 50 records.*missing key 'text' x50"
    ):
        run_all(cfg)
    assert not list((tmp_path / "out").glob("*.bin")) and not (tmp_path / "out/blend.json").exists()


def test_parquet_and_plain_text_inputs(corpus: dict, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = list(corpus["yue"][:120])
    table = pa.table({"id": [f"p{i}" for i in range(120)], "text": texts[:119] + [None]})
    (tmp_path / "in").mkdir()
    pq.write_table(table, tmp_path / "in/a.parquet", row_group_size=50)
    (tmp_path / "in/b.txt").write_text("\n".join([*corpus["en"][:30], "", *corpus["en"][30:40]]) + "\n")
    cfg = make_cfg(corpus, tmp_path / "out", "workers=2", paths={"mixed": [str(tmp_path / "in")]})
    cfg.blend = {}
    result = run_all(cfg)
    stats = result["datasets"]["mixed"]
    assert (stats["read"], stats["empty"], stats["quarantined"], stats["units"]) == (161, 1, 1, 4)
    q = json.loads((tmp_path / "out/quarantine.jsonl").read_text())
    assert (q["line"], q["reason"]) == (120, "'text' is NoneType, not a string")


def test_job_output_feeds_the_blend_builder(corpus: dict, single: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = single
    blend = json.loads((out / "blend.json").read_text())
    assert blend["splits"]["train"] == [[0.7, "yue_train"], [0.3, "en_train"]]
    ds = build_gpt_datasets(
        out / "blend.json",
        seq_length=64,
        seed=3,
        num_samples={"train": 200},
        tokenizer_dir=str(corpus["tokenizer"]),
        cache_dir=str(tmp_path),
    )
    assert np.bincount(ds["train"].dataset_index).tolist() == [140, 60]


def test_inspect_data_prints_counts_dtype_sample_and_histogram(
    single: tuple[Path, dict], capsys: pytest.CaptureFixture
) -> None:
    from mothertongue.data.inspect import main

    out, result = single
    assert main([str(out / "en_train"), "--sample", "0"]) == 0
    text = capsys.readouterr().out
    assert f"{result['datasets']['en']['written']['train']:,}" in text
    assert f"{result['datasets']['en']['tokens']['train']:,}" in text
    assert "uint16" in text and "histogram" in text
    assert "In the beginning" in text or "<|endoftext|>" in text  # a decoded sample
    assert main([str(out / "nope")]) == 2


def test_validate_names_the_bad_key(corpus: dict, tmp_path: Path) -> None:
    cfg = make_cfg(corpus, tmp_path)
    cfg.blend = {"yue": 0.7, "zh": 0.3}
    with pytest.raises(ConfigError, match="'blend'"):
        job.validate(cfg)
    cfg = make_cfg(corpus, tmp_path, "split.train=0")
    with pytest.raises(ConfigError, match="split.train"):
        job.validate(cfg)
