"""`mothertongue inspect-data PREFIX`: what is inside a Megatron indexed dataset.

Reads the `.idx`/`.bin` pair through megatron-core's own `IndexedDataset` (so it sees what a
trainer would see) and prints documents, tokens, dtype, a decoded sample and a length
histogram. The tokenizer for decoding is `--tokenizer DIR`, or the one named in the
`blend.json` beside the prefix.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def _find_tokenizer(prefix: Path) -> str | None:
    blend = prefix.parent / "blend.json"
    if blend.is_file():
        return json.loads(blend.read_text()).get("tokenizer")
    return None


def _histogram(lengths: np.ndarray, bins: int = 10) -> list[tuple[int, int, int]]:
    """(low, high, count) with log-spaced edges: document lengths span orders of magnitude."""
    if lengths.size == 0:
        return []
    lo, hi = max(1, int(lengths.min())), max(1, int(lengths.max()))
    edges = np.unique(np.geomspace(lo, hi + 1, num=bins + 1).astype(np.int64))
    if edges.size < 2:
        edges = np.array([lo, hi + 1])
    counts, _ = np.histogram(lengths, bins=edges)
    return [(int(a), int(b) - 1, int(c)) for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mothertongue inspect-data", description=__doc__.splitlines()[0])
    parser.add_argument("prefix", help="dataset prefix (PATH/yue_train for yue_train.bin + .idx)")
    parser.add_argument("--tokenizer", help="Hugging Face tokenizer folder to decode with")
    parser.add_argument("--sample", type=int, default=0, help="document number to decode (default 0)")
    parser.add_argument("--max-chars", type=int, default=400)
    args = parser.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    console = Console()
    prefix = Path(args.prefix)
    if prefix.suffix in (".bin", ".idx"):
        prefix = prefix.with_suffix("")
    for ext in (".bin", ".idx"):
        if not prefix.with_name(prefix.name + ext).is_file():
            console.print(f"[red]no such file: {prefix}{ext}")
            return 2

    from megatron.core.datasets.indexed_dataset import IndexedDataset

    ds = IndexedDataset(str(prefix), multimodal=False, mmap=True)
    lengths = np.asarray(ds.sequence_lengths, dtype=np.int64)
    n_docs = len(ds.document_indices) - 1
    bin_bytes = prefix.with_name(prefix.name + ".bin").stat().st_size

    summary = Table(title=f"{prefix}", show_header=False)
    summary.add_column("", style="bold")
    summary.add_column("", justify="right")
    summary.add_row("documents", f"{n_docs:,}")
    summary.add_row("sequences", f"{len(ds):,}")
    summary.add_row("tokens", f"{int(lengths.sum()):,}")
    summary.add_row("dtype", ds.index.dtype.__name__)
    summary.add_row(".bin size", f"{bin_bytes / 1e6:,.2f} MB")
    if lengths.size:
        summary.add_row("tokens/document mean", f"{lengths.mean():.1f}")
        summary.add_row(
            "min / median / max", f"{lengths.min()} / {int(np.median(lengths))} / {lengths.max()}"
        )
    console.print(summary)

    hist = Table(title="sequence length histogram (tokens)")
    hist.add_column("tokens", justify="right")
    hist.add_column("documents", justify="right")
    hist.add_column("")
    rows = _histogram(lengths)
    peak = max((c for _, _, c in rows), default=1) or 1
    for a, b, c in rows:
        hist.add_row(f"{a}-{b}", f"{c:,}", "█" * round(30 * c / peak))
    console.print(hist)

    if len(ds):
        i = min(max(args.sample, 0), len(ds) - 1)
        ids = ds[i].tolist()
        tokenizer = args.tokenizer or _find_tokenizer(prefix)
        console.print(
            f"[bold]sample {i}[/bold] ({len(ids)} tokens): {ids[:32]}{' ...' if len(ids) > 32 else ''}"
        )
        if tokenizer and Path(tokenizer).is_dir():
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(tokenizer, trust_remote_code=False)
            text = tok.decode(ids)
            console.print(f"[bold]decoded[/bold]: {text[: args.max_chars]!r}")
        else:
            console.print("[dim]no tokenizer (pass --tokenizer DIR) to decode the sample")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
