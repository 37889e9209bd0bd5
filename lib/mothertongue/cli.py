"""`mothertongue`: submit, run, status, logs, cancel, plot, inspect-data. Learn these and you are done."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from rich.console import Console

from mothertongue.config import ConfigError
from mothertongue.rundir import JOBS, RunDir

console = Console()


def _run_dir(value: str) -> RunDir:
    path = Path(value)
    return RunDir(path if path.is_absolute() or path.exists() or "/" in value else Path("runs") / value)


def cmd_submit(args: argparse.Namespace) -> int:
    from mothertongue.launcher.clusters import load_profile
    from mothertongue.launcher.executor import slurm_available
    from mothertongue.launcher.submit import prepare, submit

    profile = load_profile(args.cluster)
    run = _run_dir(args.run or f"{args.job}-{Path(args.config).stem}")
    cfg = prepare(args.job, args.config, args.overrides, run, profile, strict_inputs=not args.dry_run)
    if not args.dry_run and profile.executor == "slurm" and not slurm_available():
        console.print(
            "[red]Slurm does not answer (scontrol ping failed).[/] Start the embedded cluster with "
            "`slurm/local/up.sh`, or use `--cluster local-noslurm` to run without Slurm."
        )
        return 2
    sub = submit(args.job, cfg, run, profile, dry_run=args.dry_run, skip_if_done=not args.force)
    if args.dry_run:
        console.out(sub.script or "")
        console.print(f"[dim]# dry run: nothing submitted; outputs would go to {sub.stage_dir}[/]")
        return 0
    if sub.skipped:
        console.print(
            f"[green]{args.job} is up to date[/] ({sub.stage_dir}/manifest.json matches); use --force to rerun"
        )
        return 0
    console.print(f"submitted {args.job} as Slurm job {sub.job_id}; run dir {run.root}")
    console.print(f"  follow: mothertongue logs {args.job} --run {run.root} --follow")
    if args.wait:
        result = sub.result()
        console.print(f"[green]{args.job} finished[/]: {result}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from mothertongue.pipeline import run_pipeline

    return run_pipeline(
        args.pipeline,
        args.overrides,
        cluster=args.cluster,
        detach=args.detach,
        dry_run=args.dry_run,
        run=args.run,
    )


def cmd_status(args: argparse.Namespace) -> int:
    from mothertongue.launcher.status import status_table

    runs = (
        [_run_dir(args.run)]
        if args.run
        else [RunDir(p) for p in sorted(Path("runs").glob("*")) if p.is_dir()]
    )
    if not runs:
        console.print("no runs under ./runs; pass a run directory")
        return 1
    for run in runs:
        console.print(status_table(run))
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    from mothertongue.launcher.status import follow, log_files

    run = _run_dir(args.run) if args.run else _latest_run()
    files = log_files(run, args.job)
    if not files:
        console.print(f"no logs for {args.job} in {run.logs}")
        return 1
    latest = [p for p in files if p.parent == files[-1].parent]
    if args.follow:
        try:
            follow(latest, console)
        except KeyboardInterrupt:
            return 0
    for p in latest:
        console.rule(str(p))
        console.out(p.read_text(encoding="utf-8", errors="replace")[-20000:])
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    from mothertongue.launcher.status import cancel

    ids = cancel(_run_dir(args.run), args.job)
    console.print(f"cancelled {', '.join(ids)}" if ids else "nothing running to cancel")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from mothertongue.train.plot import plot_run

    path = _run_dir(args.run)
    pretrain = path.stage("pretrain") if path.stage("pretrain").exists() else path.root
    console.print(f"wrote {plot_run(pretrain)}")
    return 0


def cmd_inspect_data(args: argparse.Namespace) -> int:
    from mothertongue.data.inspect import main as inspect_main

    return inspect_main([args.prefix, *args.rest]) or 0


def _latest_run() -> RunDir:
    runs = sorted((p for p in Path("runs").glob("*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
    if not runs:
        raise ConfigError("--run", "no runs under ./runs; pass --run DIR")
    return RunDir(runs[-1])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mothertongue", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("submit", help="submit one job to Slurm")
    p.add_argument("job", choices=JOBS)
    p.add_argument("config", help="YAML config, e.g. configs/curate/tiny.yaml")
    p.add_argument("overrides", nargs="*", help="key=value overrides")
    p.add_argument("--cluster", default="local", help="profile name in slurm/clusters/ or a path")
    p.add_argument("--run", help="run directory or name under ./runs (default: <job>-<config>)")
    p.add_argument("--dry-run", action="store_true", help="print the sbatch script, submit nothing")
    p.add_argument("--wait", action="store_true", help="wait for the result")
    p.add_argument("--force", action="store_true", help="rerun even if the manifest matches")
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("run", help="run a whole pipeline (curate -> ... -> evaluate)")
    p.add_argument("pipeline", help="pipeline YAML, e.g. configs/pipeline/demo-cantonese.yaml")
    p.add_argument("overrides", nargs="*", help="key=value overrides (stage.key=value)")
    p.add_argument("--cluster", default=None, help="cluster profile (default: the pipeline's)")
    p.add_argument("--run", help="run directory (default: runs/<pipeline name>)")
    p.add_argument("--detach", action="store_true", help="submit and return; `status` picks it up")
    p.add_argument("--dry-run", action="store_true", help="validate every stage and print sbatch scripts")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("status", help="table of a run's jobs")
    p.add_argument("run", nargs="?")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("logs", help="show a job's logs")
    p.add_argument("job", choices=JOBS)
    p.add_argument("--run")
    p.add_argument("--follow", "-f", action="store_true")
    p.set_defaults(func=cmd_logs)

    p = sub.add_parser("cancel", help="cancel a run's unfinished jobs")
    p.add_argument("run")
    p.add_argument("--job", choices=JOBS)
    p.set_defaults(func=cmd_cancel)

    p = sub.add_parser("plot", help="loss curves of a run to PNG")
    p.add_argument("run")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("inspect-data", help="summarise a Megatron .bin/.idx dataset")
    p.add_argument("prefix")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_inspect_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    # megatron-core warns on import that NVIDIA's optional CUDA extensions are absent (CPU boxes)
    warnings.filterwarnings("ignore", message="Transformer Engine and Apex are not installed")
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # key=value overrides may also come after options (`submit JOB CFG --run R a=1`)
    if extra and hasattr(args, "overrides") and all("=" in e and not e.startswith("-") for e in extra):
        args.overrides += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return args.func(args)
    except ConfigError as exc:
        console.print(f"[red]config error:[/] {exc}", soft_wrap=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
