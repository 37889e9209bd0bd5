"""Export the evaluate job's probes and rewrite tasks as an lm-evaluation-harness task folder.

Researchers who want lm-eval's tooling (its model backends, batching, result files, the rest
of its benchmark ecosystem) can then score the same checkpoints on the same items:

    lm_eval --model hf --model_args pretrained=<run>/pretrain/final \
        --include_path <folder> --tasks mothertongue_yue

The folder is self-contained and offline: each task's data is a JSONL copy inside it, read
with `dataset_path: json` (datasets' local JSON builder; nothing is fetched from the Hub).
The items are checked with the job's own readers first, so a malformed file fails here with
file and line, not later inside lm-eval.

How the numbers line up with the job's own (`results.json`):
- probes are `multiple_choice` with `target_delimiter: ""` (options are appended directly to
  the context, as in the job). lm-eval's `acc` is the job's `acc`; lm-eval's `acc_bytes`
  (log-likelihood per UTF-8 byte) is the job's `acc_norm`; lm-eval's `acc_norm` divides by
  characters instead and is reported too.
- rewrite tasks are `generate_until` with greedy decoding cut at the first newline and the
  task's `max_new_tokens`, scored with lm-eval's `chrf` (sacrebleu chrF, the job's chrF) and
  `bleu`. lm-eval's `bleu` aggregation uses sacrebleu's default `13a` tokenizer, which sees
  an unspaced CJK sentence as one word; so `bleu` is aggregated by a small function written
  into the folder that calls sacrebleu with the task's `tokenize` (e.g. `zh`), as the job does.
  The prompts already carry their few-shot examples: run with the default `--num_fewshot 0`.
  ROUGE-L (characters) stays a job-only metric.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from mothertongue.config import as_input_path
from mothertongue.evaluate.config import Task
from mothertongue.evaluate.generation import read_task
from mothertongue.evaluate.probes import read_probes
from mothertongue.io import atomic_dir

METRICS_MODULE = "mothertongue_metrics"

_METRICS_HEADER = '''"""BLEU aggregations with an explicit sacrebleu tokenizer (written by mothertongue's export).

lm-eval's built-in `bleu` aggregation uses sacrebleu's default 13a tokenizer, which treats an
unspaced Chinese/Cantonese sentence as a single word; these use the evaluate job's tokenizer.
"""

import sacrebleu


def _bleu(items, tokenize):
    refs = [r[0] if isinstance(r, (list, tuple)) else r for r, _ in items]
    preds = [p for _, p in items]
    return sacrebleu.corpus_bleu(preds, [refs], tokenize=tokenize).score
'''


class _Function(str):
    """A `!function module.name` reference in an lm-eval YAML."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Function, lambda d, v: d.represent_scalar("!function", str(v)))
_Dumper.add_representer(
    str, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style='"' if "\n" in v else None)
)


def _dump(config: dict) -> str:
    return yaml.dump(config, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000)


def _slug(name: str) -> str:
    """lm-eval task names: lower-case letters, digits and underscores."""
    slug = re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")
    if not slug:
        raise ValueError(f"cannot make an lm-eval task name from {name!r}")
    return slug


def _write_jsonl(path: Path, records: Sequence[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def _bleu_tokenizer(tokenize: str, key: str) -> str:
    from sacrebleu.metrics.bleu import _TOKENIZERS

    if tokenize not in _TOKENIZERS:
        raise ValueError(
            f"{key}: unknown sacrebleu tokenizer {tokenize!r}; choose one of {sorted(_TOKENIZERS)}"
        )
    return tokenize


def _write_task(tmp: Path, out: Path, name: str, records: list[dict], fields: dict[str, Any]) -> None:
    """One lm-eval task: its data as JSONL beside its YAML (read from the final folder, offline)."""
    _write_jsonl(tmp / f"{name}.jsonl", records)
    config = {
        "task": name,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(out / f"{name}.jsonl")}},
        "test_split": "test",
        **fields,
    }
    (tmp / f"{name}.yaml").write_text(_dump(config), encoding="utf-8")


