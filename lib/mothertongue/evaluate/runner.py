"""Run every metric on one loaded model; gather the inputs (texts, tasks, probes) once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mothertongue import corpora
from mothertongue.config import as_input_path
from mothertongue.evaluate import baselines as bl
from mothertongue.evaluate import textsets
from mothertongue.evaluate.config import EvaluateConfig, TextSet
from mothertongue.evaluate.generation import TaskItem, evaluate_task, read_task
from mothertongue.evaluate.intrinsic import model_max_length, score_texts
from mothertongue.evaluate.models import LoadedModel
from mothertongue.evaluate.probes import ProbeItem, read_probes, score_probes


@dataclass
class Inputs:
    texts: dict[str, list[str]] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    tasks: dict[str, list[TaskItem]] = field(default_factory=dict)
    probes: dict[str, list[ProbeItem]] = field(default_factory=dict)


def load_text_set(t: TextSet) -> list[str]:
    if t.kind == "builtin":
        docs = textsets.builtin_texts(t.corpus)
        docs = corpora.heldout_split(docs, t.heldout)[1] if t.heldout else list(docs)
    elif t.kind == "file":
        docs = textsets.read_text_file(t.path, t.text_key)
    else:
        from mothertongue.models import load_tokenizer

        docs = textsets.read_megatron_split(t.path, load_tokenizer(t.tokenizer), t.limit)
    docs = [d for d in docs if d]
    return docs[: t.limit] if t.limit is not None else docs


def gather_inputs(cfg: EvaluateConfig) -> Inputs:
    inputs = Inputs()
    for t in cfg.texts:
        inputs.texts[t.name] = load_text_set(t)
        inputs.roles[t.name] = t.role
        if not inputs.texts[t.name]:
            raise ValueError(f"text set {t.name!r} is empty")
    for task in cfg.tasks:
        inputs.tasks[task.name] = read_task(as_input_path(task.path), task.limit)
    for path in cfg.probes:
        inputs.probes[Path(path).stem] = read_probes(as_input_path(path))
    return inputs


def run_baselines(cfg: EvaluateConfig, inputs: Inputs) -> dict[str, dict[str, Any]]:
    """{"unigram": {text set: metrics}, "bigram": {...}} on the target-role sets (or apply_to)."""
    b = cfg.baselines
    if not b.enabled:
        return {}
    names = b.apply_to or [n for n, r in inputs.roles.items() if r == "target"]
    if not names:
        return {}
    train, _ = corpora.heldout_split(textsets.builtin_texts(b.train_corpus), b.heldout)
    models = {"unigram": bl.CharUnigram(train), "bigram": bl.CharBigram(train)}
    return {
        kind: {n: bl.score_baseline(m, inputs.texts[n]).as_dict() for n in names if n in inputs.texts}
        for kind, m in models.items()
    }


def evaluate_model(loaded: LoadedModel, cfg: EvaluateConfig, inputs: Inputs) -> dict[str, Any]:
    model, tok = loaded.model, loaded.tokenizer
    max_length = cfg.max_length or model_max_length(model)
    stride = cfg.stride or max(1, max_length // 2)
    result: dict[str, Any] = {
        "name": loaded.spec.name,
        "path": str(loaded.spec.path),
        "step": loaded.spec.step,
        "max_length": max_length,
        "stride": stride,
        "texts": {},
        "tasks": {},
        "probes": {},
        "generations": {},
    }
    for name, docs in inputs.texts.items():
        score = score_texts(
            model,
            tok,
            docs,
            max_length,
            stride,
            cfg.batch_tokens,
            cfg.progress,
            f"{loaded.spec.name}: {name}",
        )
        result["texts"][name] = {"role": inputs.roles[name], **score.as_dict()}
    for task_cfg in cfg.tasks:
        items = inputs.tasks[task_cfg.name]
        metrics, hyps = evaluate_task(
            model,
            tok,
            items,
            task_cfg.max_new_tokens,
            cfg.generation_batch_size,
            task_cfg.tokenize,
            cfg.progress,
        )
        result["tasks"][task_cfg.name] = metrics
        result["generations"][task_cfg.name] = [
            {"id": it.id, "hypothesis": h, "reference": it.reference}
            for it, h in zip(items, hyps, strict=True)
        ]
    for name, items in inputs.probes.items():
        metrics, details = score_probes(model, tok, items, max_length, cfg.batch_tokens)
        result["probes"][name] = {**metrics, "details": details}
    return result
