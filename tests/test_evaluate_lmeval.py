"""The lm-eval export: the folder's YAML/JSONL content, and lm-eval itself loading it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import sacrebleu
import yaml
from mothertongue.config import ConfigError, load_config
from mothertongue.evaluate.config import EvaluateConfig, Task, check
from mothertongue.evaluate.generation import read_task, text_metrics
from mothertongue.evaluate.lmeval import export_lm_eval_tasks
from mothertongue.evaluate.probes import read_probes

REPO = Path(__file__).resolve().parents[1]
PROBES = "asset:probes/yue.jsonl"
REWRITE = Task(
    name="yue_zh_rewrite", path="asset:tasks/yue_zh_rewrite.jsonl", max_new_tokens=8, tokenize="zh"
)
PROBE_TASK, REWRITE_TASK, GROUP = "mothertongue_probes_yue", "mothertongue_yue_zh_rewrite", "mothertongue_yue"
# known items, read from the shipped files' first lines
KNOWN_PROBE = ("yue-meaning-001", "「吹水」即係", "傾偈，或者講大話。", 0)
KNOWN_REWRITE = ("yue->zh-3", "餘下的都沒用！")


class _Loader(yaml.SafeLoader):
    """Reads lm-eval YAMLs without lm-eval: `!function x.y` becomes ("!function", "x.y")."""


_Loader.add_constructor("!function", lambda loader, node: ("!function", loader.construct_scalar(node)))


def _yaml(path: Path) -> dict:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, list[Path]]:
    folder = tmp_path_factory.mktemp("eval") / "lm_eval_tasks"
    return folder, export_lm_eval_tasks(folder, probes=[PROBES], tasks=[REWRITE])


def test_export_structure(exported) -> None:
    folder, files = exported
    assert {f.name for f in files} == {
        f"_{GROUP}.yaml",
        f"{PROBE_TASK}.yaml",
        f"{PROBE_TASK}.jsonl",
        f"{REWRITE_TASK}.yaml",
        f"{REWRITE_TASK}.jsonl",
        "mothertongue_metrics.py",
        "README.md",
    }
    assert all(f.is_file() and f.parent == folder.resolve() for f in files)
    assert not list(folder.parent.glob(".*tmp*")), "the atomic temp folder was left behind"

    group = _yaml(folder / f"_{GROUP}.yaml")
    assert group["group"] == GROUP and group["task"] == [PROBE_TASK, REWRITE_TASK]

    # probes: multiple_choice over the job's items, options appended with no delimiter
    mc = _yaml(folder / f"{PROBE_TASK}.yaml")
    assert mc["task"] == PROBE_TASK and mc["output_type"] == "multiple_choice"
    assert mc["dataset_path"] == "json" and mc["test_split"] == "test"
    assert (mc["doc_to_text"], mc["doc_to_choice"], mc["doc_to_target"]) == ("context", "options", "answer")
    assert mc["target_delimiter"] == "" and mc["num_fewshot"] == 0
    assert [m["metric"] for m in mc["metric_list"]] == ["acc", "acc_bytes", "acc_norm"]
    data = Path(mc["dataset_kwargs"]["data_files"]["test"])
    assert data.is_absolute() and data == folder.resolve() / f"{PROBE_TASK}.jsonl"
    docs = _jsonl(data)
    shipped = read_probes(REPO / "lib/mothertongue/assets/probes/yue.jsonl")
    assert len(docs) == len(shipped) == 30
    first = docs[0]
    assert (first["id"], first["context"], first["options"][first["answer"]], first["answer"]) == KNOWN_PROBE
    assert [d["answer"] for d in docs] == [it.answer for it in shipped]
    assert all(len(d["options"]) >= 2 and d["category"] in ("meaning", "grammar") for d in docs)

    # rewrite: generate_until, greedy, first line, the task's max_new_tokens
    gen = _yaml(folder / f"{REWRITE_TASK}.yaml")
    assert gen["output_type"] == "generate_until"
    assert (gen["doc_to_text"], gen["doc_to_target"]) == ("prompt", "reference")
    assert gen["generation_kwargs"] == {"until": ["\n"], "do_sample": False, "max_new_tokens": 8}
    metrics = {m["metric"]: m["aggregation"] for m in gen["metric_list"]}
    assert metrics == {"bleu": ("!function", "mothertongue_metrics.bleu_zh"), "chrf": "chrf"}
    docs = _jsonl(Path(gen["dataset_kwargs"]["data_files"]["test"]))
    assert len(docs) == 2002
    assert {d["direction"] for d in docs} == {"yue->zh", "zh->yue"}
    assert sum(d["direction"] == "yue->zh" for d in docs) == 1001
    assert (docs[0]["id"], docs[0]["reference"]) == KNOWN_REWRITE
    assert docs[0]["prompt"].endswith("粵語：剩落呢啲都係冇用㗎喇！\n書面語：")

    # the BLEU aggregation written into the folder equals the job's (sacrebleu, tokenize=zh),
    # and differs from lm-eval's default 13a tokenization, which is why it is there
    spec = importlib.util.spec_from_file_location("mt_metrics_test", folder / "mothertongue_metrics.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    refs = [d["reference"] for d in docs[:20]]
    hyps = [r[: max(1, len(r) // 2)] + "的" for r in refs]
    items = [[r, h] for r, h in zip(refs, hyps, strict=True)]  # lm-eval's (gold, prediction) pairs
    ours = module.bleu_zh(items)
    assert ours == pytest.approx(text_metrics(hyps, refs, tokenize="zh")["bleu"])
    assert ours > 5 and ours != pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)

    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert f"--include_path {folder.resolve()} --tasks {GROUP}" in readme
    assert "pretrained=<run>/pretrain/final" in readme and "| 2002 |" in readme


def test_export_errors_and_config(tmp_path: Path) -> None:
    bad = tmp_path / "xx.jsonl"
    bad.write_text(
        '{"id": "a", "context": "", "options": ["x", "y"], "answer": 0, "source": "t"}\n{"id": "b"}\n'
    )
    with pytest.raises(ValueError, match=r"xx\.jsonl:2: missing key 'context'"):
        export_lm_eval_tasks(tmp_path / "out", probes=[bad])
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="unknown sacrebleu tokenizer 'nope'"):
        export_lm_eval_tasks(tmp_path / "out", tasks=[Task(name="t", path=REWRITE.path, tokenize="nope")])
    with pytest.raises(ValueError, match="nothing to export"):
        export_lm_eval_tasks(tmp_path / "out")

    # the evaluate config's switch: off by default, on by override; nothing to export is a config error
    tiny = REPO / "configs" / "evaluate" / "tiny.yaml"
    cfg = load_config(EvaluateConfig, tiny, [f"output_dir={tmp_path}"])
    assert cfg.lm_eval_export is False
    cfg = load_config(EvaluateConfig, tiny, [f"output_dir={tmp_path}", "lm_eval_export=true"])
    assert cfg.lm_eval_export is True
    check(cfg)
    cfg.tasks, cfg.probes = [], []
    with pytest.raises(ConfigError, match="lm_eval_export"):
        check(cfg)


def test_lm_eval_loads_exported_tasks(exported, tmp_path: Path, monkeypatch) -> None:
    import datasets
    from lm_eval.tasks import TaskManager

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf_datasets")
    folder, _ = exported
    # include_defaults=False: skip indexing lm-eval's ~10k built-in YAMLs (15 s on 2 cores);
    # the exported names do not clash with built-in ones either way
    tm = TaskManager(include_path=str(folder), include_defaults=False)
    assert {PROBE_TASK, REWRITE_TASK, GROUP} <= set(tm.all_tasks)
    assert GROUP in tm.all_groups
    loaded = tm.load([GROUP])
    assert loaded["group_map"][GROUP] == [PROBE_TASK, REWRITE_TASK]

    # probes: 30 documents, one loglikelihood request per option, target = the answer index
    mc = loaded["tasks"][PROBE_TASK]
    docs = list(mc.test_docs())
    assert len(docs) == 30
    pid, context, right, answer = KNOWN_PROBE
    doc = next(d for d in docs if d["id"] == pid)
    assert mc.doc_to_text(doc) == context and mc.doc_to_target(doc) == answer
    assert mc.doc_to_choice(doc)[answer] == right
    mc.build_all_requests()
    n_options = sum(len(mc.doc_to_choice(d)) for d in docs)
    assert len(mc.instances) == n_options == 60
    assert (context, right) in [i.arguments for i in mc.instances]  # option appended with no space
    # lm-eval scoring: the right option most likely -> acc 1; acc_bytes is per UTF-8 byte
    lls = [(-1.0 if i == answer else -9.0, False) for i in range(len(doc["options"]))]
    scored = mc.process_results(doc, lls)
    assert scored["acc"] == 1.0 and scored["acc_bytes"] == 1.0

    # rewrite: 2002 documents, generate_until with the exported prompt and stopping rule
    gen = loaded["tasks"][REWRITE_TASK]
    gdocs = list(gen.test_docs())
    assert len(gdocs) == 2002
    rid, reference = KNOWN_REWRITE
    gdoc = next(d for d in gdocs if d["id"] == rid)
    assert gen.doc_to_target(gdoc) == reference
    gen.build_all_requests(limit=10)
    assert len(gen.instances) == 10
    ctx, kwargs = gen.instances[0].arguments
    assert ctx == gdoc["prompt"] and kwargs["until"] == ["\n"] and kwargs["max_new_tokens"] == 8

    # lm-eval's metric + aggregation path gives the job's BLEU/chrF on the same hypotheses
    sample = gdocs[:20]
    refs = [d["reference"] for d in sample]
    hyps = [r[: max(1, len(r) // 2)] + "的" for r in refs]
    per_item = [gen.process_results(d, [h]) for d, h in zip(sample, hyps, strict=True)]
    agg = gen.aggregation()
    job = text_metrics(hyps, refs, tokenize="zh")
    assert agg["bleu"]([p["bleu"] for p in per_item]) == pytest.approx(job["bleu"])
    assert agg["chrf"]([p["chrf"] for p in per_item]) == pytest.approx(job["chrf"])
    assert read_task(REPO / "lib/mothertongue/assets/tasks/yue_zh_rewrite.jsonl")[0].reference == reference
