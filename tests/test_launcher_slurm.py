"""The launcher against the real embedded Slurm cluster: no mocked sbatch or sacct."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cloudpickle
import pytest
import submitit
from mothertongue.config import Resources
from mothertongue.launcher.clusters import load_profile
from mothertongue.launcher.executor import make_executor

from tests.slurm_helpers import REPO, ensure_cluster, sacct_states, wait_for

# The callables below live in this test module, which compute nodes cannot import: ship them by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

pytestmark = pytest.mark.slurm


@pytest.fixture(scope="module", autouse=True)
def cluster() -> None:
    ensure_cluster()


def executor(tmp_path: Path, name: str, dependency: str | None = None, **resources) -> submitit.Executor:
    return make_executor(
        tmp_path / "logs" / "%j", Resources(**resources), load_profile("local"), name, dependency
    )


def square(x: int) -> int:
    return x * x


def fail_loudly() -> None:
    raise ValueError("this job fails on purpose")


def stamp(path: str, name: str) -> str:
    with open(path, "a") as f:
        f.write(f"{name} {time.time()}\n")
    return name


def stamp_then_fail(path: str) -> None:
    stamp(path, "parent")
    raise RuntimeError("parent failed")


class Counter(submitit.helpers.Checkpointable):
    """Counts to `total`, saving progress to a file after each step; a requeue resumes there."""

    def __call__(self, state_file: str, total: int, step_s: float) -> dict:
        state = Path(state_file)
        progress = json.loads(state.read_text()) if state.exists() else {"done": 0, "starts": []}
        progress["starts"].append(progress["done"])
        while progress["done"] < total:
            time.sleep(step_s)
            progress["done"] += 1
            tmp = state.with_suffix(".tmp")
            tmp.write_text(json.dumps(progress))
            os.replace(tmp, state)
        return progress


def test_job_result_comes_back(tmp_path: Path) -> None:
    job = executor(tmp_path, "square").submit(square, 7)
    assert job.result() == 49
    wait_for(lambda: sacct_states(job.job_id)[-1:] == ["COMPLETED"], 30, "accounting to record it")


def test_exception_surfaces_with_its_traceback(tmp_path: Path) -> None:
    job = executor(tmp_path, "fail").submit(fail_loudly)
    with pytest.raises(submitit.core.utils.FailedJobError) as err:
        job.result()
    assert "this job fails on purpose" in str(err.value)
    assert "fail_loudly" in str(err.value)  # the traceback names the function


def test_array_of_four_runs(tmp_path: Path) -> None:
    ex = executor(tmp_path, "array")
    jobs = ex.map_array(square, [1, 2, 3, 4])
    assert len({j.job_id.split("_")[0] for j in jobs}) == 1  # one Slurm array
    assert [j.result() for j in jobs] == [1, 4, 9, 16]


def test_dependency_chain_runs_in_order_and_a_failed_parent_stops_its_child(tmp_path: Path) -> None:
    log = str(tmp_path / "order.txt")
    parent = executor(tmp_path, "parent").submit(stamp, log, "parent")
    child = executor(tmp_path, "child", dependency=f"afterok:{parent.job_id}").submit(stamp, log, "child")
    assert child.result() == "child"
    assert [line.split()[0] for line in Path(log).read_text().splitlines()] == ["parent", "child"]

    log2 = str(tmp_path / "order2.txt")
    bad = executor(tmp_path, "bad-parent").submit(stamp_then_fail, log2)
    orphan = executor(tmp_path, "orphan", dependency=f"afterok:{bad.job_id}").submit(stamp, log2, "child")
    with pytest.raises(submitit.core.utils.FailedJobError):
        bad.result()
    wait_for(lambda: sacct_states(orphan.job_id)[-1:] == ["CANCELLED"], 60, "the child to be cancelled")
    assert Path(log2).read_text().split()[0] == "parent" and "child" not in Path(log2).read_text()


def test_usr2_requeues_and_resumes_from_saved_state(tmp_path: Path) -> None:
    state = tmp_path / "counter.json"
    job = executor(tmp_path, "counter").submit(Counter(), str(state), 12, 1.0)
    wait_for(
        lambda: state.exists() and json.loads(state.read_text())["done"] >= 3, 120, "3 steps of progress"
    )
    signalled = time.monotonic()
    subprocess.run(["scancel", "--signal=USR2", job.job_id], check=True)
    result = job.result()
    assert result["done"] == 12
    assert len(result["starts"]) == 2 and result["starts"][1] >= 3, result  # resumed, did not restart at 0
    assert "REQUEUED" in sacct_states(job.job_id)
    assert time.monotonic() - signalled < 120


def test_job_over_its_time_limit_is_requeued(tmp_path: Path) -> None:
    # time limit 1 min; the local profile signals USR2 30 s before it; 40 steps of 2 s need 2+ attempts
    state = tmp_path / "counter.json"
    job = executor(tmp_path, "timeout", time_min=1).submit(Counter(), str(state), 40, 2.0)
    result = job.result()
    assert result["done"] == 40
    assert len(result["starts"]) >= 2 and result["starts"][1] > 0, result
    assert "REQUEUED" in sacct_states(job.job_id)


def test_dry_run_prints_an_sbatch_script_that_slurm_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from mothertongue.cli import main as cli

    run = tmp_path / "run"
    assert cli(["submit", "tokenizer", "configs/tokenizer/tiny.yaml", "--run", str(run), "--dry-run"]) == 0
    script = capsys.readouterr().out.split("# dry run")[0]
    assert (
        script.startswith("#!/bin/bash")
        and "#SBATCH --requeue" in script
        and "#SBATCH --signal=USR2@30" in script
    )
    path = tmp_path / "job.sh"
    path.write_text(script)
    check = subprocess.run(["sbatch", "--test-only", str(path)], capture_output=True, text=True)
    assert check.returncode == 0 and "to start at" in check.stderr, check.stderr
    assert not run.exists()  # nothing submitted, nothing written


def test_bad_config_is_rejected_before_submission(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from mothertongue.cli import main as cli

    run = tmp_path / "run"
    base = ["submit", "pretrain", "configs/pretrain/tiny.yaml", "--run", str(run)]
    assert cli([*base, "model.path=/nowhere", "data.blend=/nowhere/blend.json"]) == 2
    assert "model.path" in capsys.readouterr().out
    blend = tmp_path / "blend.json"
    blend.write_text("{}")
    tokenizer = REPO / "tests/fixtures/tokenizer/gpt2"
    assert cli([*base, "parallel.tp=3", f"model.tokenizer={tokenizer}", f"data.blend={blend}"]) == 2
    assert "'parallel" in capsys.readouterr().out
    assert cli([*base, "optim.lr=fast"]) == 2
    assert "optim.lr" in capsys.readouterr().out
    assert not (run / "jobs.jsonl").exists()
