"""The curate job end to end on real data: a few thousand documents, every output, Ray and in-process."""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest
from mothertongue.config import ConfigError, load_config
from mothertongue.curate import executors
from mothertongue.jobs.curate import Config, main, validate

ROOT = Path(__file__).parent.parent


def _config(tmp_path: Path, fixtures: Path, executor: str = "inprocess", ctcpc: int = 2500) -> Config:
    tmp_path.mkdir(parents=True, exist_ok=True)
    bad = tmp_path / "mixed.jsonl"
    bad.write_text(
        '{"text": "我哋聽日去飲茶，你嚟唔嚟呀？有咩事打 9123 4567 搵我。"}\n'
        "{not json}\n"
        '{"text": "佢琴日喺公司開會，電郵係 ka.ming@example.org，話個project要延期。"}\n'
        '{"title": "冇text"}\n'
        '{"text": "佢琴日喺公司開會，電郵係 ka.ming@example.org，話個project要延期啦。"}\n',
        encoding="utf-8",
    )
    overrides = [
        f"output_dir={tmp_path / 'out'}",
        f"executor={executor}",
    ]
    cfg = load_config(Config, ROOT / "configs" / "curate" / "tiny.yaml", overrides)
    cfg.datasets[0].sources[0].max_docs = ctcpc
    from mothertongue.curate.config import SourceConfig, SourceKind

    cfg.datasets[0].sources += [
        SourceConfig(kind=SourceKind.jsonl, paths=[str(bad)]),
        SourceConfig(kind=SourceKind.mediawiki, paths=[str(fixtures / "curate" / "zh_yue_sample.xml")]),
        SourceConfig(
            kind=SourceKind.warc,
            paths=[str(fixtures / "warc" / "cc-main-2020-34_resiliparse_warcfile.warc.gz")],
        ),
    ]
    return cfg


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def test_curate_tiny_run_reconciles_and_writes_every_output(tmp_path: Path, fixtures: Path) -> None:
    cfg = _config(tmp_path, fixtures)
    result = main(cfg)
    out = Path(cfg.output_dir)
    report = json.loads((out / "report.json").read_text())
    yue = next(d for d in report["datasets"] if d["dataset"] == "yue")
    assert result["reconciles"] and all(d["reconciles"] for d in report["datasets"])
    assert (
        yue["read"] == 2500 + 1000 + 5 + 5 + 16
    )  # ctcpc + hkcancor + jsonl lines + wiki pages + WARC records
    assert yue["read"] == yue["kept"] + yue["removed"] + yue["quarantined"]
    assert yue["quarantined"] == 2 and yue["kept"] > 2500
    md = (out / "report.md").read_text()
    assert yue["equation"] in md and "removed by `langid`" in md
    assert (out / "length_hist.png").stat().st_size > 5000 and (
        out / "language_score_hist.png"
    ).stat().st_size > 5000

    quarantine = _lines(out / "quarantine" / "yue.jsonl")
    assert sorted((q["line_or_offset"], q["reason"].split(":")[0]) for q in quarantine) == [
        (2, "malformed JSON"),
        (4, "no string field 'text'"),
    ]
    kept = [r for p in sorted((out / "datasets" / "yue").glob("part-*.jsonl")) for r in _lines(p)]
    assert len(kept) == yue["kept"]
    assert set(kept[0]) >= {"id", "text", "source", "language", "language_score", "quality", "dedup_cluster"}
    texts = {r["source"]: [] for r in kept}
    for r in kept:
        texts[r["source"]].append(r["text"])
    jsonl = texts["jsonl:mixed.jsonl"]
    assert "我哋聽日去飲茶，你嚟唔嚟呀？有咩事打 <PHONE> 搵我。" in jsonl  # PII replaced
    assert sum("<EMAIL>" in t and "project" in t for t in jsonl) == 1  # code-switching kept; near-dup removed
    fuzzy = _lines(out / "removed" / "fuzzy_dedup" / "yue.jsonl")
    assert any("ka.ming" not in r["text"] and "<EMAIL>" in r["text"] for r in fuzzy)
    wiki = texts["mediawiki:zh_yue_sample.xml"]
    assert len(wiki) == 2 and all("{{" not in t and "hoeng1" not in t for t in wiki)
    reader_removed = _lines(out / "removed" / "reader" / "yue.jsonl")
    assert sum(r["drop_reason"] == "redirect" for r in reader_removed) == 2
    # WARC: spam/other-language pages go, by langid or filters, never silently
    warc_ids = {r["id"] for r in kept if r["source"].startswith("warc:")}
    assert len(warc_ids) < 16
    assert {s["step"] for s in yue["steps"]} >= {"langid", "exact_dedup", "fuzzy_dedup", "char_length"}
    en = next(d for d in report["datasets"] if d["dataset"] == "en")
    assert en["kept"] > 400 and en["kept_language_labels"] == {"en": en["kept"]}


def test_bad_config_names_the_key(tmp_path: Path, fixtures: Path) -> None:
    cfg = _config(tmp_path, fixtures)
    cfg.datasets[0].sources[2].paths = [str(tmp_path / "missing.jsonl")]
    with pytest.raises(ConfigError, match=r"datasets\.0\.sources\.2\.paths"):
        validate(cfg)
    cfg = _config(tmp_path, fixtures)
    cfg.datasets[1].language = "klingon"
    with pytest.raises(ConfigError, match="unknown language 'klingon'"):
        validate(cfg)


def test_ray_data_executor_gives_same_result_and_leaves_no_processes(
    tmp_path: Path, fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clusters: list[executors.RayCluster] = []
    real = executors.RayCluster

    class Recording(real):  # type: ignore[misc, valid-type]
        def _record_children(self) -> None:
            super()._record_children()
            if self not in clusters:
                clusters.append(self)

    monkeypatch.setattr(executors, "RayCluster", Recording)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    ray_cfg = _config(tmp_path / "ray", fixtures, executor="ray_data", ctcpc=600)
    ray_cfg.datasets = ray_cfg.datasets[:1]
    ray_result = main(ray_cfg)
    local_cfg = _config(tmp_path / "local", fixtures, executor="inprocess", ctcpc=600)
    local_cfg.datasets = local_cfg.datasets[:1]
    local_result = main(local_cfg)
    assert ray_result["counts"] == local_result["counts"] and ray_result["reconciles"]
    assert clusters and len(clusters[0].pids) >= 2  # head + raylet/gcs at least
    alive = [
        p
        for p in clusters[0].pids
        if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
    ]
    assert alive == []
    assert not Path(clusters[0].temp_dir).exists()
