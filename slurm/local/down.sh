#!/usr/bin/env bash
# Stop the local Slurm cluster started by slurm/local/up.sh: cancel running jobs,
# then stop slurmd, slurmctld, slurmdbd, mariadbd and munged by pid (only the
# daemons up.sh started). Idempotent; packages, configs and logs stay.
# The next up.sh starts from clean controller + accounting state.
set -euo pipefail

# shellcheck source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

if [[ $(id -u) -ne 0 ]]; then
  echo "slurm-local: down.sh must run as root" >&2
  exit 3
fi
if [[ ! -d $RUN_DIR ]]; then
  log "not running (no $RUN_DIR)"
  exit 0
fi

exec 9>"$STATE_DIR/lock"
flock -w 300 9 || { echo "slurm-local: $STATE_DIR/lock held for 5 minutes" >&2; exit 1; }

# Cancel jobs while the controller still answers, so no job step outlives slurmd.
if daemon_pid slurmctld >/dev/null && have_cmds squeue scancel && slurmctld_ok; then
  if [[ -n $(timeout 10 squeue -h -o %i 2>/dev/null) ]]; then
    log "cancelling jobs"
    timeout 10 squeue -h -o %i | xargs -r timeout 10 scancel || true
    # shellcheck disable=SC2016
    wait_for "jobs to end" 30 bash -c '[[ -z $(timeout 10 squeue -h -t R,CG,S -o %i) ]]' || true
  fi
fi

stop_daemon slurmd
stop_daemon slurmctld
stop_daemon slurmdbd
stop_daemon mariadbd 60
# munged: only the one up.sh started (it records the pid).
if pid=$(pid_from_file "$RUN_DIR/munged.pid") && [[ $(proc_name "$pid") == munged ]]; then
  log "stopping munged (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  wait_for "munged to exit" 10 not_alive "$pid" || kill -KILL "$pid" 2>/dev/null || true
fi
rm -f "$RUN_DIR/munged.pid"
if pgrep -x slurmstepd >/dev/null 2>&1; then
  warn "job step processes (slurmstepd) are still running: $(pgrep -x slurmstepd | tr '\n' ' ')"
fi
log "local slurm cluster stopped"
