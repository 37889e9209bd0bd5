"""Preprocess throughput: ours vs Megatron-LM's `tools/preprocess_data.py`, side by side.

Same input (CTCPC Cantonese sentences one per document + the KJV in 5-line documents, from
`mothertongue.corpora`), same GPT-2 tokenizer (tests/fixtures/tokenizer/gpt2 saved as a
Hugging Face folder), same worker count, `--append-eod`. Each side is timed as a whole
process (imports included), median of `--repeats`. Our job runs with one dataset and
split train=1 so its `bench_train.bin/.idx` must equal Megatron's output byte for byte,
which the script checks.

    .venv/bin/python benchmarks/preprocess_bench.py --megatron-lm PATH [--workers 2] [--repeats 3]

PATH is a Megatron-LM checkout (see BENCHMARKS.md for the commit); without it only ours runs.
Megatron's script may need extra packages: pass `--megatron-pythonpath DIR` to add them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

OURS = """
import sys
from mothertongue.config import load_config
from mothertongue.data.config import DatasetInput, PreprocessConfig
import mothertongue.jobs.preprocess as job
out, tok, inp, workers = sys.argv[1:5]
cfg = load_config(PreprocessConfig, None, [f"output_dir={out}", f"tokenizer={tok}", f"workers={workers}",
                  "split.train=1", "split.valid=0", "split.test=0", "chunk_mb=2"])
cfg.datasets = [DatasetInput(name="bench", paths=[inp])]
job.validate(cfg)
job.main(cfg)
"""


def build_input(folder: Path) -> tuple[Path, int, int]:
    from mothertongue.corpora import asset_path, cantonese_sentences

    kjv = asset_path("english/kjv.txt").read_text(encoding="utf-8").splitlines()
    docs = list(cantonese_sentences("ctcpc")) + ["\n".join(kjv[i : i + 5]) for i in range(0, len(kjv), 5)]
    path = folder / "input.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for i, text in enumerate(docs):
            f.write(json.dumps({"id": f"d{i}", "text": text}, ensure_ascii=False) + "\n")
    return path, len(docs), path.stat().st_size


def build_tokenizer(folder: Path) -> Path:
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    src = REPO / "tests/fixtures/tokenizer/gpt2"
    bpe = ByteLevelBPETokenizer(str(src / "vocab.json"), str(src / "merges.txt"))
    PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|endoftext|>").save_pretrained(folder / "gpt2")
    return folder / "gpt2"


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-5000:])
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megatron-lm", type=Path, help="Megatron-LM checkout with tools/preprocess_data.py")
    parser.add_argument(
        "--megatron-pythonpath", default="", help="extra PYTHONPATH entries for Megatron's script"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    with tempfile.TemporaryDirectory(prefix="mt-prep-bench-") as tmp_name:
        tmp = Path(tmp_name)
        inp, n_docs, n_bytes = build_input(tmp)
        tok = build_tokenizer(tmp)
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        rows: dict[str, list[float]] = {"mothertongue preprocess": []}
        for r in range(args.repeats):
            out = tmp / f"ours{r}"
            cmd = [sys.executable, "-c", OURS, str(out), str(tok), str(inp), str(args.workers)]
            rows["mothertongue preprocess"].append(timed(cmd, env))
        if args.megatron_lm:
            script = args.megatron_lm / "tools/preprocess_data.py"
            meg_env = {
                **env,
                "PYTHONPATH": os.pathsep.join(
                    p for p in (str(args.megatron_lm), args.megatron_pythonpath) if p
                ),
            }
            rows["Megatron-LM tools/preprocess_data.py"] = []
            for r in range(args.repeats):
                (tmp / f"meg{r}").mkdir()
                cmd = [
                    sys.executable, str(script), "--input", str(inp), "--output-prefix", str(tmp / f"meg{r}/meg"),
                    "--tokenizer-type", "HuggingFaceTokenizer", "--tokenizer-model", str(tok),
                    "--append-eod", "--workers", str(args.workers), "--json-keys", "text",
                ]  # fmt: skip
                rows["Megatron-LM tools/preprocess_data.py"].append(timed(cmd, meg_env))
            same = all(
                (tmp / f"ours0/bench_train.{ext}").read_bytes()
                == (tmp / f"meg0/meg_text_document.{ext}").read_bytes()
                for ext in ("bin", "idx")
            )
        table = Table(
            title=f"preprocess: {n_docs:,} docs, {n_bytes / 1e6:.1f} MB JSONL, {args.workers} workers"
        )
        for col in ("tool", "wall s (median)", "runs", "docs/s", "MB/s"):
            table.add_column(col, justify="left" if col == "tool" else "right")
        medians = {}
        for name, times in rows.items():
            m = medians[name] = statistics.median(times)
            table.add_row(
                name,
                f"{m:.2f}",
                " ".join(f"{t:.1f}" for t in times),
                f"{n_docs / m:,.0f}",
                f"{n_bytes / 1e6 / m:.2f}",
            )
        console = Console()
        console.print(table)
        if args.megatron_lm:
            ratio = medians["Megatron-LM tools/preprocess_data.py"] / medians["mothertongue preprocess"]
            console.print(f"docs/s ratio ours / Megatron-LM: {ratio:.2f}x; outputs byte-identical: {same}")


if __name__ == "__main__":
    main()
