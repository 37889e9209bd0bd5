"""The tokenizer job end to end on curated-style JSONL shards and the shipped stories260K."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mothertongue.config import ConfigError, check_inputs_exist, load_config
from mothertongue.corpora import cantonese_sentences
from mothertongue.jobs import tokenizer as job
from transformers import AutoModelForCausalLM, AutoTokenizer

CONFIGS = Path(__file__).parents[1] / "configs" / "tokenizer"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A curate-shaped input (datasets/yue/*.jsonl, one malformed line) and one job run."""
    root = tmp_path_factory.mktemp("run")
    shards = root / "curate" / "datasets" / "yue"
    shards.mkdir(parents=True)
    texts = list(cantonese_sentences("ctcpc")[:3000])
    for i in range(2):
        lines = [json.dumps({"text": t, "id": n}, ensure_ascii=False) for n, t in enumerate(texts[i::2])]
        if i == 1:
            lines.insert(5, '{"text": broken')
            lines.insert(9, '{"id": 3}')
        (shards / f"shard-{i:05d}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = load_config(
        job.Config,
        CONFIGS / "tiny.yaml",
        [
            f"output_dir={root / 'tokenizer'}",
            f"train_files=[{shards}]",
            "builtin_corpus=null",
            "vocab_size=2048",
        ],
    )
    check_inputs_exist(cfg)
    return cfg, job.main(cfg), Path(cfg.output_dir)


def test_job_writes_the_layout_the_pipeline_relies_on(run) -> None:
    _, result, out = run
    for name in (
        "model/config.json",
        "model/model.safetensors",
        "model/tokenizer.json",
        "base/config.json",
        "base/model.safetensors",
        "base/tokenizer.json",
        "report.json",
        "report.md",
        "fertility.png",
    ):
        assert (out / name).is_file(), name
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp folders left
    assert result["outputs"]["model"] == str(out / "model")


def test_job_counts_reconcile_and_quarantine_names_file_and_line(run) -> None:
    _, result, out = run
    report = json.loads((out / "report.json").read_text())
    stats = report["text_stats"]
    assert stats["read"] == stats["used"] + stats["empty"] + stats["quarantined"] == 3002
    assert stats["quarantined"] == 2
    reasons = {(q["line"], q["reason"]) for q in report["quarantined"]}
    assert (6, "Expecting value: line 1 column 10 (char 9)") in reasons and (
        10,
        "missing field 'text'",
    ) in reasons
    assert result["counts"]["train_texts"] + result["counts"]["heldout_texts"] == 3000


def test_job_report_shows_fertility_drop_and_english_unchanged(run) -> None:
    cfg, result, out = run
    report = json.loads((out / "report.json").read_text())
    assert report["family"] == "sentencepiece"
    assert report["tokens_added"] > 1000
    assert report["fertility"]["target"]["ratio"] < 0.6
    assert report["fertility"]["english"]["ratio"] == 1.0 and report["english_ids_identical"]
    assert report["english_check"]["top1_agreement"] == 1.0
    assert (
        report["english_check"]["kl_mean"] <= cfg.english_kl_tolerance and report["english_check"]["passed"]
    )
    assert report["grow"]["total_rows"] % 64 == 0
    assert "fertility ratio" in (out / "report.md").read_text()
    assert result["metrics"]["target_fertility_ratio"] == report["fertility"]["target"]["ratio"]


def test_job_outputs_load_as_standard_hf_and_base_keeps_its_tokenizer(run) -> None:
    _, _, out = run
    model = AutoModelForCausalLM.from_pretrained(str(out / "model"), use_safetensors=True)
    tok = AutoTokenizer.from_pretrained(str(out / "model"))
    base_tok = AutoTokenizer.from_pretrained(str(out / "base"))
    assert model.get_input_embeddings().weight.shape[0] >= len(tok) > len(base_tok) == 512
    assert len(tok.encode("佢哋今日好攰", add_special_tokens=False)) < len(
        base_tok.encode("佢哋今日好攰", add_special_tokens=False)
    )
    ids = tok("Once upon a time", return_tensors="pt")
    text = tok.decode(model.generate(**ids, max_new_tokens=16, do_sample=False)[0], skip_special_tokens=True)
    assert text.startswith("Once upon a time, there was a little girl named Lily")


def test_validate_names_the_bad_key(tmp_path) -> None:
    with pytest.raises(ConfigError, match="train_files"):
        job.validate(job.Config(output_dir=str(tmp_path)))
    with pytest.raises(ConfigError, match="base_model"):
        job.validate(job.Config(output_dir=str(tmp_path), builtin_corpus="ctcpc", base_model=str(tmp_path)))
    with pytest.raises(ConfigError, match="train_files"):
        job.validate(job.Config(output_dir=str(tmp_path), train_files=[str(tmp_path / "none*.jsonl")]))
    with pytest.raises(ConfigError, match="init"):
        load_config(job.Config, CONFIGS / "tiny.yaml", ["output_dir=x", "init=bogus"])
