"""BLEU/chrF equal sacrebleu's command line; ROUGE-L; the shipped rewrite task; greedy generation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mothertongue.corpora import asset_path, ud_hk_pairs
from mothertongue.evaluate.generation import (
    greedy_generate,
    lcs_length,
    read_task,
    rouge_l_chars,
    text_metrics,
)
from mothertongue.models import gguf_to_hf, load_causal_lm, load_tokenizer

SACREBLEU = Path(sys.executable).parent / "sacrebleu"


def test_bleu_and_chrf_equal_the_sacrebleu_command_line(tmp_path):
    # a real system output: "copy the Cantonese" as a rewrite into Standard Written Chinese
    pairs = ud_hk_pairs()[:300]
    hyps, refs = [y for y, _ in pairs], [z for _, z in pairs]
    (tmp_path / "hyp.txt").write_text("\n".join(hyps) + "\n", encoding="utf-8")
    (tmp_path / "ref.txt").write_text("\n".join(refs) + "\n", encoding="utf-8")
    cli = subprocess.run(
        [str(SACREBLEU), str(tmp_path / "ref.txt"), "-i", str(tmp_path / "hyp.txt")]
        + ["-tok", "zh", "-m", "bleu", "chrf", "-b", "-w", "6"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    cli_bleu, cli_chrf = json.loads(cli.stdout)
    ours = text_metrics(hyps, refs, tokenize="zh")
    assert round(ours["bleu"], 6) == pytest.approx(cli_bleu, abs=1e-6)
    assert round(ours["chrf"], 6) == pytest.approx(cli_chrf, abs=1e-6)
    assert 5 < ours["bleu"] < 60 and 5 < ours["chrf"] < 60  # related but different sentences


def test_rouge_l_is_character_lcs_f1():
    assert lcs_length("ABCBDAB", "BDCABA") == 4
    assert rouge_l_chars("你在找什麼", "你在找些什麼") == pytest.approx(2 * 1.0 * (5 / 6) / (1 + 5 / 6))
    assert rouge_l_chars("a b c", "abc") == 1.0  # whitespace is ignored
    assert rouge_l_chars("", "abc") == 0.0
    perfect = text_metrics(["你在找些什麼？"], ["你在找些什麼？"])
    assert perfect["bleu"] == pytest.approx(100) and perfect["rouge_l"] == pytest.approx(100)


def test_shipped_rewrite_task_covers_both_directions_with_held_out_shots():
    items = read_task(asset_path("tasks/yue_zh_rewrite.jsonl"))
    pairs = ud_hk_pairs()
    assert len(items) == 2 * (len(pairs) - 3)
    by_dir = {d: [it for it in items if it.direction == d] for d in ("yue->zh", "zh->yue")}
    assert len(by_dir["yue->zh"]) == len(by_dir["zh->yue"]) == 1001
    first = by_dir["yue->zh"][0]
    assert first.reference == pairs[3][1] and first.prompt.endswith(f"粵語：{pairs[3][0]}\n書面語：")
    assert first.prompt.count("書面語：") == 4  # three shots + the question
    assert by_dir["zh->yue"][0].reference == pairs[3][0]
    assert len(read_task(asset_path("tasks/yue_zh_rewrite.jsonl"), limit=5)) == 10  # per direction


def test_read_task_names_file_and_line_of_a_bad_record(tmp_path):
    bad = tmp_path / "t.jsonl"
    bad.write_text('{"prompt": "a", "reference": "b"}\n{"prompt": "c"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"t\.jsonl:2"):
        read_task(bad)


def test_greedy_generation_with_stories260k_is_bounded_and_reproducible(tmp_path):
    gguf_to_hf(asset_path("models/stories260K.gguf"), tmp_path / "hf")
    model, tok = load_causal_lm(tmp_path / "hf"), load_tokenizer(tmp_path / "hf")
    prompts = ["Once upon a time, there was a", "Lily saw a big", "粵語：你好\n書面語："]
    a = greedy_generate(model, tok, prompts, max_new_tokens=6, batch_size=3)
    b = greedy_generate(model, tok, prompts, max_new_tokens=6, batch_size=3)
    assert a == b and len(a) == 3
    assert a[0]  # TinyStories continues English
    assert all(len(tok(h, add_special_tokens=False)["input_ids"]) <= 8 for h in a)
    assert all("\n" not in h for h in a)