def export_lm_eval_tasks(
    out_dir: str | Path,
    probes: Sequence[str | Path] = (),
    tasks: Sequence[Task] = (),
    group: str | None = None,
) -> list[Path]:
    """Write an lm-eval task folder for `probes` (JSONL paths or `asset:` paths) and `tasks`.

    One `multiple_choice` task per probe set (`mothertongue_probes_<file stem>`), one
    `generate_until` task per rewrite task (`mothertongue_<task name>`), and a group tying
    them together (default `mothertongue_<first probe stem>`, e.g. `mothertongue_yue`, since
    probe files are named by language). Returns the written files, YAMLs first.
    The folder is replaced as a whole (atomic), so a rerun never leaves stale tasks behind.
    """
    if not probes and not tasks:
        raise ValueError("nothing to export: give at least one probe set or task")
    out = Path(out_dir).resolve()
    if group is None:
        group = "mothertongue_" + (_slug(as_input_path(str(probes[0])).stem) if probes else "tasks")
    group = _slug(group)
    names: list[str] = []
    yamls: list[str] = []
    data: list[str] = []
    readme_rows: list[str] = []
    bleu_functions: dict[str, str] = {}

    with atomic_dir(out) as tmp:
        for i, spec in enumerate(probes):
            path = as_input_path(str(spec))
            items = read_probes(path)
            name = f"mothertongue_probes_{_slug(path.stem)}"
            if name in names:
                raise ValueError(
                    f"probes.{i}: task name {name} is already taken (two probe files named {path.name}?)"
                )
            names.append(name)
            records = [
                {
                    "id": it.id,
                    "context": it.context,
                    "options": it.options,
                    "answer": it.answer,
                    "category": it.category,
                }
                for it in items
            ]
            _write_task(
                tmp,
                out,
                name,
                records,
                {
                    "output_type": "multiple_choice",
                    "doc_to_text": "context",
                    "doc_to_choice": "options",
                    "doc_to_target": "answer",
                    "target_delimiter": "",
                    "num_fewshot": 0,
                    "metric_list": [
                        {"metric": m, "aggregation": "mean", "higher_is_better": True}
                        for m in ("acc", "acc_bytes", "acc_norm")
                    ],
                    "metadata": {"version": 1.0, "source": str(spec)},
                },
            )
            yamls.append(f"{name}.yaml")
            data.append(f"{name}.jsonl")
            readme_rows.append(
                f"| `{name}` | multiple_choice | {len(records)} | `{spec}` | acc, acc_bytes, acc_norm |"
            )

        for i, task in enumerate(tasks):
            path = as_input_path(task.path)
            items = read_task(path)
            name = f"mothertongue_{_slug(task.name)}"
            if name in names:
                raise ValueError(f"tasks.{i}.name: task name {name} is already taken")
            names.append(name)
            tokenize = _bleu_tokenizer(task.tokenize, f"tasks.{i}.tokenize")
            fn = f"bleu_{_slug(tokenize)}"
            bleu_functions[fn] = tokenize
            records = [
                {"id": it.id, "direction": it.direction, "prompt": it.prompt, "reference": it.reference}
                for it in items
            ]
            _write_task(
                tmp,
                out,
                name,
                records,
                {
                    "output_type": "generate_until",
                    "doc_to_text": "prompt",
                    "doc_to_target": "reference",
                    "num_fewshot": 0,
                    "generation_kwargs": {
                        "until": ["\n"],
                        "do_sample": False,
                        "max_new_tokens": task.max_new_tokens,
                    },
                    "metric_list": [
                        {
                            "metric": "bleu",
                            "aggregation": _Function(f"{METRICS_MODULE}.{fn}"),
                            "higher_is_better": True,
                        },
                        {"metric": "chrf", "aggregation": "chrf", "higher_is_better": True},
                    ],
                    "metadata": {"version": 1.0, "source": task.path, "bleu_tokenize": tokenize},
                },
            )
            yamls.append(f"{name}.yaml")
            data.append(f"{name}.jsonl")
            readme_rows.append(
                f"| `{name}` | generate_until | {len(records)} | `{task.path}` | bleu (sacrebleu, tokenize={tokenize}), chrf |"
            )

        extra: list[str] = []
        if bleu_functions:
            body = "".join(
                f"\n\ndef {fn}(items):\n    return _bleu(items, {tok!r})\n"
                for fn, tok in sorted(bleu_functions.items())
            )
            (tmp / f"{METRICS_MODULE}.py").write_text(_METRICS_HEADER + body, encoding="utf-8")
            extra.append(f"{METRICS_MODULE}.py")

        group_file = f"_{group}.yaml"
        (tmp / group_file).write_text(
            _dump({"group": group, "task": names, "metadata": {"version": 1.0}}), encoding="utf-8"
        )
        (tmp / "README.md").write_text(_readme(group, out, readme_rows), encoding="utf-8")

    return [out / f for f in [group_file, *yamls, *data, *extra, "README.md"]]


def _readme(group: str, out: Path, rows: list[str]) -> str:
    table = "\n".join(rows)
    return f"""# lm-evaluation-harness tasks exported by mothertongue's evaluate job

Run every task on a pretrain run's Hugging Face export:

```bash
pip install lm_eval   # 0.4.x
lm_eval --model hf --model_args pretrained=<run>/pretrain/final \\
    --include_path {out} --tasks {group} --output_path <run>/eval/lm_eval
```

or a single task by its name below (`--tasks mothertongue_probes_...`). Add `--device cuda`
on a GPU and `--limit N` for a quick slice. Leave `--num_fewshot` at 0: the rewrite prompts
already contain their few-shot examples.

| task | type | items | from | metrics |
|---|---|---|---|---|
{table}

How the numbers compare with the evaluate job's `results.json`:
- probes: lm-eval `acc` = the job's `acc` (summed log-likelihood of the option given the
  context); lm-eval `acc_bytes` = the job's `acc_norm` (per UTF-8 byte). lm-eval's own
  `acc_norm` divides by characters. Options are appended with no delimiter, as in the job.
- rewrite: greedy, cut at the first newline; `chrf` is sacrebleu chrF like the job's;
  `bleu` is aggregated by `{METRICS_MODULE}.py` with the job's sacrebleu tokenizer, because
  lm-eval's default `13a` tokenizer treats an unspaced CJK sentence as one word.
  ROUGE-L stays job-only. Tokenization at the prompt/continuation boundary can differ from
  the job's string-based scoring, so expect close, not bit-identical, numbers.

The data files are JSONL copies in this folder, referenced by absolute path
(`dataset_kwargs.data_files`): if you move the folder, export again (set `lm_eval_export: true`
in the evaluate config) or edit those paths. Data licences: see the source files' READMEs
in `mothertongue/assets/` (the UD-HK rewrite pairs are CC BY-SA 4.0).
"""
