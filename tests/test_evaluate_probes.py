"""Language probes: the shipped Cantonese set, the format checks, and a likelihood that moves."""

from __future__ import annotations

import json

import pytest
import torch
from mothertongue.corpora import asset_path
from mothertongue.evaluate.probes import read_probes, score_probes
from mothertongue.models import gguf_to_hf, load_causal_lm, load_tokenizer


def test_shipped_cantonese_probes_are_well_formed_and_cover_the_brief():
    items = read_probes(asset_path("probes/yue.jsonl"))
    assert len(items) >= 25
    assert all(it.source.strip() for it in items)
    assert {it.category for it in items} == {"meaning", "grammar"}
    contexts = "".join(it.context for it in items)
    for word in ("吹水", "威水", "大肚"):
        assert word in contexts
    options = "".join(o for it in items for o in it.options)
    for yue, zh in (
        ("嘅", "的"),
        ("喺", "在"),
        ("佢", "他"),
        ("唔", "不"),
        ("咗", "了"),
        ("冇", "沒有"),
        ("係", "是"),
    ):
        assert yue in options and zh in options


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "a", "context": "x", "options": ["y"], "answer": 0, "source": "s"}', "at least two"),
        ('{"id": "a", "context": "x", "options": ["y", "z"], "answer": 2, "source": "s"}', "'answer'"),
        ('{"id": "a", "context": "x", "options": ["y", "z"], "answer": 0}', "missing key 'source'"),
        ("{not json", "not JSON"),
    ],
)
def test_malformed_probe_lines_are_refused_with_file_and_line(tmp_path, line, message):
    path = tmp_path / "p.jsonl"
    good = '{"id": "ok", "context": "", "options": ["a", "b"], "answer": 0, "source": "s"}'
    path.write_text(good + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"p\.jsonl:2: .*{message}"):
        read_probes(path)


def test_option_made_much_more_likely_by_fine_tuning_scores_correct(tmp_path):
    """Fine-tune the real stories260K for a few steps on the correct option in its context:
    the probe flips from wrong (or marginal) to correct by a wide log-likelihood margin."""
    gguf_to_hf(asset_path("models/stories260K.gguf"), tmp_path / "hf")
    model, tok = load_causal_lm(tmp_path / "hf"), load_tokenizer(tmp_path / "hf")
    items = [it for it in read_probes(asset_path("probes/yue.jsonl")) if it.id == "yue-meaning-003"]  # 大肚
    item = items[0]
    # the answer to train toward is the option the base model does NOT prefer, so the flip is real
    _, before = score_probes(model, tok, items, max_length=512)
    lp_before = before[0]["logprobs"]
    target = 1 if lp_before[0] > lp_before[1] else 0
    item.answer = target
    text = item.context + item.options[target]
    ids = torch.tensor([[tok.bos_token_id, *tok(text, add_special_tokens=False)["input_ids"]]])
    torch.manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(30):
        loss = model(input_ids=ids, labels=ids).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    metrics, after = score_probes(model, tok, items, max_length=512)
    assert lp_before[target] < lp_before[1 - target]  # the base model preferred the other option
    assert after[0]["correct"] and after[0]["correct_norm"]
    lp = after[0]["logprobs"]
    assert lp[target] - lp[1 - target] > 10  # nats: "much more likely"
    assert metrics["acc"] == 1.0 and metrics["chance"] == 0.5


def test_probe_scores_do_not_depend_on_option_order(tmp_path):
    gguf_to_hf(asset_path("models/stories260K.gguf"), tmp_path / "hf")
    model, tok = load_causal_lm(tmp_path / "hf"), load_tokenizer(tmp_path / "hf")
    path = tmp_path / "p.jsonl"
    rows = [
        {
            "id": "a",
            "context": "Once upon a time",
            "options": [", there was", " banana the of"],
            "answer": 0,
            "source": "t",
        },
        {
            "id": "b",
            "context": "Once upon a time",
            "options": [" banana the of", ", there was"],
            "answer": 1,
            "source": "t",
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    metrics, details = score_probes(model, tok, read_probes(path), max_length=512)
    assert details[0]["logprobs"] == details[1]["logprobs"][::-1]
    assert metrics["acc"] == 1.0  # TinyStories knows its opening line
